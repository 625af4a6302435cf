"""What a resumed ``halluscope query`` run checks of the lines an earlier run answered, before
it keeps them: that each was answered for the prompt, image and other prompt-line fields its id
has now, and for the same bytes of a local image (``image_sha256``). A line that fails a check
is a usage error naming the output file (and, for the bytes, its line and field): keeping its
answer would file it under a prompt or picture the model never saw.

:class:`AnsweredLineChecks` is a part of :class:`~halluscope.adapters.query._QueryRun`, whose
``done`` (:func:`~halluscope.adapters.outlock.read_done`), ``out_path``, ``out_dir`` and
``client`` it reads.
"""

from __future__ import annotations

import logging
from typing import Any

from halluscope.adapters.images import ImageLoader, is_data_url, is_url
from halluscope.adapters.prompts import PromptItem, _portable_image, changed_fields, same_url
from halluscope.adapters.types import AdapterError
from halluscope.errors import InputError
from halluscope.redact import redact_mapping, redact_text

log = logging.getLogger(__name__)


class AnsweredLineChecks:
    """The checks of a resumed run's answered lines (see the module docstring)."""

    done: dict
    out_path: Any
    out_dir: Any
    client: Any
    counts: Any
    undigested: bool

    def _check_unchanged(self, item: PromptItem, task: str) -> bool:
        """A usage error when ``task`` was answered for another prompt or image than the one
        its id has now (keeping the old answer would file it under the new prompt), or for a
        prompt line whose other fields (a label) the prompts file now gives otherwise. A kept
        refusal (``"refused": true``) is no answer to misfile: False when it was met by
        another request than its id makes now (a prompt reworded, an image fixed: asked
        again), True when it still stands."""
        if self.done[task][5]:
            try:
                self._check_line(item, task, bytes_only=True)
            except InputError:
                return False
            return True
        self._check_line(item, task)
        return True

    def _check_line(self, item: PromptItem, task: str, *, bytes_only: bool = False) -> None:
        """:meth:`_check_unchanged`'s checks of an answered line (``bytes_only``: of a local
        image's bytes, no note on what cannot be compared)."""
        prompt, image, fields, digest, out_line, _ = self.done[task]
        now = _portable_image(item, self.out_dir) if item.image is not None else None
        # the line holds what emit wrote: redacted (a signed URL's signature, a known secret
        # quoted in a prompt); compare with the same redaction of today's value, never the
        # secret itself
        same_prompt = prompt in (item.prompt, redact_text(item.prompt, patterns=False))
        shown = redact_mapping({"image": now})["image"]
        same_image = image is None or image in (now, shown) or same_url(image, shown)
        if not (same_prompt and same_image):
            what = "prompt" if not same_prompt else "image"
            raise InputError(f"{self.out_path}: {task!r} was answered for another {what} "
                             f"than the prompts file now gives it (line {item.line}); pass "
                             f"--restart to ask everything again, or write to another --out")
        if changed := changed_fields(fields, item):
            # the line keeps the prompt line's fields as they were (a POPE label: the truth
            # an audit scores it against); resuming kept them without a word
            said = "; ".join(f"{k!r}: {v0!r:.40} then, {v1!r:.40} now"
                             for k, v0, v1 in changed[:3])
            raise InputError(f"{self.out_path}: {task!r} was answered for a prompt line whose "
                             f"fields the prompts file now gives otherwise (line {item.line}: "
                             f"{said}{'; ...' if len(changed) > 3 else ''}); its output line "
                             f"keeps them as they were, and an audit reads them (a label is the "
                             f"truth it scores against). Pass --restart to write every line "
                             f"anew (answers the cache holds are not asked again), or write to "
                             f"another --out")
        if not bytes_only:
            self._check_image_bytes(item, task, digest, out_line)
        elif isinstance(digest, str) and (now_sha := self.image_digest(item)) not in (None,
                                                                                  digest):
            raise InputError(f"{task!r}: sha256 {digest[:12]}... then, {now_sha[:12]}... now")

    def image_digest(self, item: PromptItem) -> str | None:
        """The sha256 of the bytes of ``item``'s image when it is a local file (the answer
        cache's key holds the same, memoised by the loader), or a URL this run's loader already
        fetched (the bytes sent for it; never fetched here); None for inline data (its line
        holds it), a URL not fetched, or an image that cannot be read (its request fails and
        says why)."""
        if item.image is None or is_data_url(item.image):
            return None
        loader = getattr(self.client, "images", None) or ImageLoader()
        try:
            return (loader.fetched_sha256(item.image) if is_url(item.image)
                    else loader.sha256(item.image))
        except (OSError, AdapterError, ValueError):
            return None

    def _check_image_bytes(self, item: PromptItem, task: str, then: Any, out_line: int) -> None:
        """A usage error when the image file ``task`` was answered for now holds other bytes
        under the same name (its answer would be kept for a picture the model never saw); a
        line without ``image_sha256`` (written by an older halluscope) is noted once, unchecked,
        and so is a kept line whose image is a URL: it is not fetched again to compare its bytes
        (counted: ``url_images_unchecked``)."""
        now = self.image_digest(item) if item.image is not None else None
        if now is None and item.image is not None and is_url(item.image):
            if not self.counts.url_images_unchecked:
                log.warning("%s: kept answers about an image URL (the first at line %d) are "
                            "compared with the prompts by address only: the image is not "
                            "fetched again, so bytes that changed since at the same URL are "
                            "not noticed; pass --restart to ask everything again",
                            self.out_path, out_line)
            self.counts.url_images_unchecked += 1
        if now is None:
            return
        if not isinstance(then, str):
            if not self.undigested:
                log.warning("%s: its answered lines carry no image_sha256 (written by an older "
                            "halluscope; the first at line %d): an image whose bytes changed "
                            "since under the same name is not noticed; pass --restart to ask "
                            "everything again (the cache answers unchanged images)",
                            self.out_path, out_line)
            self.undigested = True
            return
        if then != now:
            raise InputError(f"{self.out_path}:{out_line}: field 'image_sha256': {task!r} was "
                             f"answered for the image {item.image} with other bytes "
                             f"(sha256 {then[:12]}... then, {now[:12]}... now; prompt line "
                             f"{item.line}): its answer is about a picture the file no longer "
                             f"holds. Pass --restart to ask everything again (answers the "
                             f"cache holds for unchanged images are not asked again), or "
                             f"write to another --out")


def check_resume_settings(out: Any, model: str, *, base_url: str | None = None,
                          model_options: Any = None, offline: bool | None = None,
                          decoding: Any = None, system: str | None = None, samples: int = 1,
                          detail: str | None = None) -> None:
    """Refuse, reading only, a resume of ``out`` that :func:`~halluscope.adapters.query.aquery`
    would refuse for its model or settings (another model, decoding, system prompt, samples
    or detail than its run sheet records; a file with lines but no run sheet, or with one that
    cannot be read): for what must not be written before that check (``query --benchmark``'s
    prompts file beside ``out``). An adapter that cannot be built is left to the query, which
    says so as ever."""
    from pathlib import Path

    from halluscope.adapters.outlock import (_check_has_run_sheet, _check_same_answers,
                                             answers_of)
    from halluscope.adapters.query import _run_sync
    from halluscope.adapters.registry import get_model, server_and_options
    from halluscope.adapters.types import Decoding
    from halluscope.errors import HalluscopeError
    from halluscope.redact import register_options, register_url
    out = Path(out)
    if not (out.is_file() and out.stat().st_size):
        return
    _check_has_run_sheet(out)
    try:
        register_options(model_options)
        url, options = server_and_options(base_url, model_options)
        register_url(url)
        api = get_model(model, base_url=url, offline=offline, **options)
    except HalluscopeError:
        return
    try:
        _check_same_answers(out, answers_of(api, decoding or Decoding(), system,
                                            samples=samples, detail=detail))
    finally:
        close = getattr(api, "aclose", None)
        if close is not None:
            _run_sync(close())
