"""Map exceptions of the openai and anthropic SDKs (same generator, same shapes) to ours.

A transport failure (the SDK's ``APIConnectionError`` / ``APITimeoutError``, or an httpx error
another SDK lets through) is told apart by what broke, found in its chain of causes
(:func:`transport_error`):

* no connection was made -- refused, unresolvable host, TLS set-up, connect timeout:
  :class:`~halluscope.adapters.types.ConnectFailed`, which counts toward the run's
  "server unreachable" stop;
* the server was reached but the exchange broke off -- reset, closed mid-response, a body
  shorter than announced: :class:`~halluscope.adapters.types.ConnectionLost`, retried for that
  record only;
* no answer in time once connected: :class:`~halluscope.adapters.types.RequestTimeout`.
"""

from __future__ import annotations

import json
import math
from typing import Any

from halluscope.adapters.types import (AdapterError, AuthError, ConnectFailed, ConnectionLost,
                                       MalformedResponse, RequestTimeout, SetupError, clip,
                                       error_for_status)

#: 429 codes of a spent quota, not a rate: OpenAI's (``code``) and Anthropic's monthly spend
#: cap (``error.details.error_code``, sent without ``retry-after``): asking again within a run
#: cannot succeed.
_NOT_RETRYABLE_429 = ("insufficient_quota", "billing_hard_limit_reached",
                      "enforced_spend_limit_reached")

# Class names (httpx, httpx2, httpcore, anyio, aiohttp, the socket layer) by what they say broke.
_NOT_CONNECTED = frozenset({"ConnectError", "ConnectTimeout", "ClientConnectorError",
                            "ConnectionRefusedError", "gaierror", "ProxyError",
                            "UnsupportedProtocol", "SSLError"})
_CONNECTION_LOST = frozenset({"ReadError", "WriteError", "CloseError", "RemoteProtocolError",
                              "LocalProtocolError", "DecodingError", "EndOfStream",
                              "BrokenResourceError", "ClosedResourceError",
                              "IncompleteRead", "ConnectionResetError", "BrokenPipeError",
                              "ConnectionAbortedError", "ServerDisconnectedError",
                              "ClientPayloadError"})
_TIMED_OUT = frozenset({"ReadTimeout", "WriteTimeout", "PoolTimeout", "TimeoutError"})
_SOME_TRANSPORT = frozenset({"TransportError", "NetworkError", "ClientConnectionError"})


def _headers(exc: Any) -> dict[str, str]:
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    try:
        return dict(headers) if headers is not None else {}
    except Exception:  # noqa: BLE001
        return {}


def _short(exc: Any) -> str:
    return clip(getattr(exc, "message", None) or str(exc), 300)


def _body_text(body: Any) -> str | None:
    """The server's reason from an error body: ``error.message``, ``detail``, ``message``, or
    the body itself."""
    if body is None or body == "":
        return None
    if isinstance(body, dict):
        err = body.get("error")
        if isinstance(err, dict) and err.get("message"):
            return str(err["message"])
        for key in ("detail", "message", "error"):
            if body.get(key):
                value = body[key]
                return value if isinstance(value, str) else json.dumps(value)
        return json.dumps(body)
    return str(body)


def _detail_code(body: Any) -> str | None:
    """``error.details.error_code`` of an Anthropic error body (the SDK's ``error_code``,
    read from the body so that SDKs older than that attribute see it too)."""
    err = body.get("error") if isinstance(body, dict) else None
    details = err.get("details") if isinstance(err, dict) else None
    code = details.get("error_code") if isinstance(details, dict) else None
    return code if isinstance(code, str) else None


def _status_message(exc: Any) -> str:
    """The SDK's message plus the server's error body when the message lacks it."""
    message = _short(exc)
    reason = _body_text(getattr(exc, "body", None))
    if reason:
        reason = clip(reason, 500)
        if reason not in message:
            message = f"{message} - {reason}"
    return message


def _causes(exc: BaseException):
    """``exc`` and its causes, outermost first (at most 12, cycles cut)."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen and len(seen) < 12:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__


def _what_broke(exc: BaseException) -> tuple[str | None, BaseException]:
    """``"connect"``, ``"lost"``, ``"timeout"``, ``"transport"`` (a transport error that says
    no more) or None (no transport error), from the first exception in ``exc``'s chain whose
    class (or a base class) names what broke, and that exception."""
    chain = list(_causes(exc))
    for link in chain:
        names = {c.__name__ for c in type(link).__mro__}
        if names & _NOT_CONNECTED:
            return "connect", link
        if names & _CONNECTION_LOST:
            return "lost", link
        if names & _TIMED_OUT:
            return "timeout", link
    for link in chain:
        if {c.__name__ for c in type(link).__mro__} & _SOME_TRANSPORT:
            return "transport", link
    return None, exc


def transport_error(exc: BaseException, *, timed_out: bool = False) -> AdapterError:
    """A transport failure as :class:`ConnectFailed`, :class:`ConnectionLost` or
    :class:`RequestTimeout` (see the module docstring); ``timed_out`` says the SDK called it a
    timeout. A failure whose chain names nothing known counts as :class:`ConnectFailed` (or
    :class:`RequestTimeout` when ``timed_out``)."""
    kind, link = _what_broke(exc)
    why = _short(exc)
    if link is exc:
        why = f"{type(exc).__name__}: {why}" if why else type(exc).__name__
    else:
        detail = _short(link)
        told = ": " + detail if detail and detail not in why else ""
        why = f"{why} ({type(link).__name__}{told})"
    if kind == "connect":
        return ConnectFailed(f"connection failed: {why}")
    if kind == "lost":
        return ConnectionLost(f"connection lost before the whole response arrived: {why}")
    if kind == "timeout" or timed_out:
        return RequestTimeout(f"request timed out: {why}")
    return ConnectFailed(f"connection failed: {why}")


#: h11's words (httpx's ``LocalProtocolError``) for a request it will not send whatever the
#: connection: a header or target HTTP does not allow. Its other words ("Can't send data when
#: our state is ERROR") tell of a connection gone wrong, retried as one.
_ILLEGAL_REQUEST = ("Illegal header", "Illegal target", "Illegal method", "Missing mandatory")


def unsendable(exc: BaseException) -> SetupError | None:
    """A :class:`SetupError` when ``exc``'s chain says the client refused to send the request
    as built (a header name or value HTTP does not allow, one that is not ASCII), else None."""
    for link in _causes(exc):
        names = {c.__name__ for c in type(link).__mro__}
        text = _short(link)
        if ("LocalProtocolError" in names and any(w in text for w in _ILLEGAL_REQUEST)) \
                or isinstance(link, UnicodeEncodeError):
            notes = " ".join(getattr(link, "__notes__", ()) or ())
            why = f"{type(link).__name__}: {text}" + (f" {notes}" if notes else "")
            return SetupError(f"the request cannot be sent as set up ({why}): a header from an "
                              f"option (-O default_headers=...) or an API key holds a character "
                              f"HTTP does not allow; fix it and run again")
    return None


#: Functions inside which the SDKs build a request, before anything is sent: the openai and
#: anthropic SDKs' (``_build_request``, its headers, options and body encoding, the parameter
#: transforms) and google-genai's (``_build_request``, the ``*_to_mldev`` / ``*_to_vertex``
#: converters). A TypeError or ValueError raised inside one is a parameter of the wrong type,
#: met again at every attempt: no failure of the server or of its answer.
_BUILDING = frozenset({"_build_request", "_build_headers", "_prepare_options",
                       "_prepare_request", "_merge_mappings", "maybe_transform",
                       "async_maybe_transform", "openapi_dumps"})


def _raised_building(exc: BaseException) -> bool:
    """Whether ``exc`` was raised while an SDK built the request (see :data:`_BUILDING`)."""
    import traceback
    for frame, _ in traceback.walk_tb(exc.__traceback__):
        name = frame.f_code.co_name
        if name in _BUILDING or name.endswith(("_to_mldev", "_to_vertex")):
            return True
    return False


def _not_json(value: Any, path: str) -> tuple[str, Any] | None:
    """The first ``(path, value)`` in ``value`` that JSON cannot carry (a set, bytes, an
    object, a NaN or infinite number, a key that is no string), else None."""
    if value is None or isinstance(value, (str, bool, int)):
        return None
    if isinstance(value, float):
        return None if math.isfinite(value) else (path, value)
    if isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            if (bad := _not_json(item, f"{path}[{i}]")) is not None:
                return bad
        return None
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                return f"{path} key {key!r}", key
            if (bad := _not_json(item, f"{path}[{key!r}]" if path else repr(key))) is not None:
                return bad
        return None
    return path, value


def _shown(value: Any) -> str:
    return f"{clip(repr(value), 60)} ({type(value).__name__})"


def _bad_parameter(body: Any, headers: Any) -> str:
    """Which parameter of the request is of the wrong type, said for the user: a
    ``default_headers`` option that is no mapping of names to strings, or a value in the
    request body JSON cannot carry; ``""`` when neither is found."""
    from collections.abc import Mapping
    if headers is not None and not isinstance(headers, Mapping):
        return (f": the option default_headers is of type {type(headers).__name__}, "
                f"expected a mapping of header names to strings (-O 'default_headers={{\"X-Team\": \"a\"}}')")
    for name, value in (headers or {}).items():
        if not isinstance(name, str) or not isinstance(value, str):
            # the type only: a header's value may be a credential
            what = (f"{name!r} holds a value of type {type(value).__name__}"
                    if isinstance(name, str) else f"named by a {type(name).__name__} value")
            return f": the option default_headers: the header {what}, expected a string"
    bad = _not_json(body, "") if isinstance(body, dict) else None
    if bad is not None:
        return f": the request's {bad[0]} is {_shown(bad[1])}, which JSON cannot carry"
    return ""


def unbuildable(exc: BaseException, *, body: Any = None,
                headers: Any = None) -> SetupError | None:
    """A :class:`SetupError` when ``exc`` is a TypeError or ValueError an SDK raised while it
    built the request (nothing was sent: a parameter of the wrong type, which every attempt
    meets), naming the parameter where ``body`` (the request's keyword arguments) or
    ``headers`` (the ``default_headers`` option as given) shows it; else None. Such an error
    was taken for a malformed response and retried until each record failed."""
    if not isinstance(exc, (TypeError, ValueError)) or not _raised_building(exc):
        return None
    where = _bad_parameter(body, headers) or (": a provider option (-O KEY=VALUE) has a value "
                                              "of the wrong type")
    return SetupError(f"the request cannot be built, nothing was sent ({type(exc).__name__}: "
                      f"{_short(exc)}){where}; fix it and run again")


def proxy_note(url: Any) -> str:
    """``"; asked through the proxy HOST:PORT that HTTP_PROXY names (NO_PROXY=host to go
    direct)"`` where the environment sends requests to ``url`` through a proxy (as httpx,
    under every adapter, reads it), else ``""``: a server that cannot be reached may be the
    proxy, not the server, and the message said only the server. The proxy is named by its
    host and port only: a user name or password in its URL is never said."""
    import urllib.parse
    import urllib.request
    parts = urllib.parse.urlsplit(str(url or ""))
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return ""
    proxies = urllib.request.getproxies_environment()
    proxy = proxies.get(parts.scheme) or proxies.get("all")
    if not proxy or urllib.request.proxy_bypass_environment(parts.hostname, proxies):
        return ""
    var = f"{parts.scheme.upper()}_PROXY" if proxies.get(parts.scheme) else "ALL_PROXY"
    return (f"; asked through the proxy {proxy_place(proxy)} that {var} names "
            f"(NO_PROXY={parts.hostname} to go direct)")


#: The port a proxy URL without one is reached on, by its scheme (as httpx reaches it).
_PROXY_PORTS = {"http": 80, "https": 443, "socks5": 1080, "socks5h": 1080}


def proxy_place(proxy: str) -> str:
    """``host:port`` of a proxy URL (``http://user:pw@proxy.corp:3128`` ->
    ``proxy.corp:3128``; no scheme reads as ``http``; no port: its scheme's), never the
    credentials it holds; ``"(a proxy URL with no host)"`` when it names none."""
    import urllib.parse
    text = proxy.strip()
    parts = urllib.parse.urlsplit(text if "://" in text else f"http://{text}")
    host = parts.hostname
    if not host:
        return "(a proxy URL with no host)"
    if ":" in host:                     # an IPv6 address
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:                  # a port that is no number: the host alone
        return host
    port = port if port is not None else _PROXY_PORTS.get(parts.scheme.lower())
    return f"{host}:{port}" if port is not None else host


def is_transport_failure(exc: BaseException) -> bool:
    """Whether ``exc``'s chain names a connection that failed, broke off or timed out."""
    return _what_broke(exc)[0] is not None


def map_sdk_error(exc: BaseException, sdk: Any, *, body: Any = None,
                  headers: Any = None) -> AdapterError:
    """Translate an SDK exception (``sdk`` is the ``openai`` or ``anthropic`` module);
    ``body`` and ``headers``: the request's keyword arguments and the ``default_headers``
    option, to name a parameter of the wrong type (:func:`unbuildable`)."""
    if isinstance(exc, AdapterError):
        return exc
    if (setup := unsendable(exc) or unbuildable(exc, body=body, headers=headers)) is not None:
        return setup
    if isinstance(exc, sdk.APITimeoutError):  # a subclass of APIConnectionError
        return transport_error(exc, timed_out=True)
    if isinstance(exc, sdk.APIConnectionError):
        return transport_error(exc)
    if isinstance(exc, sdk.APIResponseValidationError):
        return MalformedResponse(f"malformed response: {_short(exc)}",
                                 status=getattr(exc, "status_code", None))
    if isinstance(exc, sdk.APIStatusError):
        status = int(getattr(exc, "status_code", 0) or 0)
        code = getattr(exc, "code", None) or _detail_code(getattr(exc, "body", None))
        if status == 429 and code in _NOT_RETRYABLE_429:
            return AuthError(f"quota exhausted (HTTP 429, {code}): {_status_message(exc)}",
                             status=status)
        if status == 409:  # conflict: the SDKs themselves retry it
            status = 503
        return error_for_status(status, _status_message(exc), _headers(exc))
    if isinstance(exc, (json.JSONDecodeError, ValueError, KeyError, TypeError)):
        return MalformedResponse(f"malformed response: {type(exc).__name__}: {_short(exc)}")
    if isinstance(exc, sdk.APIError):
        return MalformedResponse(f"unreadable response: {_short(exc)}")
    return AdapterError(f"unexpected failure: {type(exc).__name__}: {_short(exc)}")
