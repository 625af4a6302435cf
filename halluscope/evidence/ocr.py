"""OCR engines: read the text lines of an image (a scanned or rendered page).

============================  ================================================================
spec                          engine
============================  ================================================================
``rapidocr``                  RapidOCR (PP-OCR detection + recognition ONNX models that ship
                              inside the ``rapidocr`` wheel; onnxruntime). The ``ocr`` extra.
``tesseract[:<langs>]``       the ``tesseract`` command (Debian ``tesseract-ocr`` and
                              ``tesseract-ocr-eng``), run as a subprocess with TSV output;
                              ``langs`` as tesseract takes them (``eng``, ``eng+deu``)
============================  ================================================================

Both give :class:`OcrLine` values (text, pixel box, confidence in [0, 1]) in reading order,
top to bottom then left to right (rows across the whole page; a page set in columns is also
read column by column from the same lines, :mod:`halluscope.evidence.ocr_columns`). :func:`cached_read` caches them by image sha256, decoding
rules and the engine's provenance (for tesseract: its version and each language's
``.traineddata`` path and content hash, since other language data reads other text).
"""

from __future__ import annotations

import csv
import io
import logging
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np

from halluscope.errors import ConfigError, MissingExtraError
from halluscope.evidence.cache import NUMBER, EvidenceCache, image_sha256, pixels_key
from halluscope.evidence.detect import load_rgb, require

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class OcrLine:
    """One line of text read from an image."""

    text: str
    box: tuple[float, float, float, float]
    score: float

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "box": [round(float(v), 1) for v in self.box],
                "score": round(float(self.score), 4)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "OcrLine":
        box = tuple(float(v) for v in d["box"])
        if len(box) != 4 or not isinstance(d["text"], str):
            raise ValueError(f"expected an OCR line {{'text', 'box': [4 numbers], 'score'}}, "
                             f"got {d!r:.80}")
        return cls(d["text"], box, float(d["score"]))


@runtime_checkable
class OcrEngine(Protocol):
    name: str

    def read(self, image: Any) -> list[OcrLine]:
        ...

    def provenance(self) -> dict[str, Any]:
        ...


def reading_order(lines: list[OcrLine]) -> list[OcrLine]:
    """Sort lines top to bottom, then left to right within a row (rows: centres within half
    a line height)."""
    if not lines:
        return []
    lines = sorted(lines, key=lambda ln: ((ln.box[1] + ln.box[3]) / 2, ln.box[0]))
    rows: list[list[OcrLine]] = [[lines[0]]]
    for ln in lines[1:]:
        prev = rows[-1][0]
        height = max(1.0, prev.box[3] - prev.box[1])
        if abs((ln.box[1] + ln.box[3]) / 2 - (prev.box[1] + prev.box[3]) / 2) < height / 2:
            rows[-1].append(ln)
        else:
            rows.append([ln])
    return [ln for row in rows for ln in sorted(row, key=lambda x: x.box[0])]


def _at_application_level(record: logging.LogRecord) -> bool:
    """A record as important as the application's logging level asks (the root logger's)."""
    return record.levelno >= logging.getLogger().getEffectiveLevel()


def route_rapidocr_logging() -> None:
    """Send RapidOCR's log records through the application's logging set-up.

    RapidOCR's ``RapidOCR`` logger has its own console handler, sets itself to INFO when an
    engine is built and does not propagate, so its INFO lines ("Using engine_name:
    onnxruntime", model paths) printed under ``halluscope audit -q`` and in every notebook. Its
    handler is removed, its records propagate, and only those at the application's level pass
    (INFO with ``-v``; warnings always)."""
    logger = logging.getLogger("RapidOCR")
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
    logger.propagate = True
    if _at_application_level not in logger.filters:
        logger.addFilter(_at_application_level)


class RapidOcrEngine:
    """RapidOCR with the models its wheel ships (no download)."""

    name = "rapidocr"

    def __init__(self, **params: Any):
        mod = require("rapidocr", "OCR with RapidOCR", "ocr", "rapidocr")
        _ = mod.RapidOCR                   # importing its main module installs its logger
        route_rapidocr_logging()
        require("onnxruntime", "OCR with RapidOCR", "ocr", "onnxruntime")
        self._engine = mod.RapidOCR(params=params) if params else mod.RapidOCR()
        self.params = params
        self.calls = 0

    def read(self, image: Any) -> list[OcrLine]:
        rgb = load_rgb(image)
        res = self._engine(np.ascontiguousarray(rgb[..., ::-1]))    # RapidOCR expects BGR
        self.calls += 1
        if res is None or res.boxes is None or res.txts is None:
            return []
        out = []
        for poly, text, score in zip(res.boxes, res.txts, res.scores):
            poly = np.asarray(poly, dtype=float).reshape(-1, 2)
            box = (poly[:, 0].min(), poly[:, 1].min(), poly[:, 0].max(), poly[:, 1].max())
            if str(text).strip():
                out.append(OcrLine(str(text), tuple(float(v) for v in box), float(score)))
        return reading_order(out)

    def provenance(self) -> dict[str, Any]:
        from importlib import metadata
        return {"component": "ocr", "engine": "rapidocr",
                "version": metadata.version("rapidocr"), "params": self.params}


class TesseractEngine:
    """The ``tesseract`` command line (TSV output, word boxes grouped into lines)."""

    def __init__(self, langs: str = "eng", *, psm: int | None = None,
                 binary: str | None = None):
        self.binary = binary or shutil.which("tesseract")
        if not self.binary:
            raise MissingExtraError("OCR with tesseract (the 'tesseract' command; on Debian: "
                                    "apt-get install tesseract-ocr tesseract-ocr-eng)", "ocr",
                                    "rapidocr for the bundled engine instead")
        self.langs = langs
        self.psm = psm
        self.name = f"tesseract:{langs}"
        self.calls = 0
        self._provenance: dict[str, Any] | None = None

    def read(self, image: Any) -> list[OcrLine]:
        from PIL import Image

        rgb = load_rgb(image)
        with tempfile.TemporaryDirectory(prefix="halluscope-ocr-") as tmp:
            path = os.path.join(tmp, "page.png")
            Image.fromarray(rgb).save(path)
            cmd = [self.binary, path, "stdout", "-l", self.langs]
            if self.psm is not None:
                cmd += ["--psm", str(self.psm)]
            cmd.append("tsv")
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        self.calls += 1
        if proc.returncode != 0:
            raise ConfigError(f"tesseract failed ({proc.returncode}): "
                              f"{proc.stderr.strip()[:300]}")
        return reading_order(parse_tsv(proc.stdout))

    def provenance(self) -> dict[str, Any]:
        """The tesseract version, languages, page mode and the identity of each language's
        ``.traineddata`` file (path and content hash): another ``eng.traineddata`` (fast,
        best, a retrained one) reads other text from the same pixels, so the OCR cache key
        holds it. Asked of the tool once per engine."""
        if self._provenance is None:
            version = self._ask("--version")
            self._provenance = {
                "component": "ocr", "engine": "tesseract",
                "version": version.splitlines()[0].strip() if version.strip() else "?",
                "langs": self.langs, "psm": self.psm,
                "language_data": language_data(self.langs, tessdata_dir(self._ask(
                    "--list-langs")))}
        return self._provenance

    def _ask(self, flag: str) -> str:
        """What ``tesseract <flag>`` prints (both streams: versions differ in which), or ''."""
        try:
            out = subprocess.run([self.binary, flag], capture_output=True, text=True,
                                 timeout=30)
        except (OSError, subprocess.SubprocessError):
            return ""
        return (out.stdout or "") + (out.stderr or "")


def tessdata_dir(listing: str) -> str | None:
    """The folder ``tesseract --list-langs`` reads its language data from (it follows
    ``TESSDATA_PREFIX``), or ``None`` when the listing names none."""
    found = re.search(r'languages in "([^"]+)"', listing)
    return found.group(1) if found else None


def language_data(langs: str, folder: str | None) -> dict[str, Any]:
    """Each language of ``langs`` (``eng+deu``) -> its ``.traineddata`` path and content hash
    (remembered by path, size, mtime, inode and change time:
    :func:`~halluscope.evidence.cache.weights_hash`);
    ``None`` for a language whose file is not there (tesseract then fails on it)."""
    from pathlib import Path

    from halluscope.evidence.cache import weights_hash
    out: dict[str, Any] = {}
    for lang in filter(None, langs.split("+")):
        path = Path(folder) / f"{lang}.traineddata" if folder else None
        out[lang] = ({"path": str(path), "sha256": weights_hash(path)}
                     if path is not None and path.is_file() else None)
    return out


def parse_tsv(tsv: str) -> list[OcrLine]:
    """Group tesseract's TSV words (level 5) into lines by (block, paragraph, line)."""
    lines: dict[tuple[str, str, str, str], list[dict[str, str]]] = {}
    for row in csv.DictReader(io.StringIO(tsv), delimiter="\t", quoting=csv.QUOTE_NONE):
        if row.get("level") != "5" or not (row.get("text") or "").strip():
            continue
        key = (row["page_num"], row["block_num"], row["par_num"], row["line_num"])
        lines.setdefault(key, []).append(row)
    out = []
    for words in lines.values():
        x1 = min(int(w["left"]) for w in words)
        y1 = min(int(w["top"]) for w in words)
        x2 = max(int(w["left"]) + int(w["width"]) for w in words)
        y2 = max(int(w["top"]) + int(w["height"]) for w in words)
        confs = [float(w["conf"]) for w in words if float(w["conf"]) >= 0]
        text = " ".join(w["text"].strip() for w in words)
        out.append(OcrLine(text, (x1, y1, x2, y2), (sum(confs) / len(confs) / 100)
                           if confs else 0.0))
    return out


def load_ocr(spec: str = "rapidocr") -> OcrEngine:
    """Build the OCR engine a spec names (see the module docstring)."""
    name, _, rest = (spec or "rapidocr").strip().partition(":")
    name = name.lower()
    if name == "rapidocr":
        return RapidOcrEngine()
    if name == "tesseract":
        return TesseractEngine(rest or "eng")
    raise ConfigError(f"unknown OCR engine {spec!r}; expected rapidocr or tesseract[:<langs>]")


def cached_read(engine: OcrEngine, image: Any, cache: EvidenceCache | None = None,
                *, sha: str | None = None) -> list[OcrLine]:
    """``engine.read(image)``, cached by image sha256, the decoding rules
    (:func:`~halluscope.evidence.cache.pixels_key`) and the engine's provenance."""
    if cache is None or not cache.enabled:
        return engine.read(image)
    key = pixels_key("ocr", sha or image_sha256(image), engine.provenance())
    hit = cache.get("ocr", key, lambda v: [OcrLine.from_dict(d) for d in v],
                    shape=[{"text": str, "box": (NUMBER,) * 4, "score": NUMBER}])
    if hit is not None:
        return hit
    lines = engine.read(image)
    cache.put("ocr", key, [ln.to_dict() for ln in lines])
    return lines


def lines_text(lines: list[OcrLine]) -> str:
    """The text of OCR lines, one per line."""
    return "\n".join(ln.text for ln in lines)
