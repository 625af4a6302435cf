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


def proxy_note(url: Any) -> str:
    """``"; asked through the proxy http://... that HTTP_PROXY names (NO_PROXY=host to go
    direct)"`` where the environment sends requests to ``url`` through a proxy (as httpx,
    under every adapter, reads it), else ``""``: a server that cannot be reached may be the
    proxy, not the server, and the message said only the server."""
    import urllib.parse
    import urllib.request
    parts = urllib.parse.urlsplit(str(url or ""))
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return ""
    proxies = urllib.request.getproxies_environment()
    proxy = proxies.get(parts.scheme) or proxies.get("all")
    if not proxy or urllib.request.proxy_bypass_environment(parts.hostname, proxies):
        return ""
    from halluscope.redact import redact_text
    var = f"{parts.scheme.upper()}_PROXY" if proxies.get(parts.scheme) else "ALL_PROXY"
    return (f"; asked through the proxy {redact_text(proxy)} that {var} names "
            f"(NO_PROXY={parts.hostname} to go direct)")


def is_transport_failure(exc: BaseException) -> bool:
    """Whether ``exc``'s chain names a connection that failed, broke off or timed out."""
    return _what_broke(exc)[0] is not None


def map_sdk_error(exc: BaseException, sdk: Any) -> AdapterError:
    """Translate an SDK exception (``sdk`` is the ``openai`` or ``anthropic`` module)."""
    if isinstance(exc, AdapterError):
        return exc
    if (setup := unsendable(exc)) is not None:
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
