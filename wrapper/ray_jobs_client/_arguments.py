"""Checks of what callers pass, made before anything is sent.

Each failure is an :class:`~ray_jobs_client.errors.InvalidArgumentError` (a :class:`ValueError`) or
an :class:`~ray_jobs_client.errors.InvalidArgumentTypeError` (a :class:`TypeError`) whose message
and ``parameter`` name the argument. Messages never quote a header or cookie value: it may be a
secret (a token, a session cookie).

Headers and cookies travel on every request and on the log WebSocket, so a value the HTTP library
would refuse at send time (the old symptom: a "Failed to connect" error quoting the value) is
refused here instead. The rules are HTTP's (RFC 9110 §5.1 and §5.5, RFC 6265 §4.1.1), kept where
they matter on the wire:

* a header name is a non-empty token (letters, digits and ``!#$%&'*+-.^_`|~``); names that frame
  the message (``Content-Length``, ``Transfer-Encoding``) are set per request by the client and
  cannot be given; two names that differ only in case would be one header, so are refused;
* a header value is ASCII text without control characters other than tab (CR, LF and NUL would
  split or end the header); spaces and tabs around it are not part of a value and are dropped, as
  the receiving server would drop them;
* a cookie name is a token, a cookie value ASCII text without control characters or ``;`` (which
  would start another cookie);
* values may be strings, or numbers (written as ``str()`` writes them: ``1``, ``2.5``); ``bytes``
  are taken for headers as Ray's client takes them, if they are ASCII. ``None``, booleans and
  anything else are refused (Ray's client, through ``requests``, drops a ``None`` header, refuses
  a number in a header and fails with an ``AttributeError`` on a number in a cookie).
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Iterable, Mapping
from typing import Any

from .errors import InvalidArgumentError, InvalidArgumentTypeError

__all__ = [
    "LONGEST_WAIT",
    "check_bool",
    "check_callable",
    "check_cookies",
    "check_count",
    "check_headers",
    "check_optional_seconds",
    "check_seconds",
    "check_string_values",
    "checked_mapping",
]

_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
#: Control characters other than horizontal tab (RFC 9110 §5.5: CR, LF and NUL are dangerous, the
#: others invalid).
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
#: The longest wait ``time.sleep`` and socket timeouts take (about 292 years); longer ones raise
#: ``OverflowError`` when the wait begins.
LONGEST_WAIT = threading.TIMEOUT_MAX
#: Headers that frame a request: the client sets them for each request itself.
_FRAMING_HEADERS = frozenset({"content-length", "transfer-encoding"})


def check_seconds(parameter: str, value: object, *, zero_ok: bool = False) -> float:
    """``value`` as a number of seconds: a finite ``int`` or ``float`` (not a ``bool``), positive
    (or 0 when ``zero_ok``)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidArgumentTypeError(
            f"{parameter} must be a number of seconds, got {type(value)}", parameter=parameter
        )
    if not math.isfinite(value) or value < 0 or (value == 0 and not zero_ok):
        rule = "a finite number of seconds, 0 or more" if zero_ok else "a positive, finite number of seconds"
        raise InvalidArgumentError(f"{parameter} must be {rule}, got {value}", parameter=parameter)
    if value > LONGEST_WAIT:
        raise InvalidArgumentError(
            f"{parameter} must be at most {LONGEST_WAIT:.0f} seconds (the longest wait the platform can "
            f"time), got {value}",
            parameter=parameter,
        )
    return float(value)


def check_optional_seconds(parameter: str, value: object) -> float | None:
    """``None`` (no limit), or a positive number of seconds as :func:`check_seconds` takes it."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidArgumentTypeError(
            f"{parameter} must be a number of seconds or None, got {type(value)}", parameter=parameter
        )
    return check_seconds(parameter, value)


def check_count(parameter: str, value: object, *, minimum: int = 0) -> int:
    """``value`` as a whole number of at least ``minimum`` (not a ``bool``)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidArgumentTypeError(f"{parameter} must be an int, got {type(value)}", parameter=parameter)
    if value < minimum:
        raise InvalidArgumentError(f"{parameter} must be {minimum} or more, got {value}", parameter=parameter)
    return value


def check_bool(parameter: str, value: object) -> bool:
    """``value`` if it is a ``bool`` (``0`` or ``"yes"`` are refused: they are usually a mistake)."""
    if not isinstance(value, bool):
        raise InvalidArgumentTypeError(f"{parameter} must be a bool, got {type(value)}", parameter=parameter)
    return value


def check_callable(parameter: str, value: object) -> None:
    """``value`` must be ``None`` or callable (a callback called later, after requests were sent)."""
    if value is not None and not callable(value):
        raise InvalidArgumentTypeError(
            f"{parameter} must be a callable or None, got {type(value)}", parameter=parameter
        )


def check_headers(
    headers: Mapping[Any, Any] | Iterable[tuple[Any, Any]], *, parameter: str = "headers"
) -> dict[str, str]:
    """The headers as they will be sent (names as given, values as text), if every one is legal.

    ``headers`` may also be ``(name, value)`` pairs in which a name may repeat (an httpx client's
    own headers: a repeated header is sent as given, so only a mapping's repeats are refused)."""
    checked: dict[str, str] = {}
    seen: dict[str, str] = {}
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    for name, value in pairs:
        _check_name(parameter, "header", name)
        lowered = name.lower()
        if lowered in _FRAMING_HEADERS:
            raise InvalidArgumentError(
                f"{parameter}: the header {name!r} cannot be set: the client sets it for each request",
                parameter=parameter,
            )
        if lowered in seen and isinstance(headers, Mapping):
            raise InvalidArgumentError(
                f"{parameter}: {seen[lowered]!r} and {name!r} are the same header (names ignore case); "
                "give it once",
                parameter=parameter,
            )
        seen[lowered] = name
        text = _field_text(parameter, "header", name, value)
        checked[name] = text.strip(" \t")
    return checked


def check_cookies(cookies: Mapping[Any, Any], *, parameter: str = "cookies") -> dict[str, str]:
    """The cookies as they will be sent (values as text), if every one is legal."""
    checked: dict[str, str] = {}
    for name, value in cookies.items():
        _check_name(parameter, "cookie", name)
        if isinstance(value, bytes):
            raise InvalidArgumentTypeError(
                f"{parameter}: the value of cookie {name!r} must be a str, got {type(value)}",
                parameter=parameter,
            )
        text = _field_text(parameter, "cookie", name, value)
        if ";" in text:
            raise InvalidArgumentError(
                f"{parameter}: the value of cookie {name!r} holds a ';', which would start another "
                "cookie (percent-encode it)",
                parameter=parameter,
            )
        checked[name] = text
    return checked


def _check_name(parameter: str, kind: str, name: object) -> None:
    if not isinstance(name, str):
        raise InvalidArgumentTypeError(
            f"{parameter}: {kind} names must be strings, got {type(name)}", parameter=parameter
        )
    if not _TOKEN.fullmatch(name):
        raise InvalidArgumentError(
            f"{parameter}: {name!r} is not a valid {kind} name (letters, digits and !#$%&'*+-.^_`|~ "
            "only, at least one)",
            parameter=parameter,
        )


def _field_text(parameter: str, kind: str, name: str, value: object) -> str:
    """A header's or cookie's value as text, if it is legal; never quoted in a message."""
    where = f"{parameter}: the value of {kind} {name!r}"
    if isinstance(value, bytes):
        try:
            text = value.decode("ascii")
        except UnicodeDecodeError:
            raise InvalidArgumentError(
                f"{where} holds bytes that are not ASCII", parameter=parameter
            ) from None
    elif isinstance(value, str):
        text = value
    elif isinstance(value, int | float) and not isinstance(value, bool):
        if not math.isfinite(value):
            raise InvalidArgumentError(f"{where} is not a finite number", parameter=parameter)
        text = str(value)
    else:
        raise InvalidArgumentTypeError(
            f"{where} must be a str (or a number), got {type(value)}", parameter=parameter
        )
    control = _CONTROL.search(text)
    if control:
        what = {"\r": "a carriage return (CR)", "\n": "a line feed (LF)", "\x00": "a NUL byte"}.get(
            control.group(), f"the control character U+{ord(control.group()):04X}"
        )
        raise InvalidArgumentError(
            f"{where} holds {what} at position {control.start()}, which HTTP does not allow",
            parameter=parameter,
        )
    if not text.isascii():
        raise InvalidArgumentError(
            f"{where} holds a character that is not ASCII, which HTTP does not carry as text "
            "(percent- or base64-encode it)",
            parameter=parameter,
        )
    return text


def checked_mapping(parameter: str, value: object) -> Mapping[Any, Any] | None:
    """``value`` if it is ``None`` or a ``dict`` (Ray's client accepts only those)."""
    if value is not None and not isinstance(value, dict):
        raise InvalidArgumentTypeError(f"{parameter} must be a dict, got {type(value)}", parameter=parameter)
    return value


def check_string_values(parameter: str, value: Mapping[Any, Any]) -> None:
    """Every key and value of ``value`` is a ``str`` (job metadata)."""
    for key, item in value.items():
        if not isinstance(key, str):
            raise InvalidArgumentTypeError(
                f"{parameter} keys must be strings, got {type(key)}", parameter=parameter
            )
        if not isinstance(item, str):
            raise InvalidArgumentTypeError(
                f"{parameter} values must be strings, got {type(item)} for {key!r}", parameter=parameter
            )
