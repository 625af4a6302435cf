"""Facts providers: where the checks get :class:`ImageFacts` for a record.

A provider has a ``name`` and ``facts(record, claims) -> ImageFacts | None``. Annotation
providers look the record's image up by key, trying in order: the COCO image id
(``record.image_id``), the image's file name, the image path as written, the record id (not
when it is only the line number), and ``metadata["image_key"]``. :func:`build_providers` makes the providers an audit configuration
asks for: annotation files first (``coco_annotations``, then ``annotations``, format detected),
then the detector when ``detector`` is set. :func:`provider_labels` collects the object names
that annotation files in halluscope's simple format use, which the claims metric adds to the
splitter's vocabulary.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import PurePosixPath
from typing import Any, Protocol, runtime_checkable

from halluscope.errors import CacheMiss, ConfigError, MissingExtraError, RecordError
from halluscope.evidence.annotations import AnnotationSource, load_annotations
from halluscope.record_fields import file_name
from halluscope.types import ImageFacts

log = logging.getLogger(__name__)


@runtime_checkable
class FactsProvider(Protocol):
    """What the claim checks ask for facts."""

    name: str

    def facts(self, record, claims: Sequence[Any]) -> ImageFacts | None:
        """Facts about the record's image, or ``None`` when this source does not know it."""
        ...


def image_keys(record) -> list[str]:
    """Keys under which a record's image may be annotated, most specific first."""
    keys: list[str] = []
    image_id = getattr(record, "image_id", None)
    if image_id is not None:
        keys.append(str(image_id))
    image = getattr(record, "image", None)
    if isinstance(image, str) and image:
        name = file_name(image)                 # (a URL's: without its query)
        keys += [name, image] if name else [image]     # ("https://host/" names no file)
    rid = getattr(record, "id", None)
    if rid and not getattr(record, "id_from_line", False):
        # a record without an id has its line number as id: that names no image (line 2 is
        # not COCO image 2)
        keys.append(str(rid))
    meta = getattr(record, "metadata", None) or {}
    if meta.get("image_key") is not None:
        keys.insert(0, str(meta["image_key"]))
    return list(dict.fromkeys(keys))


class AnnotationProvider:
    """Facts from one annotation file."""

    def __init__(self, source: AnnotationSource):
        self.source = source
        self.name = source.name

    def facts(self, record, claims: Sequence[Any] = ()) -> ImageFacts | None:
        for key in image_keys(record):
            f = self.source.get(key)
            if f is not None and not _another_file(f, key, record):
                return f
        return None

    def labels(self) -> frozenset[str]:
        """Object names of the annotation file that a claim splitter should know."""
        return self.source.labels()

    def describe(self) -> dict[str, Any]:
        return self.source.describe()


def _another_file(facts: ImageFacts, key: str, record) -> bool:
    """Whether ``facts`` were found under the record's id alone for an image the file names by
    another file name than the record's image: a record ``{"id": "1", "image":
    "astronaut.jpg"}`` took the objects of COCO image 1, ``chelsea.jpg`` (sample ids 1, 2, ...
    meet COCO's image ids), and its claims were decided on another picture."""
    named = (facts.provenance or {}).get("file_name")
    image = getattr(record, "image", None)
    if key != str(getattr(record, "id", None)) or not isinstance(named, str) or not named \
            or not isinstance(image, str) or not image:
        return False
    meta = getattr(record, "metadata", None) or {}
    if key in {str(getattr(record, "image_id", None)), str(meta.get("image_key"))}:
        return False                # the record names that image itself
    stem = PurePosixPath(file_name(image)).stem
    if key.isdigit() and stem.isdigit() and int(stem) == int(key):
        return False                # a copy named by its COCO id: 42.jpg, 000000000042.jpg
    return file_name(named) != file_name(image)


def build_providers(config) -> list[FactsProvider]:
    """The providers ``config`` (an :class:`~halluscope.config.AuditConfig`) asks for."""
    providers: list[FactsProvider] = []
    for path in tuple(config.coco_annotations) + tuple(config.annotations):
        providers.append(AnnotationProvider(load_annotations(path)))
    if getattr(config, "detector", None):
        from halluscope.evidence.detector_facts import from_config
        providers.append(from_config(config))
    return providers


def provider_labels(providers: Sequence[FactsProvider]) -> frozenset[str]:
    """The object names the providers' annotation files use (for the splitter's vocabulary:
    see :meth:`halluscope.claims.vocab.Vocabulary.extended`)."""
    out: set[str] = set()
    for p in providers:
        labels = getattr(p, "labels", None)
        if callable(labels):
            out.update(labels())
    return frozenset(out)


def unknown_image(providers: Sequence[FactsProvider], record, facts: Sequence[ImageFacts],
                  judge=None) -> RecordError | None:
    """The record's error when it names an image that none of the annotation files knows and
    they are the only evidence (a typo such as ``dgo.jpg``: every claim would be unverifiable
    for want of evidence, not for anything the model said). ``None`` when some source knows
    the image, when a detector or a judge can look at it anyway, or when the record names no
    image at all (another check's business)."""
    if facts or judge is not None or not providers or \
            not all(isinstance(p, AnnotationProvider) for p in providers):
        return None
    image_id = getattr(record, "image_id", None)
    image = getattr(record, "image", None)
    if image_id is None and not image:
        return None
    field, value = ("image_id", image_id) if image_id is not None else ("image", image)
    files = ", ".join(str(p.source.path) for p in providers)
    return RecordError(f"expected an image the annotation files know, got {value!r}, in none "
                       f"of {files} (looked up as {', '.join(image_keys(record))})",
                       field=field)


def facts_of(provider: FactsProvider, record, claims: Sequence[Any] = ()) -> ImageFacts | None:
    """``provider.facts(record, claims)``; a source that fails on the record makes it a bad
    record naming the source, the image and the failure (field ``image``; the engine scoring
    the record gives its file:line). It was a warning in the log while the claims came out unverifiable ("no
    evidence source knows this image"), and it stopped a region audit as an internal error.

    Passed on unchanged: a :class:`RecordError` (the record is bad, not this source: an
    unreadable image, one the detector fails on; the metric lists it), a
    :class:`ConfigError` or :class:`MissingExtraError` (the source itself cannot work: a
    detector folder that does not exist, a missing extra; a usage error, not one warning per
    record while the audit went on without it) and a :class:`CacheMiss` (offline mode).

    Passed on as well: any other exception of halluscope's own sources (annotations, the
    detector) but an OSError (the image's file read): their models' failures on an image are
    RecordErrors already (:func:`~halluscope.evidence.detector_facts._failing_on`), so what is
    left is halluscope's bug (a reader of a cache entry raising KeyError), an internal error
    (exit 3), which this catch listed as a bad record (exit 2 when every record had it)."""
    try:
        return provider.facts(record, claims)
    except (RecordError, ConfigError, MissingExtraError, CacheMiss):
        raise
    except Exception as exc:  # noqa: BLE001 - a foreign source's failure, named on its record
        if _own(provider) and not isinstance(exc, OSError):
            raise
        name = getattr(provider, "name", None) or type(provider).__name__
        image = getattr(record, "image", None)
        if not isinstance(image, str) or not image:
            image_id = getattr(record, "image_id", None)
            image = f"image id {image_id}" if image_id is not None else "its image"
        log.debug("facts provider %s failed on record %s", name, getattr(record, "id", "?"),
                  exc_info=True)
        text = " ".join(str(exc).split())[:300]
        raise RecordError(f"the evidence source {name} failed on {image}: "
                          f"{type(exc).__name__}{': ' + text if text else ''}",
                          field="image") from None


def _own(provider: Any) -> bool:
    """Whether ``provider`` is one of halluscope's sources, not a user's object."""
    return (type(provider).__module__ or "").split(".")[0] == "halluscope"


def gather_facts(providers: Sequence[FactsProvider], record, claims: Sequence[Any] = ()
                 ) -> list[ImageFacts]:
    """Facts from every provider that knows the record's image, in provider order; a source
    that fails on the record makes it a bad record (:func:`facts_of`), never a record scored
    without it."""
    out = []
    for p in providers:
        f = facts_of(p, record, claims)
        if f is not None:
            out.append(f)
    return out
