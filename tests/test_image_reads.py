"""An image's header (and size) is read once per file and run, not once per record."""

import os

import pytest
from PIL import Image

from halluscope import imageio
from halluscope.errors import UnreadableImage
from halluscope.records import Record
from halluscope.verification import image_size_of


@pytest.fixture
def opens(monkeypatch):
    seen = []
    real = Image.open

    def counting(fp, *a, **kw):
        seen.append(str(fp))
        return real(fp, *a, **kw)

    monkeypatch.setattr(Image, "open", counting)
    return seen


def test_records_stating_the_size_of_one_image_read_its_header_once(tmp_path, opens):
    path = tmp_path / "a.png"
    Image.new("RGB", (64, 48)).save(path)
    for i in range(5):
        rec = Record(id=f"r{i}", task="caption", image=str(path), response="x",
                     metadata={"image_size": [64, 48]})
        assert image_size_of(rec) == (64, 48)
    assert len(opens) == 1
    # the file replaced (another size): read again, and the stated size no longer agrees
    Image.new("RGB", (32, 24)).save(path)
    assert imageio.upright_size(path) == ((32, 24), None)
    assert len(opens) == 2


def test_a_size_read_from_the_file_is_decoded_once(tmp_path, opens):
    path = tmp_path / "b.png"
    Image.new("RGB", (10, 20)).save(path)
    for i in range(3):
        assert image_size_of(Record(id=f"r{i}", task="caption", image=str(path), response="x")) == (10, 20)
    assert len(opens) == 1


def test_the_header_check_reads_once_and_follows_the_pixel_limit(tmp_path, opens,
                                                                 monkeypatch):
    path = tmp_path / "c.png"
    Image.new("RGB", (100, 100)).save(path)
    imageio.check_header(path)
    imageio.check_header(path)
    assert len(opens) == 1
    monkeypatch.setenv("HALLUSCOPE_MAX_IMAGE_PIXELS", "50")
    with pytest.raises(UnreadableImage, match="over the limit"):
        imageio.check_header(path)


def test_an_unreadable_image_is_not_remembered(tmp_path):
    path = tmp_path / "d.png"
    path.write_bytes(b"not an image")
    with pytest.raises(UnreadableImage):
        imageio.image_size(path)
    Image.new("RGB", (5, 7)).save(path)
    os.utime(path)
    assert imageio.image_size(path) == (5, 7)
