"""Images for model calls: load (local paths, base64 ``data:image/...`` URLs; http(s) URLs only
when allowed), hash, resize, re-encode.

Each provider documents how large an image may be and what it does with larger ones; an
:class:`ImagePolicy` states that, and :func:`prepare` shrinks and re-encodes an image so that the
payload is within it (aspect ratio kept, never enlarged). An image that needs no change is sent as
the original bytes. The policy enters the cache key, because it decides what the model saw,
and so does the sha256 of the bytes sent where they are not the original's (:func:`sent_digest`).

==========  ==========================================================================  ===========
policy      documented behaviour we pre-apply                                            max bytes
==========  ==========================================================================  ===========
openai      ``detail=high``: fit in 2048x2048, then shortest side at most 768            20 MB
openai-low  ``detail=low``: the model sees a 512x512 version                             20 MB
anthropic   long edge above 1568 px or more than ~1.15 MP is scaled down by the API       5 MB
gemini      inline data; large images are tiled/scaled by the API; we cap at 3072 px      7 MB
none        send as is (local models: their processor resizes)                           -
==========  ==========================================================================  ===========
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import logging
import os
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse, urlsplit

from halluscope.adapters.types import ImageError
from halluscope.errors import RecordError
from halluscope.hashing import stamp_tuple
from halluscope.imageio import converted

log = logging.getLogger(__name__)

MIME = {"jpeg": "image/jpeg", "png": "image/png", "webp": "image/webp", "gif": "image/gif",
        "heic": "image/heic", "heif": "image/heif"}
_URL_SCHEMES = ("http", "https")
MAX_DOWNLOAD_BYTES = 50 * 1024 * 1024
_OBJECT_REPR = re.compile(r"<[^<>]*? at 0x[0-9a-fA-F]+>")


def decode_error(name: str, exc: BaseException) -> ImageError:
    """The :class:`ImageError` for image ``name`` that Pillow could not decode, in words that are
    the same on every run (no object reprs or memory addresses), so that failures of one cause
    group together: ``cannot decode image a.png: not an image format Pillow recognises``."""
    from PIL import UnidentifiedImageError
    if isinstance(exc, UnidentifiedImageError):
        why = "not an image format Pillow recognises"
    else:
        text = " ".join(_OBJECT_REPR.sub("<data>", str(exc)).split())[:200]
        why = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    return ImageError(f"cannot decode image {short_name(name)}: {why}")


@dataclass(frozen=True, slots=True)
class ImagePolicy:
    """Limits an image must meet before it is sent.

    Attributes:
        name: Name for run sheets and the cache key.
        max_side: Longest side in pixels (scale down to fit), or None.
        max_short_side: Shortest side in pixels (scale down so it is at most this), or None.
        max_pixels: Width x height (scale down to fit), or None.
        max_bytes: Encoded size limit; re-encode (JPEG quality, then size) until under it.
        formats: Encodings the provider accepts; others are re-encoded.
        jpeg_quality: Quality of re-encoded JPEGs.
    """

    name: str
    max_side: int | None = None
    max_short_side: int | None = None
    max_pixels: int | None = None
    max_bytes: int | None = None
    formats: tuple[str, ...] = ("jpeg", "png", "webp", "gif")
    jpeg_quality: int = 90

    def key(self) -> dict[str, Any]:
        return {"name": self.name, "max_side": self.max_side,
                "max_short_side": self.max_short_side, "max_pixels": self.max_pixels,
                "max_bytes": self.max_bytes, "formats": list(self.formats),
                "q": self.jpeg_quality}

    @property
    def passthrough(self) -> bool:
        return (self.max_side is None and self.max_short_side is None
                and self.max_pixels is None and self.max_bytes is None)


_MB = 1024 * 1024
POLICIES: dict[str, ImagePolicy] = {
    "openai": ImagePolicy("openai", max_side=2048, max_short_side=768, max_bytes=20 * _MB),
    "openai-low": ImagePolicy("openai-low", max_side=512, max_bytes=20 * _MB),
    "anthropic": ImagePolicy("anthropic", max_side=1568, max_pixels=1_150_000,
                             max_bytes=5 * _MB),
    "gemini": ImagePolicy("gemini", max_side=3072, max_bytes=7 * _MB,
                          formats=("jpeg", "png", "webp", "heic", "heif")),
    "none": ImagePolicy("none", formats=tuple(MIME)),
}


def policy(name_or_policy: str | ImagePolicy | None, default: str = "none", *,
           max_side: int | None = None) -> ImagePolicy:
    """Look up a policy by name (or pass one through); ``max_side`` tightens it."""
    if isinstance(name_or_policy, ImagePolicy):
        pol = name_or_policy
    else:
        name = name_or_policy or default
        if name not in POLICIES:
            from halluscope.errors import ConfigError
            raise ConfigError(f"unknown image policy {name!r}; expected one of "
                              f"{', '.join(POLICIES)}")
        pol = POLICIES[name]
    if max_side is not None and (pol.max_side is None or max_side < pol.max_side):
        pol = ImagePolicy(f"{pol.name}@{max_side}", max_side, pol.max_short_side,
                          pol.max_pixels, pol.max_bytes, pol.formats, pol.jpeg_quality)
    return pol


def is_url(source: str) -> bool:
    return urlparse(source).scheme in _URL_SCHEMES


def is_data_url(source: str) -> bool:
    """``data:...`` (an image given inline, as the APIs take it)."""
    return source[:5].lower() == "data:"


def short_name(source: str) -> str:
    """``source`` as error messages name it: a ``data:`` URL by its head and length, not its
    whole payload."""
    if is_data_url(source) and len(source) > 60:
        return f"{source[:40]}... ({len(source)} characters)"
    return source


def data_url_bytes(url: str) -> bytes:
    """The bytes of a ``data:image/...;base64,`` URL; :class:`ImageError` for another media
    type, a payload that is not base64, or one over :data:`MAX_DOWNLOAD_BYTES` (checked before
    decoding)."""
    head, comma, payload = url[5:].partition(",")
    params = [p.strip().lower() for p in head.split(";")]
    name = short_name(url)
    if not comma or not params[0].startswith("image/"):
        raise ImageError(f"data URL {name} is not an image (expected data:image/...;base64,...)")
    if "base64" not in params[1:]:
        raise ImageError(f"data URL {name}: only base64 data URLs are read "
                         f"(data:image/...;base64,...)")
    payload = "".join(payload.split())
    if not payload:
        raise ImageError(f"data URL {name} holds no data")
    if len(payload) // 4 * 3 > MAX_DOWNLOAD_BYTES:
        raise ImageError(f"data URL {name}: larger than {MAX_DOWNLOAD_BYTES // _MB} MB")
    try:
        return base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise ImageError(f"data URL {name}: its payload is not valid base64") from None


@dataclass(frozen=True, slots=True)
class PreparedImage:
    """Bytes ready to send, with their MIME type and pixel size."""

    data: bytes
    mime: str
    width: int
    height: int
    resized: bool

    def base64(self) -> str:
        return base64.b64encode(self.data).decode("ascii")

    def data_url(self) -> str:
        return f"data:{self.mime};base64,{self.base64()}"


def file_uri_path(uri: str, *, file: str | None = None, line: int | None = None) -> str:
    """The file a ``file:///abs/path`` URI names (``%20`` decoded; ``file://localhost/...``
    too); a :class:`~halluscope.errors.RecordError` (field ``image``, at ``file``:``line``) for
    one naming another host or no path: ``file://img.png`` is host ``img.png``, and its empty
    path made the image vanish from the prompt."""
    parts = urlsplit(uri)
    if parts.netloc not in ("", "localhost") or not parts.path:
        raise RecordError(f"expected a file URI as file:///absolute/path, got {uri!r:.80}",
                          file=file, line=line, field="image")
    return unquote(parts.path)


class ImageLoader:
    """Reads images by path or (when allowed) URL and hashes their bytes, with small memos.

    Args:
        allow_urls: Fetch ``http(s)`` images; off by default so that a prompts file cannot make
            halluscope reach the network unasked.
        root: Directory that relative paths are resolved against (default: working directory).
        timeout: Seconds for a URL fetch.
    """

    def __init__(self, *, allow_urls: bool = False, root: str | Path | None = None,
                 timeout: float = 30.0, memo_size: int = 64):
        self.allow_urls = allow_urls
        self.root = Path(root) if root is not None else None
        self.timeout = timeout
        self._hashes: dict[Any, str] = {}
        self._bytes: OrderedDict[Any, bytes] = OrderedDict()
        self._memo_size = memo_size
        self._lock = threading.Lock()

    def resolve(self, source: str) -> str:
        if is_url(source) or is_data_url(source):
            return source
        if source.startswith("file://"):
            try:
                source = file_uri_path(source)
            except RecordError as exc:
                raise ImageError(exc.message) from None
        p = Path(source).expanduser()
        if not p.is_absolute() and self.root is not None:
            p = self.root / p
        return str(p)

    @staticmethod
    def _memo_key(src: str) -> Any:
        """What the memos know an image by: its URL, or a file's path and
        :func:`~halluscope.hashing.stamp_tuple` (size, mtime, inode, change time). A file
        rewritten in place is another image: its old bytes and hash must not answer for it,
        even when it has the old size and its modification time was kept (``cp -p``,
        ``rsync -a``): the change time and inode give it away. Only this memo of one loader
        sees the stamp; the answer cache is keyed by the bytes' sha256, so an unchanged image
        keeps its key (a new change time alone costs one hashing, never a cache miss)."""
        if is_url(src):
            return src
        if is_data_url(src):  # keyed by a digest: a memo holds no megabytes of URL
            return ("data:", hashlib.sha256(src.encode("utf-8", "replace")).digest())
        try:
            st = os.stat(src)
        except FileNotFoundError:
            raise ImageError(f"image not found: {src}") from None
        except OSError as exc:
            raise ImageError(f"cannot read image {src}: {exc.strerror or exc}") from None
        return (src, *stamp_tuple(st))

    def read(self, source: str) -> bytes:
        """The image's bytes; raises :class:`ImageError`."""
        src = self.resolve(source)
        memo_key = self._memo_key(src)
        with self._lock:
            if memo_key in self._bytes:
                self._bytes.move_to_end(memo_key)
                return self._bytes[memo_key]
        if is_url(src):
            data = self._fetch(src)
        elif is_data_url(src):
            data = data_url_bytes(src)
        else:
            try:
                data = Path(src).read_bytes()
            except FileNotFoundError:
                raise ImageError(f"image not found: {src}") from None
            except OSError as exc:
                raise ImageError(f"cannot read image {src}: {exc.strerror or exc}") from None
        with self._lock:
            self._bytes[memo_key] = data
            while len(self._bytes) > self._memo_size:
                self._bytes.popitem(last=False)
        return data

    def sha256(self, source: str) -> str:
        """Hex sha256 of the image's bytes (memoised by path and file stamp, or by URL)."""
        src = self.resolve(source)
        memo_key = self._memo_key(src)
        with self._lock:
            h = self._hashes.get(memo_key)
        if h is None:
            h = hashlib.sha256(self.read(src)).hexdigest()
            with self._lock:
                self._hashes[memo_key] = h
        return h

    def fetched_sha256(self, url: str) -> str | None:
        """Hex sha256 of the bytes of image URL ``url`` when this loader already fetched and
        hashed it (what the request sent); None otherwise. Never fetches."""
        with self._lock:
            return self._hashes.get(self._memo_key(self.resolve(url)))

    def _fetch(self, url: str) -> bytes:
        from halluscope.redact import redact_url
        shown = redact_url(url)     # a signed URL's signature stays out of the message
        if not self.allow_urls:
            raise ImageError(f"image is a URL ({shown}) but fetching URLs is off; "
                             f"allow it with --allow-urls (allow_urls=True)")
        import httpx
        try:
            with httpx.Client(timeout=self.timeout, follow_redirects=True) as client:
                with client.stream("GET", url) as resp:
                    if resp.status_code != 200:
                        raise ImageError(f"fetching {shown}: HTTP {resp.status_code}")
                    chunks, size = [], 0
                    for chunk in resp.iter_bytes():
                        size += len(chunk)
                        if size > MAX_DOWNLOAD_BYTES:
                            raise ImageError(f"fetching {shown}: larger than "
                                             f"{MAX_DOWNLOAD_BYTES // _MB} MB")
                        chunks.append(chunk)
        except httpx.HTTPError as exc:
            from halluscope.redact import redact_text
            raise ImageError(f"fetching {shown}: {type(exc).__name__}: "
                             f"{redact_text(str(exc))}") from None
        return b"".join(chunks)

    def open(self, source: str):
        """The image as an RGB PIL image (EXIF orientation applied)."""
        from PIL import Image, ImageOps
        data = self.read(source)
        try:
            img = Image.open(io.BytesIO(data))
            img = ImageOps.exif_transpose(img)
            return converted(img, "RGB")
        except Exception as exc:  # noqa: BLE001 - PIL raises many kinds
            raise decode_error(source, exc) from None

    def prepare(self, source: str, pol: ImagePolicy) -> PreparedImage:
        return prepare(self.read(source), pol, name=source)


def _target_size(w: int, h: int, pol: ImagePolicy) -> tuple[int, int]:
    scale = 1.0
    if pol.max_side and max(w, h) * scale > pol.max_side:
        scale = pol.max_side / max(w, h)
    if pol.max_short_side and min(w, h) * scale > pol.max_short_side:
        scale = pol.max_short_side / min(w, h)
    if pol.max_pixels and w * h * scale * scale > pol.max_pixels:
        scale = (pol.max_pixels / (w * h)) ** 0.5
    if scale >= 1.0:
        return w, h
    return max(1, int(w * scale)), max(1, int(h * scale))


def prepare(data: bytes, pol: ImagePolicy, *, name: str = "<bytes>") -> PreparedImage:
    """Shrink/re-encode ``data`` to meet ``pol``; the original bytes when nothing must change."""
    from PIL import Image, ImageOps
    try:
        img = Image.open(io.BytesIO(data))
        fmt = (img.format or "").lower()
        w, h = img.size
    except Exception as exc:  # noqa: BLE001
        raise decode_error(name, exc) from None
    fmt = "jpeg" if fmt == "mpo" else fmt
    rotated = False
    try:
        rotated = img.getexif().get(0x0112, 1) not in (1, None)
    except Exception:  # noqa: BLE001 - broken EXIF is not our problem
        rotated = False
    animated = bool(getattr(img, "is_animated", False))
    tw, th = _target_size(w, h, pol)
    fits = (fmt in pol.formats and (tw, th) == (w, h) and not rotated
            and (pol.max_bytes is None or len(data) <= pol.max_bytes)
            and not (animated and fmt == "gif"))
    if fits or (pol.passthrough and fmt in MIME):
        _check_whole(img, name)
        return PreparedImage(data, MIME.get(fmt, "application/octet-stream"), w, h, False)

    try:
        img = ImageOps.exif_transpose(img)
        if rotated:
            w, h = img.size
            tw, th = _target_size(w, h, pol)
        keep_alpha = img.mode in ("RGBA", "LA", "P") and "png" in pol.formats
        img = converted(img, "RGBA" if keep_alpha else "RGB")
        if (tw, th) != (w, h):
            img = img.resize((tw, th), Image.Resampling.LANCZOS)
    except Exception as exc:  # noqa: BLE001
        raise decode_error(name, exc) from None

    out_fmt = "png" if keep_alpha else ("jpeg" if "jpeg" in pol.formats else pol.formats[0])
    quality = pol.jpeg_quality
    for _ in range(12):
        buf = io.BytesIO()
        if out_fmt == "jpeg":
            img.save(buf, format="JPEG", quality=quality, optimize=True)
        else:
            img.save(buf, format=out_fmt.upper())
        encoded = buf.getvalue()
        if pol.max_bytes is None or len(encoded) <= pol.max_bytes:
            return PreparedImage(encoded, MIME[out_fmt], img.width, img.height, True)
        if out_fmt == "jpeg" and quality > 60:
            quality -= 10
            continue
        if out_fmt != "jpeg" and "jpeg" in pol.formats:
            out_fmt = "jpeg"
            img = img.convert("RGB")
            continue
        img = img.resize((max(1, int(img.width * 0.75)), max(1, int(img.height * 0.75))),
                         Image.Resampling.LANCZOS)
    raise ImageError(f"cannot bring image {name} under {pol.max_bytes} bytes")


def _check_whole(img: Any, name: str) -> None:
    """Decode ``img`` to its end (a JPEG at 1/8 scale: its whole stream is still read), or an
    :class:`ImageError`: an image that goes as it is was only looked at by its header, so a
    file cut short (a copy or download that stopped) went to the model, which answered about
    a picture half grey or missing, and the audit scored that answer against the whole
    picture's annotations; a local model, which decodes it, failed the record."""
    try:
        if (img.format or "").upper() in ("JPEG", "MPO"):
            img.draft("RGB", (max(1, img.width // 8), max(1, img.height // 8)))
        img.load()
    except Exception as exc:  # noqa: BLE001
        raise decode_error(name, exc) from None


def sent_digest(data: bytes, pol: ImagePolicy, *, name: str = "<bytes>") -> str | None:
    """The hex sha256 of what :func:`prepare` sends for ``data`` under ``pol`` when that is not
    ``data`` itself (shrunk, re-encoded, turned upright, 16-bit scaled); ``None`` when the
    bytes go as they are. The response cache key names it (an answer to other bytes is another
    answer); an image that passes through keeps the key it had (the sha256 of its bytes)."""
    prepared = prepare(data, pol, name=name)
    if not prepared.resized:
        return None
    return hashlib.sha256(prepared.data).hexdigest()


PREPARED_MEMO_BYTES = 64 * _MB


class PreparedMemo:
    """Images lately prepared, by the sha256 of their original bytes and the policy: naming
    what is sent in a cache key (:func:`sent_digest`) prepares an image, and sending it would
    prepare it again (0.3 s for a 2000x1500 JPEG, 1.5 s for 4000x3000); with this, each is
    prepared once. Only shrunk/re-encoded images are held (one that goes as it is costs a
    look at its header), at most ``budget`` prepared bytes in all, the least lately used
    dropped first. Thread-safe: a thread that asks for an image another thread is preparing
    waits for that one's result."""

    def __init__(self, budget: int = PREPARED_MEMO_BYTES):
        self.budget = budget
        self._items: OrderedDict[tuple[bytes, ImagePolicy], PreparedImage] = OrderedDict()
        self._held = 0
        self._pending: dict[tuple[bytes, ImagePolicy], threading.Event] = {}
        self._lock = threading.Lock()

    def __reduce__(self):   # a copied or pickled adapter starts with an empty memo
        return (PreparedMemo, (self.budget,))

    def _held_item(self, key) -> PreparedImage | None:
        item = self._items.get(key)
        if item is not None:
            self._items.move_to_end(key)
        return item

    def prepare(self, data: bytes, pol: ImagePolicy, *, name: str = "<bytes>") -> PreparedImage:
        """What :func:`prepare` makes of ``data`` under ``pol``, prepared at most once while held."""
        key = (hashlib.sha256(data).digest(), pol)
        with self._lock:
            item = self._held_item(key)
            if item is not None:
                return item
            pending = self._pending.get(key)
            mine = pending is None
            if mine:
                pending = self._pending[key] = threading.Event()
        if not mine:
            pending.wait()
            with self._lock:
                item = self._held_item(key)
            # not held: it went as it was (cheap), was too large, or failed -- and the
            # failure is reported under this request's own name
            return item if item is not None else prepare(data, pol, name=name)
        try:
            made = prepare(data, pol, name=name)
            if made.resized and len(made.data) <= self.budget // 4:
                with self._lock:
                    self._items[key] = made
                    self._held += len(made.data)
                    while self._held > self.budget:
                        _, dropped = self._items.popitem(last=False)
                        self._held -= len(dropped.data)
            return made
        finally:
            with self._lock:
                self._pending.pop(key, None)
            pending.set()


_MEMO_LOCK = threading.Lock()


class SendsPreparedImages:
    """For an adapter that sends each image as :func:`prepare` makes it under its
    ``image_policy``: the cache key names what is sent (:func:`sent_digest`), and the bytes
    named are the bytes sent (:meth:`prepared_image`, one preparation for both)."""

    image_policy: ImagePolicy

    def prepared_image(self, data: bytes, name: str) -> PreparedImage:
        """``data`` as it is sent, from this adapter's :class:`PreparedMemo`."""
        memo = getattr(self, "_prepared_memo", None)
        if memo is None:
            with _MEMO_LOCK:
                memo = getattr(self, "_prepared_memo", None)
                if memo is None:
                    memo = self._prepared_memo = PreparedMemo()
        return memo.prepare(data, self.image_policy, name=name)

    def sent_image_digest(self, data: bytes, name: str) -> str | None:
        prepared = self.prepared_image(data, name)
        return hashlib.sha256(prepared.data).hexdigest() if prepared.resized else None


def preparer_identity(adapter: Any) -> str:
    """A sha256 naming everything a :meth:`sent_image_digest` of ``adapter`` is computed by:
    its class, its image policy, the source files of this module, :mod:`halluscope.imageio`
    and the adapter's module, and the installed Pillow and numpy. The response cache remembers
    digests under it (:meth:`~halluscope.adapters.cache.ResponseCache.sent_image`), so that a
    re-run does not prepare each image again only to name it; any edit of that code, or
    another Pillow, makes the digests be worked out anew. Only the memo depends on it: the
    answer's key names the digest itself."""
    import sys

    from halluscope import imageio
    from halluscope.packages import installed_version
    h = hashlib.sha256()
    cls = type(adapter)
    pol = getattr(adapter, "image_policy", None)
    h.update(f"{cls.__module__}.{cls.__qualname__}\0{pol.key() if pol else None}\0"
             f"{installed_version('pillow')}\0{installed_version('numpy')}".encode())
    for module in (sys.modules[__name__], imageio, sys.modules.get(cls.__module__)):
        h.update(b"\0" + _source_digest(getattr(module, "__file__", None)).encode())
    return h.hexdigest()


_SOURCE_DIGESTS: dict[str | None, str] = {}


def _source_digest(path: str | None) -> str:
    """The sha256 of a module's source file, once per process; ``?`` when unreadable."""
    if path not in _SOURCE_DIGESTS:
        try:
            _SOURCE_DIGESTS[path] = hashlib.sha256(Path(path).read_bytes()).hexdigest()
        except (OSError, TypeError):
            _SOURCE_DIGESTS[path] = "?"
    return _SOURCE_DIGESTS[path]


def pixels_digest(img) -> str:
    """The hex sha256 of a PIL image's mode, size and pixels: what a model that is handed
    pixels (a local model's processor) sees."""
    h = hashlib.sha256(f"{img.mode}:{img.width}x{img.height}:".encode("ascii"))
    h.update(img.tobytes())
    return h.hexdigest()


_DEFAULT_LOADER: ImageLoader | None = None


def part_bytes(part) -> bytes:
    """The bytes of an :class:`~halluscope.adapters.types.ImagePart`: its ``data`` when the client
    filled it in, else read from its (local) source -- URLs are refused here."""
    global _DEFAULT_LOADER
    if part.data is not None:
        return part.data
    if _DEFAULT_LOADER is None:
        _DEFAULT_LOADER = ImageLoader()
    return _DEFAULT_LOADER.read(part.source)


def part_image(part):
    """An :class:`~halluscope.adapters.types.ImagePart` as an RGB PIL image."""
    return decoded_image(part_bytes(part), name=part.source)


def decoded_image(data: bytes, *, name: str = "<bytes>"):
    """Image bytes as an upright RGB PIL image (16-bit greyscale scaled by
    :func:`~halluscope.imageio.converted`); :class:`ImageError` when they do not decode."""
    from PIL import Image, ImageOps
    try:
        img = ImageOps.exif_transpose(Image.open(io.BytesIO(data)))
        return converted(img, "RGB")
    except Exception as exc:  # noqa: BLE001
        raise decode_error(name, exc) from None
