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

from halluscope.errors import ConfigError, MissingExtraError, RecordError, UnreadableImage
from halluscope.evidence.annotations import AnnotationSource, load_annotations
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
        keys.append(PurePosixPath(image.replace("\\", "/")).name)
        keys.append(image)
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
            if f is not None:
                return f
        return None

    def labels(self) -> frozenset[str]:
        """Object names of the annotation file that a claim splitter should know."""
        return self.source.labels()

    def describe(self) -> dict[str, Any]:
        return self.source.describe()


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
    src = getattr(record, "source", None)
    return RecordError(f"expected an image the annotation files know, got {value!r}, in none "
                       f"of {files} (looked up as {', '.join(image_keys(record))})",
                       file=getattr(src, "file", None), line=getattr(src, "line", None),
                       field=field)


def gather_facts(providers: Sequence[FactsProvider], record, claims: Sequence[Any] = ()
                 ) -> list[ImageFacts]:
    """Facts from every provider that knows the record's image, in provider order."""
    out = []
    for p in providers:
        try:
            f = p.facts(record, claims)
        except RecordError:
            # the record is bad, not this source (an unreadable image, one the detector fails
            # on): the metric lists it
            raise
        except (ConfigError, MissingExtraError):
            # the source itself cannot work (a detector folder that does not exist, a hub id
            # not in the local cache, a missing extra): a usage error, not one warning per
            # record while the audit went on without it, with other numbers, and exited 0
            raise
        except Exception as exc:  # noqa: BLE001 - one failing source must not stop the audit
            log.warning("facts provider %s failed on record %s: %s", getattr(p, "name", p),
                        getattr(record, "id", "?"), exc)
            continue
        if f is not None:
            out.append(f)
    return out
