"""Map exceptions of the openai and anthropic SDKs (same generator, same shapes) to ours."""

from __future__ import annotations

import json
from typing import Any

from halluscope.adapters.types import (AdapterError, AuthError, ConnectFailed, MalformedResponse,
                                       RequestTimeout, error_for_status)

_NOT_RETRYABLE_429 = ("insufficient_quota", "billing_hard_limit_reached")


def _headers(exc: Any) -> dict[str, str]:
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    try:
        return dict(headers) if headers is not None else {}
    except Exception:  # noqa: BLE001
        return {}


def _short(exc: Any) -> str:
    message = getattr(exc, "message", None) or str(exc)
    return " ".join(str(message).split())[:300]


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


def _status_message(exc: Any) -> str:
    """The SDK's message plus the server's error body when the message lacks it."""
    message = _short(exc)
    reason = _body_text(getattr(exc, "body", None))
    if reason:
        reason = " ".join(reason.split())[:500]
        if reason not in message:
            message = f"{message} - {reason}"
    return message


def map_sdk_error(exc: BaseException, sdk: Any) -> AdapterError:
    """Translate an SDK exception (``sdk`` is the ``openai`` or ``anthropic`` module)."""
    if isinstance(exc, AdapterError):
        return exc
    if isinstance(exc, sdk.APITimeoutError):
        return RequestTimeout(f"request timed out: {_short(exc)}")
    if isinstance(exc, sdk.APIConnectionError):
        cause = exc.__cause__ or exc.__context__
        why = f" ({type(cause).__name__}: {_short(cause)})" if cause is not None else ""
        return ConnectFailed(f"connection failed: {_short(exc)}{why}")
    if isinstance(exc, sdk.APIResponseValidationError):
        return MalformedResponse(f"malformed response: {_short(exc)}",
                                 status=getattr(exc, "status_code", None))
    if isinstance(exc, sdk.APIStatusError):
        status = int(getattr(exc, "status_code", 0) or 0)
        code = getattr(exc, "code", None)
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
