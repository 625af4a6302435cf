"""Object HalBench's companion files: the ground-truth objects of each image (a JSON object image
id -> objects, or CHAIR's ``imid_to_objects`` layout as ``halluscope chair gt`` writes it, with
the parser its reference captions were read with) and the question file the answers are paired
with (:mod:`halluscope.metrics.question_align`)."""

from __future__ import annotations

import json
from pathlib import Path

from halluscope.errors import ConfigError
from halluscope.metrics.question_align import QuestionRows, rows_of
from halluscope.textfiles import is_blank, read_json_file, read_text_file, split_lines


def load_gt_objects(path: str | Path) -> dict[int, frozenset[str]]:
    """``{image id: objects}`` from a JSON object ``{"<image id>": [object, ...]}``."""
    return load_gt_file(path)[0]


def load_gt_file(path: str | Path) -> tuple[dict[int, frozenset[str]], str | None]:
    """:func:`load_gt_objects`, and the parser the file's reference captions were read with as
    ``halluscope chair gt --variant`` records it (``objhal``, ``original``, ``refined``;
    ``None`` when the file does not say or was built from instances alone)."""
    data = read_json_file(path, "a JSON object image id -> objects")
    built = None
    if isinstance(data, dict) and isinstance(data.get("imid_to_objects"), dict):
        source = data.get("source")    # CHAIR's layout (halluscope chair gt writes it)
        if isinstance(source, dict) and isinstance(source.get("variant"), str) and \
                source.get("reference_captions") != 0:
            built = source["variant"]
        data = data["imid_to_objects"]
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a JSON object image id -> objects, got "
                          f"{type(data).__name__}")
    out = {}
    for k, v in data.items():
        if not str(k).strip().isdigit() or not isinstance(v, list) or \
                not all(isinstance(o, str) for o in v):
            raise ConfigError(f"{path}: expected image ids as keys and lists of object words as "
                              f"values (or CHAIR's {{\"imid_to_objects\": ...}}), got "
                              f"{k!r:.40}: {v!r:.60}")
        out[int(k)] = frozenset(v)
    return out, built


GT_NOT_OBJHAL = ("{path} was built reading the reference captions with CHAIR's {built} parser "
                 "(halluscope chair gt --variant {built}), not as Object HalBench's scorer "
                 "reads them (WordNet lemmas, its own synonym list): some images' ground truth "
                 "differs from the original's (a lone 'bus', 'ties', 'pedestrians'), so these "
                 "numbers can differ from its; rebuild it with --variant objhal")


def load_question_file(path: str | Path) -> tuple[list[int], QuestionRows]:
    """Image ids of an Object HalBench question file in line order, and its questions (text in
    ``question``, ``text`` or ``prompt``; ``question_id`` where the rows carry one), which the
    answers are paired with (:mod:`halluscope.metrics.question_align`)."""
    ids, rows, lines = [], [], []
    # JSON lines, split at "\n" only (a U+2028 inside a question is no line end)
    for n, line in split_lines(read_text_file(path, "an Object HalBench question file")):
        if not is_blank(line):
            try:
                row = json.loads(line)
                ids.append(int(row["image_id"]))
            except (ValueError, KeyError, TypeError) as exc:
                raise ConfigError(f"{path}:{n}: expected a JSON line with image_id, got "
                                  f"{line.rstrip()[:60]!r} ({exc})") from exc
            rows.append(row)
            lines.append(n)
    return ids, rows_of(str(path), rows, ("question", "text", "prompt"), lines)


def load_question_image_ids(path: str | Path) -> list[int]:
    """Image ids of an Object HalBench question file, in line order."""
    return load_question_file(path)[0]


def pinned_question_ids(inputs: list[Path]) -> tuple[list[int] | None, str]:
    """The image ids of the question file that ``halluscope query --benchmark objhal`` asked
    the answers of ``inputs`` from, as the query run sheet beside each input names it
    (``<input>.runsheet.json``: ``benchmark.questions``, its path and sha256), and where they
    came from; ``None`` and why not when no run sheet names one, the file is gone or holds
    other bytes than it was checked to have, or the inputs name different files."""
    from halluscope.hashing import sha256_file
    from halluscope.runsheet import query_sheet_path
    found: dict[str, list[int]] = {}
    for path in inputs:
        sheet_path = query_sheet_path(path)     # beside the file a link names
        try:
            sheet = json.loads(sheet_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        bench = sheet.get("benchmark") if isinstance(sheet, dict) else None
        if not (isinstance(bench, dict) and bench.get("name") == "objhal"
                and isinstance(bench.get("questions"), dict)):
            continue
        file, digest = bench["questions"].get("path"), bench["questions"].get("sha256")
        if not isinstance(file, str) or not Path(file).is_file():
            return None, (f"the question file {sheet_path.name} names ({file}) is not there")
        if sha256_file(file) != digest:
            return None, (f"the question file {sheet_path.name} names ({file}) holds other "
                          f"bytes than the query checked it to have")
        found[file] = load_question_file(file)[0]
    if len({tuple(ids) for ids in found.values()}) > 1:
        return None, f"the inputs were asked from different question files ({', '.join(found)})"
    if not found:
        return None, ("no --questions, and no query run sheet beside the answers names the "
                      "benchmark's question file")
    file = next(iter(found))
    return found[file], file
