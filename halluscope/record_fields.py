"""Checks of a line's naming fields (its ids, its model), shared by the record reader
(:mod:`halluscope.records`) and the columnar reader (:mod:`halluscope.columns`); and the file
name an image path or URL names (:func:`file_name`), wherever an image is told by its name.

An id names an item: ``""`` or a string of blanks names none (it was scored under the id
``""``, every such line the same item), so such an id is a bad record naming its field, as an
id of NaN is. A ``model`` is a name: a number is read as its text (a table cell holding ``7``
is the text ``7`` in a CSV and the number 7 in an ``.xlsx``), anything else (a list, an
object, ``true``) is a bad record naming the field (it was dropped in silence).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from halluscope.errors import RecordError

#: The characters ``str.strip()`` removes (for pyarrow's trim: the columnar reader's test of a
#: blank id must be the line reader's).
WHITESPACE = "".join(chr(c) for c in range(0x3001) if chr(c).isspace())
_URL = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*://")


def quoted(value: Any) -> str:
    """``value`` as an error quotes it, values under credential names redacted (a response
    given as ``{"api_key": ...}`` put the key in every output that lists bad records)."""
    if isinstance(value, (Mapping, list, tuple)):
        from halluscope.redact import redact_mapping
        value = redact_mapping(value)
    return f"{value!r:.60}"


def blank_id(value: str, name: str, where: Mapping[str, Any]) -> RecordError:
    """The bad record for an id ``value`` that is empty or only blanks, in field ``name``."""
    got = "an empty string" if not value else f"only blanks {value!r:.40}"
    return RecordError(f"expected an id (text or a whole number), got {got}: it names no "
                       f"item (leave the field out for the line's number)", field=name, **where)


def answer_field(record: Any) -> str:
    """The field of ``record``'s line its answer was read from (``caption``, ``text``, ...),
    as errors about the answer name it: ``response`` for a record built in Python."""
    return getattr(record, "response_field", None) or "response"


def image_field(record: Any) -> str:
    """The field of ``record``'s line its image was read from (``image``, ``image_id``,
    ``image_path``), as errors about the image name it: ``image`` for a record built in
    Python."""
    return getattr(record, "image_field", None) or "image"


def file_name(image: str) -> str:
    """The file name a path or URL names: its last part. A URL's (``scheme://``) query and
    fragment are no part of it, and its escapes are undone: ``https://host/img.jpg?sig=a/b``
    and ``https://host/img.jpg?sig=x`` name ``img.jpg`` (taking the text after the last
    ``/`` named ``b``, and ``img.jpg?sig=x``)."""
    text = image.strip()
    if _URL.match(text):
        from urllib.parse import unquote, urlsplit
        try:
            text = unquote(urlsplit(text).path)
        except ValueError:              # (a malformed host: its path is what follows it)
            text = text.split("?", 1)[0].split("#", 1)[0]
    return text.replace("\\", "/").rsplit("/", 1)[-1]


def not_an_object(value: Any, index: int | None = None) -> str:
    """Why a line (or, with ``index``, the array's element number ``index``) is no record:
    ``expected a JSON object, got a number 5`` in JSON's words (it said ``got int``,
    ``got NoneType``, ``got list``; and every element of a one-line array was "line 1")."""
    element = "" if index is None else f" (element {index:,} of the array)"
    kind = ("null" if value is None else "a boolean" if isinstance(value, bool)
            else "a number" if isinstance(value, (int, float))
            else "a string" if isinstance(value, str) else "an array"
            if isinstance(value, (list, tuple)) else type(value).__name__)
    shown = "" if value is None or isinstance(value, bool) else f" {quoted(value)}"
    return f"expected a JSON object{element}, got {kind}{shown}"


def model_name(obj: Mapping[str, Any], where: Mapping[str, Any]) -> str | None:
    """The line's model: ``model``, else ``model_id``, else ``requested_model`` (a query line
    whose server named no model: the one it asked); a number is its text."""
    key = "model" if "model" in obj else "model_id"
    model = obj.get(key)
    if model is None:
        key, model = "requested_model", obj.get("requested_model")
    if model is None or type(model) is str:
        return model
    if isinstance(model, (int, float)) and not isinstance(model, bool) and math.isfinite(model):
        return str(model)
    raise RecordError(f"expected the model's name as text, got {type(model).__name__} "
                      f"{quoted(model)}", field=key, **where)


__all__ = ["WHITESPACE", "answer_field", "blank_id", "file_name", "model_name", "not_an_object",
           "quoted"]
