"""A number in a halluscope.toml ``[audit]`` table: a TOML number (not text), in its range, and
an error naming the file, the line and the key otherwise."""

import pytest

from halluscope.config import load_manifest
from halluscope.errors import ConfigError
from halluscope.metrics.settings import declared_value_check


def _folder(tmp_path, body):
    (tmp_path / "a.jsonl").write_text('{"image_id": 1, "caption": "A dog."}\n')
    (tmp_path / "halluscope.toml").write_text(body)
    return tmp_path


@pytest.mark.parametrize("value", ["nan", "-1", "inf", "0", "1.5"])
def test_a_region_iou_out_of_range_names_file_line_and_key(tmp_path, value):
    folder = _folder(tmp_path, f'[audit]\ninputs = ["a.jsonl"]\noptions = {{region_iou = {value}}}\n')
    with pytest.raises(ConfigError) as info:
        load_manifest(folder, check_value=declared_value_check())
    text = str(info.value)
    assert f"{folder / 'halluscope.toml'}:3" in text and "options.region_iou" in text
    assert "(0, 1]" in text


def test_a_region_iou_in_range_is_read(tmp_path):
    folder = _folder(tmp_path, '[audit]\ninputs = ["a.jsonl"]\noptions = {region_iou = 0.3}\n')
    assert load_manifest(folder, check_value=declared_value_check())["options"]["region_iou"] == 0.3


@pytest.mark.parametrize("line", ['confidence = "0.9"', 'n_boot = "100"', 'seed = "1"',
                                  'workers = "2"', 'confidence = true'])
def test_a_number_setting_given_as_text_names_file_line_and_key(tmp_path, line):
    folder = _folder(tmp_path, f'[audit]\ninputs = ["a.jsonl"]\n\n{line}\n')
    with pytest.raises(ConfigError) as info:
        load_manifest(folder)
    text = str(info.value)
    key = line.partition(" ")[0]
    assert f"{folder / 'halluscope.toml'}:4" in text and f"{key}: expected a" in text


def test_number_settings_as_toml_numbers_are_read(tmp_path):
    folder = _folder(tmp_path, '[audit]\ninputs = ["a.jsonl"]\nconfidence = 0.9\nn_boot = 10\n'
                               'workers = 2\n')
    table = load_manifest(folder)
    assert (table["confidence"], table["n_boot"], table["workers"]) == (0.9, 10, 2)
