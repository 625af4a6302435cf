"""The one place where halluscope opens an image file: every failure is an :class:`UnreadableImage`.

Images come from the user's records and are as hostile as any other input: a path that does
not exist, a directory, a symlink to ``/etc/passwd``, a truncated JPEG, a 20000 x 20000 PNG that
would take gigabytes to decode. :func:`open_image` turns each of these into
:class:`~halluscope.errors.UnreadableImage` (a :class:`~halluscope.errors.RecordError`) with the
reason, so that the metric that needed the image lists the record as bad and the audit goes on.

The pixel limit (width x height) defaults to :data:`DEFAULT_MAX_PIXELS` (Pillow's own warning
threshold, about 89.5 Mpx) and is read from the ``HALLUSCOPE_MAX_IMAGE_PIXELS`` environment
variable or set with :func:`set_max_image_pixels` (the audit's ``max_image_pixels`` option).
The size is checked from the header, before any pixel is decoded.
"""

from __future__ import annotations

import os
import re
import warnings
from pathlib import Path
from typing import Any

from halluscope.errors import ConfigError, UnreadableImage

DEFAULT_MAX_PIXELS = 89_478_485
"""Default limit on width x height (Pillow's ``Image.MAX_IMAGE_PIXELS``)."""

DECODING_RULES = 3
"""Version of the rules by which :func:`open_image` turns a file into pixels. Everything
computed from decoded pixels (detections, segmenter masks and colours, OCR text) is cached
under it (:func:`halluscope.evidence.cache.pixels_key`), so that a change of the rules makes
the entries computed under the old ones miss instead of being served for the same file bytes.
Bump it with every change to what a file decodes to. 1 (no version in the keys): Pillow's own
conversion, read as stored; 2: 16-bit greyscale scaled to 8 bits (Pillow clipped it to a white
picture) and the EXIF orientation applied (the picture was read on its side); 3: 32-bit float
greyscale (mode ``F``) with values in [0, 1] scaled to 8 bits (Pillow truncated it to a black
picture), other ranges than [0, 1] and [0, 255] refused."""

_ENV = "HALLUSCOPE_MAX_IMAGE_PIXELS"
_limit: int | None = None


def set_max_image_pixels(limit: int | None) -> None:
    """Set the pixel limit for this process (``None``: back to the environment or default)."""
    global _limit
    if limit is not None:
        limit = _positive(limit, "max_image_pixels")
        from PIL import Image
        # Pillow refuses images over twice its own limit before we can look; let ours decide
        if Image.MAX_IMAGE_PIXELS is not None and limit > Image.MAX_IMAGE_PIXELS:
            Image.MAX_IMAGE_PIXELS = limit
    _limit = limit


def max_image_pixels() -> int:
    """The pixel limit in force."""
    if _limit is not None:
        return _limit
    env = os.environ.get(_ENV)
    return _positive(env, _ENV) if env else DEFAULT_MAX_PIXELS


def check_max_image_pixels(value: Any) -> int:
    """``value`` as a pixel limit (a positive whole number), else :class:`ConfigError`."""
    return _positive(value, "max_image_pixels")


def _positive(value: Any, name: str) -> int:
    try:
        n = int(value)
    except (TypeError, ValueError):
        n = 0
    if n <= 0:
        raise ConfigError(f"expected {name} to be a positive number of pixels, got {value!r}")
    return n


def check_path(path: str | os.PathLike, field: str = "image") -> Path:
    """``path`` as a :class:`Path` if it names a regular file; else :class:`UnreadableImage`
    (``field``: ``image`` or ``document``, what the record calls it)."""
    p = Path(path)
    if p.is_symlink() and not p.exists():
        raise UnreadableImage("a symlink to nothing (broken link)", path=str(p), field=field)
    if not p.exists():
        raise UnreadableImage("not found", path=str(p), field=field)
    if p.is_dir():
        noun = "a file" if field == "document" else "an image"
        raise UnreadableImage(f"is a directory, not {noun}", path=str(p), field=field)
    if not p.is_file():
        raise UnreadableImage("not a regular file", path=str(p), field=field)
    if not os.access(p, os.R_OK):       # (it was a detector's failure, "truncated or corrupt")
        raise UnreadableImage("not readable (permission denied)", path=str(p), field=field)
    return p


def check_pixels(width: int, height: int, path: str | None, field: str = "image") -> None:
    """Raise :class:`UnreadableImage` when ``width x height`` is over the pixel limit."""
    limit = max_image_pixels()
    if width * height > limit:
        raise UnreadableImage(
            f"{width}x{height} = {width * height:,} pixels is over the limit of {limit:,} "
            f"(option max_image_pixels / {_ENV})", path=path, field=field)


def check_header(path: str | os.PathLike, field: str = "image") -> None:
    """The pixel limit checked from the image's header alone (nothing decoded): for paths
    whose results come from a cache, so that a warm cache answers as a cold one would (an
    over-limit image was a bad record the first time and scored from the cache the next).
    The header is read once per file (:func:`_read_once`)."""
    size = _read_once("header", path, _header_size)
    if size is not None:
        check_pixels(size[0], size[1], str(path), field)


def _header_size(path: str | os.PathLike) -> tuple[int, int] | None:
    """The stored size in an image's header; ``None`` where the file is no image (left to the
    full decode, which names what is wrong); Pillow's own refusal raises :func:`open_image`'s
    :class:`UnreadableImage`, which names the limit."""
    from PIL import Image, UnidentifiedImageError
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                return im.size
    except Image.DecompressionBombError:
        open_image(path, mode=None)     # raises the UnreadableImage that names the limit
        return None
    except (UnidentifiedImageError, OSError, ValueError):
        return None


def open_image(source: Any, *, mode: str | None = "RGB", frame: int = 0):
    """Decode an image file (a path, or bytes) fully and return a PIL image in ``mode``
    (``frame``: which frame of a multi-frame file, e.g. a page of a multi-page TIFF).

    Raises :class:`UnreadableImage` for a missing file, a directory, a non-image (whatever a
    symlink points to), a truncated or corrupt file, or one over the pixel limit.
    """
    import io

    from PIL import Image, UnidentifiedImageError

    if isinstance(source, (bytes, bytearray)):
        name, fp = "<image bytes>", io.BytesIO(source)
    else:
        p = check_path(source)
        name, fp = str(p), p
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(fp) as im:
                if frame:
                    im.seek(frame)
                check_pixels(im.width, im.height, name)
                im.load()
                im = _upright(im)
                return converted(im, mode) if mode and im.mode != mode else im.copy()
    except UnreadableImage as exc:
        if exc.path is None:          # (from converted(), which knows no path)
            raise UnreadableImage(exc.reason, path=name) from None
        raise
    except UnidentifiedImageError:
        raise UnreadableImage("not an image (no image format recognised)", path=name) from None
    except Image.DecompressionBombError as exc:   # Pillow's own check, at twice its limit
        found = re.search(r"\((\d+) pixels\)", str(exc))
        size = f"{int(found.group(1)):,} pixels" if found else "the image"
        raise UnreadableImage(f"{size} is over the limit of {max_image_pixels():,} (option "
                              f"max_image_pixels / {_ENV}; Pillow refused it: {exc})",
                              path=name) from None
    except PermissionError:
        raise UnreadableImage("not readable (permission denied)", path=name) from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise UnreadableImage(f"truncated or corrupt: {exc}", path=name) from None
    except MemoryError:
        raise UnreadableImage("too large to decode in memory", path=name) from None


def _upright(im):
    """``im`` turned as its EXIF orientation says, as a viewer shows it and as ``halluscope
    query`` sends it to the model (adapters.images): a phone photo stored on its side with
    orientation 6 was checked sideways, so a right box the model cited for the upright
    picture fell outside the 300 x 451 image and was hallucinated."""
    from PIL import ImageOps
    if orientation(im) in (1, None):
        return im
    return ImageOps.exif_transpose(im)


def orientation(image: Any) -> int | None:
    """The EXIF orientation (1-8) of an image or an image file, ``None`` without one or when
    it cannot be read."""
    from PIL import Image
    try:
        if isinstance(image, Image.Image):
            value = image.getexif().get(0x0112)
        else:
            with Image.open(image) as im:
                value = im.getexif().get(0x0112)
    except Exception:                 # noqa: BLE001 - broken EXIF: read as stored
        return None
    return int(value) if isinstance(value, int) and 1 <= value <= 8 else None


_WIDE_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I")


def converted(im, mode: str):
    """``im`` in ``mode``. A 16-bit greyscale image (a PNG or TIFF scan: ``I;16``, or ``I``) is
    scaled to 8 bits first: Pillow's own conversion clips every value over 255, so a 16-bit
    photo became a white picture, in which the detector found nothing ("no cat detected").
    A 32-bit float image (mode ``F``, a TIFF of a scientific camera or of ``skimage``) holds
    values in [0, 1] (scaled to 0-255) or in [0, 255] (read as they are); Pillow truncated the
    first to a black picture, in which the detector found nothing either. Other values (or NaN)
    are an :class:`UnreadableImage` saying which, never a guess."""
    if im.mode == "F":
        return _float_eight(im).convert(mode)
    if im.mode not in _WIDE_MODES:
        return im.convert(mode)
    import numpy as np
    from PIL import Image

    wide = np.asarray(im, dtype=np.int64)
    sixteen = im.mode != "I" or wide.max(initial=0) > 255     # "I" may hold 8-bit values
    eight = np.clip((wide + 128) // 257 if sixteen else wide, 0, 255)
    return Image.fromarray(eight.astype(np.uint8), "L").convert(mode)


def _float_eight(im):
    """A mode ``F`` image as an 8-bit greyscale one (see :func:`converted`)."""
    import numpy as np
    from PIL import Image

    arr = np.asarray(im, dtype=np.float64)
    if not np.isfinite(arr).all():
        raise UnreadableImage("expected finite pixel values in a 32-bit float image, got NaN "
                              "or infinity")
    low, high = (float(arr.min()), float(arr.max())) if arr.size else (0.0, 0.0)
    if -0.01 <= low and high <= 1.01:                 # (a resampled [0, 1] image overshoots)
        arr = np.clip(arr, 0.0, 1.0) * 255.0
    elif not (0.0 <= low and high <= 255.0):
        raise UnreadableImage(f"expected the values of a 32-bit float image in [0, 1] or "
                              f"[0, 255], got {low:g} to {high:g}")
    return Image.fromarray(np.rint(arr).astype(np.uint8), "L")


def frame_count(path: str | os.PathLike) -> int:
    """How many frames (pages) an image file holds: a multi-page TIFF's pages, a GIF's frames;
    1 for a single image, and for a file that cannot be read (its decode says why)."""
    from PIL import Image
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                return max(1, int(getattr(im, "n_frames", 1)))
    except Exception:                 # noqa: BLE001 - left to the full decode, which says why
        return 1


def upright_size(path: str | os.PathLike) -> tuple[tuple[int, int], int | None] | None:
    """``((width, height), orientation)`` of an image file as :func:`open_image` gives it,
    turned by its EXIF orientation (5-8 swap the sides), read from its header without decoding
    the pixels; ``None`` when the file cannot be opened as an image (its full decode, where one
    is needed, says why). Read once per file (:func:`_read_once`): every record that states
    the size of an image checks it against the file."""
    return _read_once("upright", path, _upright_size)


def _upright_size(path: str | os.PathLike) -> tuple[tuple[int, int], int | None] | None:
    from PIL import Image
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                w, h = im.size
                turn = orientation(im)
    except Exception:                 # noqa: BLE001 - left to the full decode, which says why
        return None
    return ((h, w) if turn is not None and turn >= 5 else (w, h)), turn


def image_size(path: str | os.PathLike) -> tuple[int, int]:
    """``(width, height)`` of a readable image (decoded once, so a truncated file is caught;
    once per file, :func:`_read_once`, however many records ask about it)."""
    return _read_once("decoded", path, lambda p: open_image(p, mode=None).size)


#: What :func:`_read_once` read: (what, path, pixel limits) -> (the file's stamp, the answer).
_READ: dict[tuple[Any, ...], tuple[tuple[int, ...], Any]] = {}
_READ_KEPT = 1 << 16


def _read_once(what: str, path: str | os.PathLike, read: Any) -> Any:
    """``read(path)``, remembered for the file as it is: by its path and its stamp
    (:func:`~halluscope.hashing.path_stamp`: size, modification and change times, inode), as
    :mod:`halluscope.hashing` remembers digests, so a file replaced or rewritten is read again.
    A read that raises is not remembered; nor is one of a file that changed while it was read.
    The pixel limits in force are part of the key (an answer may depend on them)."""
    from halluscope.hashing import path_stamp
    stamp = path_stamp(path)
    if stamp is None:
        return read(path)           # not there (or not a path): the read says why
    key = (what, os.path.abspath(path), _limit, os.environ.get(_ENV))
    known = _READ.get(key)
    if known is not None and known[0] == stamp:
        return known[1]
    value = read(path)
    if path_stamp(path) == stamp:
        if len(_READ) >= _READ_KEPT:
            _READ.clear()
        _READ[key] = (stamp, value)
    return value
