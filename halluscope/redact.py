"""Secret redaction: the one place that decides what a credential looks like.

Every boundary where text leaves halluscope -- run sheets, output lines, cache rows, the HTML
report, log lines, exception messages, the console -- passes what it writes through one of:

* :func:`redact_url` -- a URL without the password of its user info and with the values of
  credential-like query parameters (``api-key``, ``key``, ``token``, ``access_token``, ``sig``,
  ``X-Amz-Signature``, ...; in a fragment too) replaced by ``<redacted>``, every other part
  kept as written (an image URL that holds no secret is written unchanged in items.jsonl);
* :func:`redact_mapping` -- a copy of a (nested) mapping or list whose values under
  credential-like keys (``authorization``, ``api_key``, ``x-api-key``, ``token``, ``secret``,
  ``password``, ``cookie``, ...) are redacted and whose strings pass through :func:`redact_text`;
* :func:`redact_text` -- free text with every known secret value replaced: values registered with
  :func:`register_secret` (API keys an adapter holds, header values, URL passwords) and the
  values of environment variables named ``*_API_KEY``, ``*_TOKEN``, ``*_SECRET``, ``*_PASSWORD``;
  URLs in the text lose their credentials too, and ``Authorization: Bearer/Basic ...`` values are
  cut.

"token" counts only as a word of its own (``hf_token``, ``access-token``), never inside
``max_tokens`` or ``tokenizer``. A name whose last word is "key" (``Ocp-Apim-Subscription-Key``,
``x-functions-key``, ``license_key``, ``subscriptionKey``) names a credential, unless the word
before it says the key is a lookup key (``image_key``, ``sort_keys``, ``cache_key``,
``public_key``: :data:`LOOKUP_KEY_WORDS`); "key" inside a word (``keyword``, ``monkey``) does not.

A URL written without its scheme, or with one slash (``user:PASS@host/v1``,
``http:/user:PASS@host/v1``, ``127.0.0.1:6379?token=...``), loses its password and its
credential query values as a URL does.

**A name decides, not only a shape.** A value given under a credential name is redacted
whatever it looks like (letters only, short): the password of a URL's user info (and a user
name alone, ``https://TOKEN@host``); a query parameter named as :data:`SECRET_PARAM` says --
``token``, ``access_token`` (``refresh_``/``id_``), ``api_key``/``apikey``/``api-key``, ``key``,
``secret``, ``password``/``passwd``/``pwd``, ``passphrase``, ``auth``, ``authorization``,
``credential(s)``, ``cookie``, ``jwt``, ``sig``, ``signature``, ``code``, ``session``; and a
mapping key or header as :func:`is_secret_key` says (the same names but ``key``, ``sig``,
``signature``, ``code`` and ``session`` alone, which in data name lookup keys, hashes and
groups; ``x-api-key`` and ``*-key`` headers count). Such a value is also remembered
(:func:`register_named_secret`) and replaced as a whole word in messages, even where it is
quoted without its name. Ordinary names keep their values readable.

**The audited text is never rewritten by pattern.** A model's answer and the prompt it was
given (:data:`AUDITED_TEXT` keys) lose only known secret values quoted verbatim; the patterns
(URLs, ``Basic ...``, ``code=``) are for messages, headers and settings, where they cut text the
model read off an image ("code=SUMMER2024") otherwise. A known secret is a credential-like
value (:func:`credential_like`): eight characters or more with a digit or a symbol, or twenty or
more; a placeholder key such as ``none`` or ``ollama``, or ``BUILD_TOKEN=please``, is no
secret, so that "there is none" stays as the model wrote it.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, unquote_plus, urlsplit, urlunsplit

REDACTED = "<redacted>"
MIN_SECRET_LEN = 8
#: Keys whose strings are model text under audit (answers, prompts): only known secret values
#: quoted verbatim are replaced in them, never a pattern.
AUDITED_TEXT = frozenset({"response", "prompt", "text", "caption", "question", "answer",
                          "prediction", "model_answer", "model_prediction", "content",
                          "reasoning", "reasoning_content"})

# a key (mapping key, header name, query parameter) whose value is a credential
SECRET_KEY = re.compile(
    r"(api[_-]?key|apikey|(?<![a-z])token(?![a-z])|(?<![a-z])(access|refresh|id)[_-]?token|"
    r"secret|passw(or)?d|passphrase|authorization|credential|cookie|(?<![a-z])auth(?![a-z])|"
    r"(?<![a-z])(jwt|pwd)(?![a-z]))",
    re.IGNORECASE)
# a URL query parameter whose value is a credential (adds key=, sig=, signature=, code=,
# session=)
SECRET_PARAM = re.compile(SECRET_KEY.pattern[:-1] + r"|(?<![a-z])(key|sig|signature|code|"
                          r"session|sessionid)(?![a-z]))", re.IGNORECASE)
# "?name=value" / "&name=value" / ";name=value" in text: a query string, of a URL with or
# without its scheme ("127.0.0.1:6379?token=..."); the value ends where the parameter does
_QUERY_PAIR = re.compile(r"(?<=[?&;])([A-Za-z][\w.\[\]-]*)=([^\s&#'\"<>()\[\]{}]+)")
# environment variables whose values are secrets wherever they appear
SECRET_ENV = re.compile(r"(_API_KEY|_TOKEN|_SECRET|_PASSWORD|_KEY|_PASSPHRASE)$|"
                        r"^(HF_TOKEN|HUGGING_FACE_HUB_TOKEN)$", re.IGNORECASE)
#: Words that, before a final "key", make the name a lookup key rather than a credential.
LOOKUP_KEY_WORDS = frozenset({
    "image", "item", "pair", "cache", "sort", "group", "primary", "foreign", "join", "sample",
    "record", "row", "column", "dict", "map", "lookup", "partition", "shard", "index", "id",
    "name", "hash", "dedup", "match", "order", "cluster", "object", "doc", "document", "page",
    "question", "answer", "label", "class", "category", "public", "dataset", "split", "field",
    "metric", "config", "config_", "result", "results", "task", "model", "file", "path", "hot",
    "short", "composite", "natural", "unique", "group_by", "key"})
# the words of a name: snake_case, kebab-case, dotted and camelCase split apart
_NAME_WORDS = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")
# "user:password@host" where no "scheme://" comes before it (a scheme left out, or "http:/")
_BARE_USERINFO = re.compile(r"(?<![\w.+/@-])((?:[a-zA-Z][a-zA-Z0-9+.-]*:/{0,1})?)"
                            r"([A-Za-z_][^\s/@:'\"<>]*):([^\s/@'\"<>]+)@(?=[\w\[])")
_URL_IN_TEXT = re.compile(r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s'\"<>()\[\]{}]+")
_AUTH_VALUE = re.compile(r"((?:authorization|proxy-authorization)['\"]?\s*[:=]\s*['\"]?"
                         r"(?:bearer|basic|token)?\s*)[^\s'\",}]+", re.IGNORECASE)
# "Bearer <token>", and "Basic <base64>" only when it looks like base64 (a digit, + / or =),
# so that prose such as "basic understanding" is left alone
_BEARER = re.compile(r"\b((?i:bearer))\s+[A-Za-z0-9._~+/=-]{12,}|"
                     r"\b(Basic)\s+(?=[A-Za-z0-9+/]*[0-9+/=])[A-Za-z0-9+/]{8,}={0,2}")

#: A value given under a credential name is a secret whatever its shape, but one shorter than
#: this, or one that only repeats a credential's name (``PASSWORD``, ``TOKEN``), is a
#: placeholder left readable.
MIN_NAMED_LEN = 6
#: Placeholder values that servers accept as "no key" (vLLM's ``EMPTY``, Ollama's ``ollama``).
PLACEHOLDERS = frozenset({"none", "null", "empty", "dummy", "ollama", "lm-studio", "unused",
                          "not-needed", "placeholder", "nokey", "no-key", "redacted"})

_known: set[str] = set()
# values given under a credential name (a URL's password or token=, a secret header) that do
# not look like credentials (letters only, short): replaced as whole words in messages only
_named: set[str] = set()
_lock = threading.Lock()
# known_secrets' last answer: (registered secrets, the environment it was read from, the list);
# every output line and cache row asks for it, and reading os.environ costs ~40 us a time
_memo: tuple[frozenset[str], tuple, list[str]] | None = None


def is_secret_key(name: Any) -> bool:
    """Whether a key, header name or query parameter names a credential (see the module
    docstring: ``api_key``, ``token``, ``*_secret``, ``authorization``, ``cookie``, a name
    ending in the word "key" that is no lookup key, ...)."""
    return isinstance(name, str) and _secret_name(name)


@lru_cache(maxsize=4096)
def _secret_name(name: str) -> bool:
    """:func:`is_secret_key` of a string, remembered: the same few keys come back on every
    record redacted."""
    return bool(SECRET_KEY.search(name)) or _names_a_key(name)


def _names_a_key(name: str) -> bool:
    """Whether ``name``'s last word is "key" (or "keys") after a word that does not make it a
    lookup key (:data:`LOOKUP_KEY_WORDS`)."""
    words = [w.lower() for w in _NAME_WORDS.findall(name)]
    return (len(words) >= 2 and words[-1] in ("key", "keys")
            and words[-2] not in LOOKUP_KEY_WORDS)


def credential_like(value: Any) -> bool:
    """Whether ``value`` can be a credential worth cutting out of free text: 8 characters or
    more with a digit or a symbol, or 20 or more (placeholders such as ``none``, ``dummy``,
    ``ollama`` or ``EMPTY`` and plain words are not)."""
    if not isinstance(value, str) or len(value) < MIN_SECRET_LEN or value in (REDACTED,):
        return False
    return len(value) >= 20 or any(not c.isalpha() for c in value)


def register_secret(*values: Any) -> None:
    """Remember secret values so that :func:`redact_text` removes them wherever they appear
    (log records of every logger included, see :func:`install_record_redaction`)."""
    install_record_redaction()
    with _lock:
        for value in values:
            if credential_like(value):
                _known.add(value)
                if quote(value, safe="") != value:
                    _known.add(quote(value, safe=""))


def register_named_secret(*values: Any) -> None:
    """Remember values given under a credential name (a URL's password, ``?token=``, an
    ``x-api-key`` header): one that looks like a credential is registered as
    :func:`register_secret` does; any other of :data:`MIN_NAMED_LEN` characters or more, that
    is no placeholder, is replaced as a whole word in messages (:func:`redact_text` with its
    patterns), never in the audited text, where "hunter" may be the model's word."""
    for value in values:
        if not isinstance(value, str):
            continue
        if credential_like(value):
            register_secret(value)
        elif (len(value) >= MIN_NAMED_LEN and value.lower() not in PLACEHOLDERS
              and not SECRET_PARAM.fullmatch(value.strip("_-"))):
            install_record_redaction()
            with _lock:
                _named.add(value)


@lru_cache(maxsize=64)
def _named_pattern(values: frozenset[str]) -> re.Pattern[str]:
    """One pattern matching any of ``values`` as a whole word (no letter, digit or ``_``
    touching it), longest first."""
    words = "|".join(re.escape(v) for v in sorted(values, key=len, reverse=True))
    return re.compile(rf"(?<![\w])(?:{words})(?![\w])")


def known_secrets() -> list[str]:
    """Registered secrets and secret environment values, longest first.

    Worked out again only when the registered secrets or the environment changed since the
    last call (the environment is compared as a whole, as the process holds it)."""
    global _memo
    data = getattr(os.environ, "_data", None)   # the raw mapping: no decoding per variable
    env_now = tuple(data.items()) if isinstance(data, dict) else tuple(os.environ.items())
    with _lock:
        known = frozenset(_known)
        memo = _memo
    if memo is not None and memo[0] == known and memo[1] == env_now:
        return list(memo[2])
    env = [v for k, v in os.environ.items() if SECRET_ENV.search(k) and credential_like(v)]
    values = sorted(known | set(env), key=len, reverse=True)
    with _lock:
        _memo = (known, env_now, values)
    return list(values)


def register_url(url: str | None) -> None:
    """Register the credentials a URL carries (password, secret query values)."""
    if not url:
        return
    try:
        parts = urlsplit(url)
    except ValueError:
        return
    if parts.password:
        import base64
        basic = base64.b64encode(f"{unquote(parts.username or '')}:"
                                 f"{unquote(parts.password)}".encode()).decode()
        register_secret(basic)
        register_named_secret(parts.password, unquote(parts.password))
    if parts.username and parts.password is None and "@" in parts.netloc:
        register_named_secret(parts.username, unquote(parts.username))  # token-as-username
    if "://" not in url:          # "user:PASS@host/v1", "http:/user:PASS@host/v1"
        for match in _BARE_USERINFO.finditer(url):
            register_named_secret(match.group(3), unquote(match.group(3)))
    query = parts.query or ("?" in url and url.split("?", 1)[1].split("#", 1)[0]) or ""
    for name, value in parse_qsl(query, keep_blank_values=True):
        if SECRET_PARAM.search(name):
            register_named_secret(value)


def redact_url(url: str | None) -> str | None:
    """``url`` with the user-info password and credential-like query values redacted (also
    for a URL without its scheme or with one slash: ``user:PASS@host/v1``)."""
    if not url or "://" not in url:
        if url and "@" in url:
            url = _redact_bare_userinfo(url)
        return _redact_query_pairs(url) if url and "=" in url else url
    try:
        parts = urlsplit(url)
        netloc = parts.netloc
        if "@" in netloc:
            userinfo, host = netloc.rsplit("@", 1)
            user = userinfo.split(":", 1)[0]
            netloc = (f"{user}:{REDACTED}@{host}" if ":" in userinfo else f"{REDACTED}@{host}")
        query, fragment = _redact_pairs(parts.query), _redact_pairs(parts.fragment)
        if (netloc, query, fragment) == (parts.netloc, parts.query, parts.fragment):
            return url          # nothing to hide: the URL as written, its escapes and all
        return urlunsplit((parts.scheme, netloc, parts.path, query, fragment))
    except ValueError:
        return REDACTED


def _redact_pairs(query: str) -> str:
    """A URL's query (or fragment: ``#access_token=...``) with the value of every parameter
    under a credential name (:data:`SECRET_PARAM`, its name read unescaped) redacted; every
    other parameter kept as written (re-encoding them changed ``a/b`` to ``a%2Fb`` in an
    image URL that held no secret)."""
    if "=" not in query:
        return query
    pieces = []
    for piece in query.split("&"):
        name, eq, value = piece.partition("=")
        if eq and value and SECRET_PARAM.search(unquote_plus(name)):
            piece = f"{name}={REDACTED}"
        pieces.append(piece)
    return "&".join(pieces)


def _redact_query_pairs(text: str) -> str:
    """``text`` with the value of every query parameter under a credential name
    (:data:`SECRET_PARAM`) redacted, whatever its shape, wherever a query string appears in it
    (a URL written without its scheme included)."""
    return _QUERY_PAIR.sub(lambda m: f"{m.group(1)}={REDACTED}"
                           if SECRET_PARAM.search(m.group(1)) else m.group(0), text)


def _redact_bare_userinfo(text: str) -> str:
    """``text`` with the password of every ``user:PASS@host`` that has no ``scheme://``
    before it redacted."""
    return _BARE_USERINFO.sub(lambda m: f"{m.group(1)}{m.group(2)}:{REDACTED}@", text)


def endpoint_url(url: str | None, *, strip_slash: bool = True) -> str | None:
    """``url`` as an endpoint identity: scheme, host, port and path (a trailing slash dropped
    unless ``strip_slash`` is False); no credentials, no query, no fragment. A string that is
    no ``scheme://host`` URL comes back redacted (:func:`redact_url`), never as it is."""
    if not url:
        return url
    if "://" not in url:
        return redact_url(url)
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    path = parts.path.rstrip("/") if strip_slash else parts.path
    return urlunsplit((parts.scheme, host, path, "", ""))


def redact_text(text: Any, extra: Iterable[str] = (), *,
                secrets: list[str] | None = None, patterns: bool = True) -> Any:
    """``text`` with known secrets, URL credentials and auth header values redacted.

    ``secrets`` (default :func:`known_secrets`) lets a caller that redacts many strings look
    the secrets up once; ``patterns=False`` replaces known secret values only (model text)."""
    if not isinstance(text, str) or not text:
        return text
    values = secrets if secrets is not None else known_secrets()
    if extra:
        values = sorted({s for s in extra if credential_like(s)}, key=len,
                        reverse=True) + list(values)
    if patterns and "://" in text:
        # URLs first: a known password replaced inside a URL ends the URL's match at '<', and
        # its api-key= parameter after it stayed in clear text
        text = _URL_IN_TEXT.sub(lambda m: redact_url(m.group(0)) or "", text)
    if patterns and "@" in text:
        text = _redact_bare_userinfo(text)
    if patterns and "=" in text and ("?" in text or "&" in text or ";" in text):
        # a query string outside a scheme:// URL
        text = _redact_query_pairs(text)
    for secret in values:
        if secret in text:
            text = text.replace(secret, REDACTED)
    if not patterns:
        return text
    if _named:
        with _lock:
            named = frozenset(_named)
        text = _named_pattern(named).sub(REDACTED, text)
    lower = text.lower()
    if "authoriz" in lower:
        text = _AUTH_VALUE.sub(lambda m: m.group(1) + REDACTED, text)
    if "bearer" in lower or "Basic" in text:
        text = _BEARER.sub(lambda m: f"{m.group(1) or m.group(2)} {REDACTED}", text)
    return text


def cut_text(text: str, limit: int, tail: str = "") -> str:
    """``text`` redacted (:func:`redact_text`), then cut to ``limit`` characters, ``tail``
    ending a cut one. Redacting only after the cut missed a secret the cut split in two: its
    first characters (all but one, at worst) stayed and no longer matched it."""
    text = redact_text(text)
    if len(text) <= limit:
        return text
    return text[:max(limit - len(tail), 0)] + tail


def redact_mapping(value: Any, *, secrets: list[str] | None = None,
                   patterns: bool = True) -> Any:
    """A copy of ``value`` (dicts, lists, strings) with credentials redacted (recursively);
    strings under :data:`AUDITED_TEXT` keys lose known secret values only."""
    if secrets is None:
        secrets = known_secrets()
    # a string met again is redacted once (results.json with 50,000 groups repeats the same
    # few interval notes half a million times)
    return _redacted(value, secrets, patterns, {})


def _redacted(value: Any, secrets: list[str], patterns: bool,
              seen: dict[tuple[str, bool], Any]) -> Any:
    """:func:`redact_mapping`'s recursion; ``seen``: (string, patterns) -> its redaction."""
    kind = type(value)      # the common types first: isinstance(x, Mapping) is slow
    if kind is str:
        done = seen.get((value, patterns))
        if done is None:
            done = seen[value, patterns] = redact_text(value, secrets=secrets,
                                                       patterns=patterns)
        return done
    if kind in _PLAIN:
        return value
    if kind is dict or (kind is not list and kind is not tuple and isinstance(value, Mapping)):
        # a key is data too (a group named after a model): known secrets leave it; and a
        # secret-looking key hides a credential, not a table (results.json's group
        # "model:llava-token-merge" lost its metrics to "<redacted>"); a number, flag or
        # null stays as it is under any key
        return {redact_text(k, secrets=secrets, patterns=False) if secrets else k:
                v if type(v) in _PLAIN
                else _under_secret_key(v) if type(v) is not dict and is_secret_key(k)
                and not isinstance(v, Mapping)
                else _redacted(v, secrets, patterns and k not in AUDITED_TEXT, seen)
                for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_redacted(v, secrets, patterns, seen) for v in value]
    if isinstance(value, str):
        return redact_text(value, secrets=secrets, patterns=patterns)
    return value


def redact_strings(value: Any, *, secrets: list[str] | None = None) -> Any:
    """A copy of ``value`` (dicts, lists, strings) with every string, keys included, passed
    through :func:`redact_text`, patterns and all: what a page shows (report.html redacts each
    value it renders so, compare.html an item's evidence, before it is written as JSON and
    cut, so that no secret is split by the cut or hidden from the patterns by JSON's escapes).
    Unlike :func:`redact_mapping`, no value is cut for its key's name alone."""
    if secrets is None:
        secrets = known_secrets()
    kind = type(value)
    if kind is str:
        return redact_text(value, secrets=secrets)
    if kind is dict or (kind is not list and kind is not tuple and isinstance(value, Mapping)):
        return {redact_text(k, secrets=secrets) if type(k) is str else k:
                redact_strings(v, secrets=secrets) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact_strings(v, secrets=secrets) for v in value]
    return value


#: Types redact_mapping returns as they are (no strings inside).
_PLAIN = frozenset({int, float, bool, type(None)})


def _under_secret_key(value: Any) -> Any:
    """The value of a secret-looking key: a credential string (or a list of them) redacted;
    numbers, flags and empty values kept."""
    if isinstance(value, str):
        return REDACTED if value else value
    if isinstance(value, (list, tuple)):
        return [_under_secret_key(v) for v in value]
    return value


def register_options(options: Mapping[str, Any] | None) -> None:
    """Register the secret values among provider options (headers, judge URLs, keys)."""
    for key, value in (options or {}).items():
        if isinstance(value, Mapping):
            for k, v in value.items():
                if is_secret_key(k):
                    register_named_secret(str(v))
                    if isinstance(v, str) and " " in v:  # "Bearer xyz": the credential part
                        register_named_secret(v.split(None, 1)[1])
            register_options({k: v for k, v in value.items() if not is_secret_key(k)})
        elif isinstance(value, str):
            if is_secret_key(key):
                register_named_secret(value)
            if "://" in value:
                register_url(value)


def redact_record(record: logging.LogRecord) -> logging.LogRecord:
    """``record`` with its formatted message redacted in place (a record whose format string
    is broken is left to logging to report)."""
    try:
        message = record.getMessage()
    except Exception:  # noqa: BLE001 - a bad format string: leave it to logging
        return record
    clean = redact_text(message)
    if clean != message:
        record.msg, record.args = clean, None
    return record


class RedactingFilter(logging.Filter):
    """A logging filter that redacts every record's message (install on handlers)."""

    def filter(self, record: logging.LogRecord) -> bool:
        redact_record(record)
        return True


_factory_installed = False


def install_record_redaction() -> None:
    """Redact every log record as it is made, whoever logs it and wherever it goes.

    Handler filters (:func:`install_log_redaction`) only guard the handlers present when they
    are installed; the HTTP libraries under the provider SDKs log request and response headers
    at DEBUG to loggers and handlers halluscope does not own (a notebook's, pytest's
    ``caplog``). Wrapping the record factory covers them all. Idempotent."""
    global _factory_installed
    with _lock:
        if _factory_installed:
            return
        _factory_installed = True
        previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        return redact_record(previous(*args, **kwargs))

    logging.setLogRecordFactory(factory)


def install_log_redaction(logger: logging.Logger | None = None) -> None:
    """Add a :class:`RedactingFilter` to every handler of ``logger`` (default: the root)."""
    logger = logger or logging.getLogger()
    for handler in logger.handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())
