"""Value conversion: one Debezium JSON column value in, one Python value psycopg 3 can write out.

Debezium 3.x with the JsonConverter and ``schemas.enable=false`` sends row values without
their Connect schema, so the logical type of a column (timestamp in milliseconds? decimal
as base64? JSON as text?) cannot be read from the message. The mapping declares it instead,
as one ``kind`` from the closed vocabulary ``CONVERSION_KINDS`` plus a few per-column
options, and this module turns the raw value into the Python type the target column needs:

==============  ================================================  =========================
kind            accepts (as emitted by Debezium)                  returns
==============  ================================================  =========================
none            anything                                          the value unchanged
text            str and other scalars (not bytes/dict/list)       str
int             int, decimal-digit string, integral float         int
float           int, float, numeric string, Decimal               float
boolean         bool, int (TINYINT(1)), "true"/"false"/"1"/"0"    bool
timestamptz     epoch int in the source zone, ISO-8601 string     aware datetime in UTC
timestamp       epoch int (wall clock), ISO-8601 without offset   naive datetime
date            int days since epoch, "YYYY-MM-DD"                datetime.date
decimal         "1.50", float, base64 unscaled, {scale, value}    decimal.Decimal
json            JSON text, dict/list                              psycopg Jsonb
enum            str (optionally through a value map)              str
uint64          signed int64 (wraps), base64 unscaled             int in [0, 2**64)
bytes           base64 / base64-url-safe / hex text               bytes
uuid            UUID text                                         uuid.UUID
vector          list of numbers, "[1,2,3]"                        pgvector text "[1,2.5]"
                                                                  (a VectorText: also its
                                                                  binary form, for COPY)
==============  ================================================  =========================

``None`` always converts to ``None``. A value that does not fit its kind raises
``ConversionError`` (a ``ValueError``) whose message names the kind and a repr of the
value truncated to 80 characters, so that a bad row never floods the logs with its
payload. Options that are wrong in themselves (an unknown precision, a non-integer scale)
raise a plain ``ValueError`` from ``get_converter``, i.e. when the mapping is loaded.

Hot path: the mapping engine calls ``get_converter`` once per column when it loads the
mappings, then calls the returned one-argument function once per row. Everything that
depends only on (kind, tz, options) is decided at bind time; ``convert`` is a thin
convenience wrapper for one-off calls and tests.

Time zones: MySQL DATETIME (and PostgreSQL timestamp) values are emitted as the wall-clock
time encoded as if it were UTC. For ``timestamptz`` that wall clock is re-read in the
source zone ``tz``. A wall clock that does not exist (spring-forward gap) or exists twice
(fall-back overlap) in ``tz`` is resolved with zoneinfo's ``fold=0`` semantics: the offset
in force *before* the transition is used. In Europe/Berlin, 2024-03-31 02:30 (in the gap)
becomes 01:30 UTC and 2024-10-27 02:30 (in the overlap) becomes 00:30 UTC (the first,
summer-time occurrence).

All functions here are pure: no I/O, no clock, no mutable module state.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import math
import re
import reprlib
import struct
import uuid
from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta, timezone, tzinfo
from decimal import Decimal
from typing import Any, Literal, get_args

from orjson import dumps as _orjson_dumps
from orjson import loads as _orjson_loads

from replicator.mapping.inline import InlineCase

__all__ = [
    "CONVERSION_KINDS",
    "ConversionError",
    "ConversionKind",
    "Converter",
    "convert",
    "get_converter",
]

ConversionKind = Literal[
    "none",
    "text",
    "int",
    "float",
    "boolean",
    "timestamptz",
    "timestamp",
    "date",
    "decimal",
    "json",
    "enum",
    "uint64",
    "bytes",
    "uuid",
    "vector",
]

CONVERSION_KINDS: frozenset[str] = frozenset(get_args(ConversionKind))

Converter = Callable[[Any], Any]

# the longest repr of a value that may appear in an error message
_MAX_REPR = 80

_UTC = timezone.utc
_EPOCH = datetime(1970, 1, 1)
_EPOCH_UTC = datetime(1970, 1, 1, tzinfo=_UTC)
_from_timestamp = datetime.fromtimestamp
# |ms| below 2**42 (the years 1830 to 2109): a double holds ms / 1000 to within 0.49 us,
# so rounding to the microsecond gives the exact instant (a property test holds it)
_EXACT_FLOAT_MS = 2**42


_EPOCH_DATE = date(1970, 1, 1)
_ZERO_DATE_PREFIX = "0000-00-00"
_UINT64_LIMIT = 1 << 64
_INT64_MIN = -(1 << 63)

# debezium's string decimal mode prints BigDecimal.toPlainString(): optional minus, digits,
# optional fraction, never a plus or an exponent. anything looser (which Decimal() would
# accept: '+', exponents, underscores, spaces) could be a base64 payload instead.
_DECIMAL_TEXT = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")
_DECIMAL_SPECIALS = frozenset({"NaN", "Infinity", "+Infinity", "-Infinity"})
_INT_TEXT = re.compile(r"[+-]?[0-9]+")
# uuid.UUID() alone is too lenient (it lets int() swallow '_' and '+'), so validate first
_UUID_TEXT = re.compile(
    r"(?:urn:uuid:)?\{?[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?"
    r"[0-9a-fA-F]{12}\}?"
)
_BOOL_TEXT = {"true": True, "false": False, "1": True, "0": False}

_PRECISIONS = frozenset({"ms", "us", "ns"})
_DECIMAL_MODES = frozenset({"string", "double", "precise"})
_BYTES_ENCODINGS = frozenset({"base64", "hex", "base64-url-safe"})

_SHORT_REPR = reprlib.Repr()
_SHORT_REPR.maxstring = _MAX_REPR
_SHORT_REPR.maxother = _MAX_REPR
_SHORT_REPR.maxlist = _SHORT_REPR.maxtuple = _SHORT_REPR.maxdict = 8
_SHORT_REPR.maxlevel = 3


class ConversionError(ValueError):
    """A value does not fit the conversion kind of its column.

    The message says which kind failed, on what type, and why; the value's repr is cut to
    80 characters. ``kind`` is kept as an attribute; the value itself is not, so that the
    exception never carries a row payload around.
    """

    def __init__(self, message: str, *, kind: str | None = None) -> None:
        super().__init__(message)
        self.kind = kind


def _short(value: Any) -> str:
    # slice long strings before repr so an error about a 10 mb blob stays cheap
    if isinstance(value, (str, bytes, bytearray)) and len(value) > _MAX_REPR:
        value = value[: _MAX_REPR + 1]
    text = _SHORT_REPR.repr(value)
    if len(text) > _MAX_REPR:
        text = text[: _MAX_REPR - 3] + "..."
    return text


def _fail(kind: str, value: Any, reason: str) -> ConversionError:
    return ConversionError(
        f"cannot convert {type(value).__name__} {_short(value)} to {kind}: {reason}", kind=kind
    )


def _is_int(value: Any) -> bool:
    # bool is a subclass of int, but a bool where a number is expected is a mapping bug
    return type(value) is int or (isinstance(value, int) and not isinstance(value, bool))


def _opt_int(options: Mapping[str, Any], name: str, kind: str) -> int | None:
    raw = options.get(name)
    if raw is None:
        return None
    if not _is_int(raw):
        raise ValueError(f"{kind}: option {name!r} must be an integer, got {_short(raw)}")
    return int(raw)


def _opt_choice(
    options: Mapping[str, Any], name: str, allowed: frozenset[str], default: str | None, kind: str
) -> str | None:
    raw = options.get(name, default)
    if raw is not None and raw not in allowed:
        raise ValueError(f"{kind}: option {name!r} must be one of {sorted(allowed)}, got {raw!r}")
    return raw


def _b64decode(text: str) -> bytes:
    # validate=True: a stray character must fail loudly instead of being skipped
    return base64.b64decode(text, validate=True)


def _b64url_decode(text: str) -> bytes:
    # b64decode maps the altchars but still lets '+' and '/' through; in a url-safe payload
    # they mean the connector's binary.handling.mode is not what the mapping says
    if "+" in text or "/" in text:
        raise ValueError("'+' or '/' in url-safe base64")
    # tolerate missing padding, which url-safe producers often drop
    return base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)


# --- none / text / numbers / boolean ------------------------------------------------------


def _make_none(tz: tzinfo | None, options: Mapping[str, Any]) -> Converter:
    def conv(value: Any) -> Any:
        return value

    return conv


def _make_text(tz: tzinfo | None, options: Mapping[str, Any]) -> Converter:
    # postgresql text cannot hold nul characters (mysql varchar can); fail here with a clear
    # message unless the mapping opts into dropping them
    strip_nul = bool(options.get("strip_nul", False))

    def conv(value: Any) -> Any:
        if value is None:
            return None
        if type(value) is not str:
            if isinstance(value, (bytes, bytearray, memoryview)):
                raise _fail("text", value, "binary data is not text (use the 'bytes' kind)")
            if isinstance(value, (dict, list, tuple, set)):
                raise _fail("text", value, "a structured value is not text (use 'json')")
            if isinstance(value, bool):
                # spelled like postgresql's bool::text, not python's str(True)
                return "true" if value else "false"
            value = str(value)
        if "\x00" in value:
            if strip_nul:
                return value.replace("\x00", "")
            raise _fail("text", value, "contains a NUL character, which postgresql text rejects")
        return value

    return conv


def _make_int(tz: tzinfo | None, options: Mapping[str, Any]) -> Converter:
    def conv(value: Any) -> Any:
        if value is None:
            return None
        if type(value) is int:
            return value
        if isinstance(value, bool):
            raise _fail("int", value, "a boolean is not an integer")
        if isinstance(value, int):
            return int(value)
        if isinstance(value, str):
            text = value.strip()
            if _INT_TEXT.fullmatch(text):
                return int(text)
            raise _fail("int", value, "not a decimal integer")
        if isinstance(value, float):
            # accept 3.0 but never truncate 3.5 silently
            if value.is_integer():
                return int(value)
            raise _fail("int", value, "not an integral number")
        if isinstance(value, Decimal):
            if value.is_finite() and value == value.to_integral_value():
                return int(value)
            raise _fail("int", value, "not an integral number")
        raise _fail("int", value, "unsupported type")

    return conv


def _make_float(tz: tzinfo | None, options: Mapping[str, Any]) -> Converter:
    def conv(value: Any) -> Any:
        if value is None:
            return None
        if type(value) is float:
            return value
        if isinstance(value, bool):
            raise _fail("float", value, "a boolean is not a number")
        if isinstance(value, (int, float, Decimal, str)):
            try:
                return float(value)
            except (ValueError, OverflowError) as exc:
                raise _fail("float", value, str(exc)) from None
        raise _fail("float", value, "unsupported type")

    return conv


def _make_boolean(tz: tzinfo | None, options: Mapping[str, Any]) -> Converter:
    def conv(value: Any) -> Any:
        if type(value) is int:
            # mysql tinyint(1): any nonzero value is true, as in mysql itself
            return value != 0
        if value is None:
            return None
        if value is True or value is False:
            return value
        if _is_int(value):
            return value != 0
        if isinstance(value, str):
            found = _BOOL_TEXT.get(value.strip().lower())
            if found is not None:
                return found
            raise _fail("boolean", value, "expected true/false/1/0")
        raise _fail("boolean", value, "unsupported type")

    conv.inline = InlineCase("type({v}) is int", "{v} != 0", {}, "int_nonzero")  # type: ignore[attr-defined]
    return conv


# --- date and time -------------------------------------------------------------------------


def _epoch_to_micros(options: Mapping[str, Any], kind: str) -> Callable[[int], int]:
    precision = _opt_choice(options, "precision", _PRECISIONS, "ms", kind)
    if precision == "ms":
        return lambda v: v * 1000
    if precision == "us":
        return lambda v: v
    # python datetimes stop at microseconds; floor (not truncate toward zero) keeps
    # pre-1970 instants on the right side of the second
    return lambda v: v // 1000


def _parse_iso(kind: str, value: str) -> datetime:
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise _fail(kind, value, "not an ISO-8601 date-time") from None


def _make_timestamptz(tz: tzinfo | None, options: Mapping[str, Any]) -> Converter:
    to_micros = _epoch_to_micros(options, "timestamptz")
    zero_as_null = bool(options.get("zero_as_null", True))
    # in utc the wall clock is the instant, so skip the zone round trip
    source_is_utc = tz is not None and (tz is _UTC or getattr(tz, "key", None) in ("UTC", "Etc/UTC"))

    def from_wall_clock(value: Any, wall: datetime) -> datetime:
        if tz is None:
            raise _fail("timestamptz", value, "a wall-clock value needs the source time zone")
        try:
            # replace() leaves fold=0: gaps and overlaps resolve to the pre-transition offset
            return wall.replace(tzinfo=tz).astimezone(_UTC)
        except (OverflowError, ValueError) as exc:
            raise _fail("timestamptz", value, f"out of range ({exc})") from None

    # the common case (a UTC source, epoch milliseconds, not zero) in one step: the
    # general path below gives the same instant (a unit test holds them equal)
    utc_millis = source_is_utc and _opt_choice(options, "precision", _PRECISIONS, "ms", "timestamptz") == "ms"

    def conv(value: Any) -> Any:
        if utc_millis and type(value) is int and value:
            if -_EXACT_FLOAT_MS < value < _EXACT_FLOAT_MS:
                # value / 1000 is within half a microsecond of the instant here, and
                # fromtimestamp rounds to the nearest microsecond: the exact instant,
                # in 0.6 us against 1.1 us for the timedelta sum (two per users row)
                return _from_timestamp(value / 1000, _UTC)
            try:
                return _EPOCH_UTC + timedelta(0, 0, 0, value)
            except OverflowError:
                pass  # the general path reports it
        if source_is_utc and type(value) is datetime and value.tzinfo is None:
            return value.replace(tzinfo=_UTC)  # a UTC wall clock is the instant (reconcile reads these)
        if value is None:
            return None
        if _is_int(value):
            if value == 0 and zero_as_null:
                # debezium emits epoch 0 for a mysql zero datetime in a not-null column
                return None
            if tz is None:
                raise _fail("timestamptz", value, "an epoch wall-clock value needs the source time zone")
            try:
                micros = timedelta(microseconds=to_micros(value))
                if source_is_utc:
                    return _EPOCH_UTC + micros
                wall = _EPOCH + micros
            except OverflowError:
                raise _fail("timestamptz", value, "out of range") from None
            return from_wall_clock(value, wall)
        if isinstance(value, str):
            if zero_as_null and value.startswith(_ZERO_DATE_PREFIX):
                return None
            parsed = _parse_iso("timestamptz", value)
        elif isinstance(value, datetime):
            parsed = value
        else:
            raise _fail("timestamptz", value, "unsupported type")
        if parsed.tzinfo is None:
            return from_wall_clock(value, parsed)
        try:
            return parsed.astimezone(_UTC)
        except (OverflowError, ValueError) as exc:
            raise _fail("timestamptz", value, f"out of range ({exc})") from None

    if utc_millis:
        # conv's first branch, for the generated mapping code to evaluate in place
        conv.inline = InlineCase("type({v}) is int and {v} and {EXACT_NEG} < {v} < {EXACT}",  # type: ignore[attr-defined]
                                 "{fromtimestamp}({v} / 1000, {UTC})",
                                 {"EXACT": _EXACT_FLOAT_MS, "EXACT_NEG": -_EXACT_FLOAT_MS,
                                  "fromtimestamp": _from_timestamp, "UTC": _UTC}, "epoch_ms")
    return conv


def _make_timestamp(tz: tzinfo | None, options: Mapping[str, Any]) -> Converter:
    to_micros = _epoch_to_micros(options, "timestamp")
    zero_as_null = bool(options.get("zero_as_null", True))

    def conv(value: Any) -> Any:
        if value is None:
            return None
        if _is_int(value):
            if value == 0 and zero_as_null:
                return None
            try:
                return _EPOCH + timedelta(microseconds=to_micros(value))
            except OverflowError:
                raise _fail("timestamp", value, "out of range") from None
        if isinstance(value, str):
            if zero_as_null and value.startswith(_ZERO_DATE_PREFIX):
                return None
            parsed = _parse_iso("timestamp", value)
        elif isinstance(value, datetime):
            parsed = value
        else:
            raise _fail("timestamp", value, "unsupported type")
        if parsed.tzinfo is not None:
            # dropping an offset silently would shift the instant; that column wants timestamptz
            raise _fail("timestamp", value, "has a UTC offset (use the 'timestamptz' kind)")
        return parsed

    return conv


def _make_date(tz: tzinfo | None, options: Mapping[str, Any]) -> Converter:
    zero_as_null = bool(options.get("zero_as_null", True))

    def conv(value: Any) -> Any:
        if value is None:
            return None
        if _is_int(value):
            # io.debezium.time.Date: days since 1970-01-01
            try:
                return _EPOCH_DATE + timedelta(days=value)
            except OverflowError:
                raise _fail("date", value, "out of range") from None
        if isinstance(value, str):
            if zero_as_null and value.startswith(_ZERO_DATE_PREFIX):
                return None
            try:
                return date.fromisoformat(value)
            except ValueError:
                raise _fail("date", value, "not an ISO-8601 date") from None
        if isinstance(value, date) and not isinstance(value, datetime):
            return value
        raise _fail("date", value, "unsupported type")

    return conv


# --- decimal / uint64 ----------------------------------------------------------------------


def _unscaled_to_decimal(unscaled: int, scale: int) -> Decimal:
    # built from text, not Decimal(unscaled).scaleb(-scale): scaleb rounds to the context
    # precision (28 digits) and would corrupt wide numeric(38, s) values
    return Decimal(f"{unscaled}E{-scale}")


def _make_decimal(tz: tzinfo | None, options: Mapping[str, Any]) -> Converter:
    scale = _opt_int(options, "scale", "decimal")
    # the connector's decimal.handling.mode; unset means "guess from the value's type"
    mode = _opt_choice(options, "mode", _DECIMAL_MODES, None, "decimal")

    def precise(value: Any, text: Any, value_scale: int | None) -> Decimal:
        if value_scale is None:
            raise _fail("decimal", value, "a precise (base64) decimal needs options['scale']")
        if not isinstance(text, str) or not text:
            raise _fail("decimal", value, "expected a non-empty base64 string")
        try:
            raw = _b64decode(text)
        except (binascii.Error, ValueError):
            raise _fail("decimal", value, "neither a decimal number nor base64") from None
        # kafka connect's Decimal: BigInteger.toByteArray(), big-endian two's complement
        return _unscaled_to_decimal(int.from_bytes(raw, "big", signed=True), value_scale)

    def from_text(value: str) -> Decimal:
        if mode != "precise":
            if _DECIMAL_TEXT.fullmatch(value):
                # debezium's string mode prints every fraction digit of a fixed-scale column,
                # so bare digits under a positive scale can only be a base64 payload that
                # happens to be all digits (b'\xd7m\xf8' is '1234'); an explicit mode wins.
                # a leading '-' cannot be base64, so "-5" stays a number
                if mode is None and scale is not None and scale > 0 and value.isdigit():
                    return precise(value, value, scale)
                return Decimal(value)
            if value in _DECIMAL_SPECIALS:
                # postgresql numeric nan/infinity, sent as text in string and double modes
                return Decimal(value)
            if mode is not None:
                raise _fail("decimal", value, f"not a decimal number ({mode} mode)")
        return precise(value, value, scale)

    def conv(value: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, str):
            return from_text(value)
        if isinstance(value, bool):
            raise _fail("decimal", value, "a boolean is not a number")
        if isinstance(value, Decimal):
            return value
        if isinstance(value, int):
            return Decimal(value)
        if isinstance(value, float):
            # double mode: repr is the shortest text that round-trips, so 1.1 stays 1.1
            return Decimal(repr(value))
        if isinstance(value, Mapping):
            # io.debezium.data.VariableScaleDecimal: {"scale": s, "value": "<base64>"}
            value_scale = value.get("scale")
            if not _is_int(value_scale):
                raise _fail("decimal", value, "variable-scale decimal needs an integer 'scale'")
            return precise(value, value.get("value"), value_scale)
        raise _fail("decimal", value, "unsupported type")

    return conv


def _make_uint64(tz: tzinfo | None, options: Mapping[str, Any]) -> Converter:
    def conv(value: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, bool):
            raise _fail("uint64", value, "a boolean is not a number")
        if isinstance(value, int):
            if 0 <= value < _UINT64_LIMIT:
                return int(value)
            if _INT64_MIN <= value < 0:
                # bigint.unsigned.handling.mode=long: java's long wrapped values >= 2**63
                return int(value) + _UINT64_LIMIT
            raise _fail("uint64", value, "outside the signed and unsigned 64-bit ranges")
        if isinstance(value, str):
            # bigint.unsigned.handling.mode=precise: Decimal with scale 0, base64 bytes
            try:
                raw = _b64decode(value)
            except (binascii.Error, ValueError):
                raise _fail("uint64", value, "not base64") from None
            if not raw:
                raise _fail("uint64", value, "empty payload")
            # read unsigned: java adds a 0x00 sign byte for values with the top bit set, and
            # an unsigned reading accepts both that and a producer that omits it
            result = int.from_bytes(raw, "big", signed=False)
            if result >= _UINT64_LIMIT:
                raise _fail("uint64", value, "does not fit in 64 bits")
            return result
        if isinstance(value, Decimal):
            if value.is_finite() and value == value.to_integral_value() and 0 <= value < _UINT64_LIMIT:
                return int(value)
            raise _fail("uint64", value, "not an integer in [0, 2**64)")
        raise _fail("uint64", value, "unsupported type")

    return conv


# --- json / enum ---------------------------------------------------------------------------


def _reject_constant(name: str) -> Any:
    # python's json accepts NaN/Infinity, postgresql jsonb does not
    raise ValueError(f"{name} is not valid JSON")


def _json_problem(obj: Any) -> str | None:
    """Find what jsonb would refuse in an already-parsed value (nul in text, nan, infinity)."""
    stack = [obj]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return "contains a NUL character, which postgresql jsonb rejects"
        elif isinstance(item, float):
            if not math.isfinite(item):
                return "contains NaN or Infinity, which postgresql jsonb rejects"
        elif isinstance(item, dict):
            for key, member in item.items():
                stack.append(key)
                stack.append(member)
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
    return None


def _make_json(tz: tzinfo | None, options: Mapping[str, Any]) -> Converter:
    # lazy so that importing the mapping vocabulary does not need a database driver
    from psycopg.types.json import Json, Jsonb

    def conv(value: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, str):
            try:
                obj = json.loads(value, parse_constant=_reject_constant)
            except (ValueError, RecursionError) as exc:
                raise _fail("json", value, f"invalid JSON ({str(exc)[:60]})") from None
            # only walk the tree when the text can hold a nul at all
            if "\\u0000" in value:
                problem = _json_problem(obj)
                if problem:
                    raise _fail("json", value, problem)
            return Jsonb(obj)
        if isinstance(value, Jsonb):
            return value
        if isinstance(value, Json):
            return Jsonb(value.obj)
        if isinstance(value, (dict, list, int, float)):
            # already parsed (bool is an int here, and a valid json scalar)
            problem = _json_problem(value)
            if problem:
                raise _fail("json", value, problem)
            return Jsonb(value)
        raise _fail("json", value, "unsupported type")

    return conv


_NO_DEFAULT = object()


def _make_enum(tz: tzinfo | None, options: Mapping[str, Any]) -> Converter:
    values = options.get("values")
    if values is not None and not isinstance(values, Mapping):
        raise ValueError(f"enum: option 'values' must be a mapping, got {type(values).__name__}")
    # "default" present (even as None) means unknown values map to it instead of failing
    default = options.get("default", _NO_DEFAULT)

    if values is None:

        def passthrough(value: Any) -> Any:
            if value is None or isinstance(value, str):
                return value
            raise _fail("enum", value, "expected a string label")

        return passthrough

    def conv(value: Any) -> Any:
        if value is None:
            return None
        try:
            return values[value]
        except KeyError:
            pass
        except TypeError:
            raise _fail("enum", value, "unhashable value") from None
        if not isinstance(value, str):
            # yaml maps may key numeric source codes as strings ("1": active)
            found = values.get(str(value), _NO_DEFAULT)
            if found is not _NO_DEFAULT:
                return found
        if default is not _NO_DEFAULT:
            return default
        raise _fail("enum", value, "value is not in the enum's value map")

    return conv


# --- bytes / uuid / vector -----------------------------------------------------------------


def _make_bytes(tz: tzinfo | None, options: Mapping[str, Any]) -> Converter:
    encoding = _opt_choice(options, "encoding", _BYTES_ENCODINGS, "base64", "bytes")
    decode: Callable[[str], bytes]
    if encoding == "hex":
        decode = bytes.fromhex
    elif encoding == "base64-url-safe":
        decode = _b64url_decode
    else:
        decode = _b64decode

    def conv(value: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, str):
            try:
                return decode(value)
            except (binascii.Error, ValueError):
                raise _fail("bytes", value, f"not valid {encoding}") from None
        if isinstance(value, (bytes, bytearray, memoryview)):
            return bytes(value)
        raise _fail("bytes", value, "unsupported type")

    return conv


def _make_uuid(tz: tzinfo | None, options: Mapping[str, Any]) -> Converter:
    def conv(value: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, uuid.UUID):
            return value
        if isinstance(value, str):
            if _UUID_TEXT.fullmatch(value):
                try:
                    return uuid.UUID(value)
                except ValueError:
                    pass
            raise _fail("uuid", value, "not a UUID")
        raise _fail("uuid", value, "unsupported type")

    return conv


def _make_vector(tz: tzinfo | None, options: Mapping[str, Any]) -> Converter:
    dimensions = _opt_int(options, "dimensions", "vector")
    if dimensions is not None and dimensions <= 0:
        raise ValueError(f"vector: option 'dimensions' must be positive, got {dimensions}")

    def conv(value: Any) -> Any:
        if value is None:
            return None
        # the fast paths: Debezium's JSON array of doubles, and pgvector's own text (what
        # the reconciler reads from a legacy PostgreSQL), which is a JSON array too
        items = value
        if isinstance(value, str):
            try:
                items = _orjson_loads(str(value))  # orjson takes no str subclass
            except ValueError:
                items = None
            if type(items) is list and 0 in items and has_negative_zero_int(value):
                items = None  # the general path keeps the sign
        if type(items) is list and (dimensions is None or len(items) == dimensions):
            fast = _vector_text_of_numbers(items)
            if fast is not None:
                return fast
        if isinstance(value, str):
            text = value.strip()
            if len(text) < 2 or text[0] != "[" or text[-1] != "]":
                raise _fail("vector", value, "expected '[x,y,...]'")
            inner = text[1:-1]
            items: Any = inner.split(",") if inner.strip() else []
        elif isinstance(value, (list, tuple)):
            items = value
        else:
            raise _fail("vector", value, "unsupported type (sparse vectors are not supported)")
        if not items:
            raise _fail("vector", value, "a vector needs at least one dimension")
        if dimensions is not None and len(items) != dimensions:
            raise _fail("vector", value, f"has {len(items)} dimensions, expected {dimensions}")
        try:
            floats = [_vector_element(item) for item in items]
        except (TypeError, ValueError, OverflowError) as exc:
            raise _fail("vector", value, str(exc)[:60]) from None
        # repr is the shortest text that round-trips each float
        return "[" + ",".join(map(repr, floats)) + "]"

    return conv


_NUMBER_BYTES = b"0123456789.-+eE,"
_NEGATIVE_ZERO_INT = re.compile(r"-0+(?![0-9.eE])")


def has_negative_zero_int(text: str) -> bool:
    """True when a JSON array's text holds "-0" as an integer token: pgvector prints
    negative zero that way, and JSON reads it as the int 0, losing the sign."""
    return _NEGATIVE_ZERO_INT.search(text) is not None


class VectorText(str):
    """pgvector's text of a vector, carrying its binary form too (`binary`: what pgvector's
    `vector_recv` reads: int16 dimensions, int16 0, then big-endian float4s).

    A str, so everything that reads or compares text (COPY text, the reconciler, explain)
    takes it as it is; the sink COPYs a column of these in PostgreSQL's binary format,
    where PostgreSQL reads 4 bytes a dimension instead of parsing a number (measured on
    3072-dimension embeddings: see docs/architecture.md). The float4 is the double rounded
    to nearest, which is also what the reconciler's canonical form of a vector does.
    """

    binary: bytes


@functools.lru_cache(maxsize=64)
def _vector_struct(dimensions: int) -> struct.Struct:
    return struct.Struct(f">hh{dimensions}f")


def _vector_text_of_numbers(items: list[Any]) -> str | None:
    """The pgvector text of a non-empty list of finite ints and floats, formatted in C, or
    None when the list holds anything else (the general path then decides and explains).

    Why: Debezium writes an embedding as a JSON array of doubles, and formatting its 3072
    elements one by one in Python costs about 1.3 ms, against 0.07 ms here. orjson writes
    each float as its shortest round-tripping text (ints as ints, which pgvector reads the
    same way), and writes NaN and infinities as null: so when nothing but digits, signs,
    points, exponents and commas sits between the brackets, every element was a finite
    number and the text holds exactly its value.
    """
    if not items:
        return None
    try:
        text = _orjson_dumps(items)
    except (TypeError, ValueError):  # an int beyond 64 bits, a Decimal, a float subclass...
        return None
    if text.translate(None, _NUMBER_BYTES) != b"[]":
        return None
    try:
        binary = _vector_struct(len(items)).pack(len(items), 0, *items)
    except (struct.error, OverflowError):  # beyond float4 or 32767 dimensions: PostgreSQL judges the text
        return text.decode("ascii")
    out = VectorText(text.decode("ascii"))
    out.binary = binary
    return out


def _vector_element(item: Any) -> float:
    if type(item) is float:
        number = item
    elif isinstance(item, bool) or not isinstance(item, (int, float, Decimal, str)):
        raise TypeError(f"element {_short(item)} is not a number")
    else:
        number = float(item)
    if not math.isfinite(number):
        # pgvector rejects nan and infinite elements
        raise ValueError("NaN and infinite elements are not allowed")
    return number


# --- dispatch ------------------------------------------------------------------------------

_FACTORIES: Mapping[str, Callable[[tzinfo | None, Mapping[str, Any]], Converter]] = {
    "none": _make_none,
    "text": _make_text,
    "int": _make_int,
    "float": _make_float,
    "boolean": _make_boolean,
    "timestamptz": _make_timestamptz,
    "timestamp": _make_timestamp,
    "date": _make_date,
    "decimal": _make_decimal,
    "json": _make_json,
    "enum": _make_enum,
    "uint64": _make_uint64,
    "bytes": _make_bytes,
    "uuid": _make_uuid,
    "vector": _make_vector,
}

assert frozenset(_FACTORIES) == CONVERSION_KINDS

_EMPTY_OPTIONS: Mapping[str, Any] = {}


def get_converter(
    kind: str, *, tz: tzinfo | None = None, options: Mapping[str, Any] | None = None
) -> Converter:
    """Bind (kind, tz, options) once and return the one-argument converter for the hot path.

    ``tz`` is the source database's time zone (a ``zoneinfo.ZoneInfo``; any ``tzinfo``
    works); only the time kinds use it. Raises ``ValueError`` for an unknown kind or an
    invalid option, so a bad mapping fails when it is loaded rather than on the first row.
    """
    factory = _FACTORIES.get(kind)
    if factory is None:
        raise ValueError(f"unknown conversion kind {kind!r}; expected one of {sorted(CONVERSION_KINDS)}")
    return factory(tz, options if options is not None else _EMPTY_OPTIONS)


# converters without tz or options, bound once so convert() skips the factory call
_DEFAULT_CONVERTERS: Mapping[str, Converter] = {kind: get_converter(kind) for kind in _FACTORIES}


def convert(
    kind: str,
    value: Any,
    *,
    tz: tzinfo | None = None,
    options: Mapping[str, Any] | None = None,
) -> Any:
    """Convert one value; see the module docstring for what each kind accepts.

    Convenience for one-off calls: per-row code should hold on to ``get_converter``'s result.
    """
    if tz is None and not options:
        conv = _DEFAULT_CONVERTERS.get(kind)
        if conv is not None:
            return conv(value)
    return get_converter(kind, tz=tz, options=options)(value)
