"""Canonical text forms and digests: the one place that says when two values are "equal".

The reconciler never compares Python objects read back from PostgreSQL with mapped values.
It turns every target column into a *canonical text*, once in SQL (for what the target
holds) and once in Python (for what the mapping says it should hold), with forms chosen so
that both sides produce the same bytes for the same stored value:

==============  =============================================  ================================
target type     SQL (what the target holds)                    Python (the mapped value)
==============  =============================================  ================================
uuid            ``x::text`` (lower-case, hyphenated)           ``str(UUID)``
text, varchar   ``x::text``                                    the string
bpchar          ``x::text`` (trailing blanks stripped)         ``rstrip(" ")``
int2/4/8        ``x::text``                                    ``str(int)``
numeric         ``trim_scale(x)::text`` (1.50 -> 1.5)          normalised ``Decimal``, no exponent
float4/8        ``x::float8::text`` (shortest round-trip)      PostgreSQL's float8out, emulated
bool            ``x::text`` (true/false)                       true/false
timestamptz     UTC wall clock, ISO, microseconds              ``astimezone(UTC)``, same format
timestamp       ISO, microseconds                              same format
date            ``YYYY-MM-DD``                                 ``date.isoformat()``
jsonb, json     ``x::jsonb::text`` (keys by length, bytes)     jsonb's output, emulated
bytea           ``encode(x, 'hex')``                           ``bytes.hex()``
enum            the label                                      the label
vector          float list (each float4 widened to float8)     float32-rounded, float8out
arrays          ``array_to_json(x)::text``                     the same JSON, emulated
other           ``x::text``                                    ``str(value)`` (best effort)
==============  =============================================  ================================

A row's canonical text is its fields joined by ``\\x1e``; NULL is ``\\N``; text-like fields
are prefixed with their length in UTF-8 bytes (``5:hello``) so that no content can fake a boundary. The
row hash is the first 64 bits of md5 of that text, as a signed bigint; a chunk digest is
(row count, XOR of row hashes), order-independent, computed by ``bit_xor`` in PostgreSQL,
``BIT_XOR`` in MySQL, or in Python. Pure module: no I/O.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import re
import struct
import uuid
from array import array
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from orjson import loads as _json_loads

from replicator.mapping.convert import has_negative_zero_int

NULL = "\\N"
SEP = "\x1e"
_UTC = dt.timezone.utc
TEXT_KINDS = frozenset({"text", "bpchar", "enum", "other"})
_EXACT_JSON_ELEMS = frozenset({"text", "bpchar", "enum", "uuid", "int", "bool", "float"})

CanonFn = Callable[[Any], "str | None"]


# --- kinds ------------------------------------------------------------------------------------

_BY_TYPNAME = {
    "uuid": "uuid", "text": "text", "varchar": "text", "citext": "text", "name": "text", "bpchar": "bpchar",
    "int2": "int", "int4": "int", "int8": "int", "oid": "int", "numeric": "numeric",
    "float4": "float4", "float8": "float", "bool": "bool", "timestamptz": "timestamptz",
    "timestamp": "timestamp", "date": "date", "json": "json", "jsonb": "jsonb", "bytea": "bytea",
    "vector": "vector", "halfvec": "halfvec",
}


def kind_of(typname: str, typtype: str = "b", elem: str | None = None) -> str:
    """The canonical kind of a PostgreSQL column type (pg_type.typname, typtype, element typname)."""
    if typtype == "e":
        return "enum"
    if elem is not None:
        inner = _BY_TYPNAME.get(elem, "text")
        if inner == "float4":
            inner = "float"
        return f"array:{inner}" if inner in _EXACT_JSON_ELEMS else "other"
    return _BY_TYPNAME.get(typname, "other")


# --- SQL side -----------------------------------------------------------------------------------


def sql_text(kind: str, col: str) -> str:
    """SQL expression giving the canonical text of column expression `col` (NULL stays NULL)."""
    if kind == "numeric":
        return f"trim_scale({col})::text"
    if kind in ("float", "float4"):
        return f"{col}::float8::text"
    if kind == "timestamptz":
        return f"to_char({col} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US')"
    if kind == "timestamp":
        return f"to_char({col}, 'YYYY-MM-DD\"T\"HH24:MI:SS.US')"
    if kind == "date":
        return f"to_char({col}, 'YYYY-MM-DD')"
    if kind == "json":
        return f"{col}::jsonb::text"
    if kind == "bytea":
        return f"encode({col}, 'hex')"
    if kind in ("vector", "halfvec"):
        return f"array_to_json({col}::vector::real[]::float8[])::text"
    if kind.startswith("array:"):
        return f"array_to_json({col}::float8[])::text" if kind == "array:float" else f"array_to_json({col})::text"
    return f"{col}::text"


def sql_field(kind: str, col: str) -> str:
    """The canonical field of a column in a row text: length-prefixed for text kinds, NULL as \\N."""
    e = sql_text(kind, col)
    if kind in TEXT_KINDS:
        e = f"octet_length({e})::text || ':' || {e}"
    return f"coalesce({e}, E'\\\\N')"


def sql_row_text(fields: Sequence[str]) -> str:
    return "concat_ws(E'\\x1e', " + ", ".join(fields) + ")" if len(fields) > 1 else fields[0]


def sql_row_hash(row_text_sql: str) -> str:
    return f"('x' || left(md5({row_text_sql}), 16))::bit(64)::bigint"


# MySQL, for plain copies pushed down to the source: only ints and character strings.
# "text:utf8" is a column already stored in UTF-8 (utf8mb4, utf8mb3, ascii): no conversion
def mysql_field(kind: str, col: str) -> str:
    if kind == "text:utf8":
        return f"COALESCE(CONCAT(LENGTH({col}), ':', {col}), '\\\\N')"
    if kind in TEXT_KINDS:
        e = f"CONVERT({col} USING utf8mb4)"
        return f"COALESCE(CONCAT(LENGTH({e}), ':', {e}), '\\\\N')"
    if kind == "int":
        return f"COALESCE(CAST({col} AS CHAR), '\\\\N')"
    raise ValueError(f"no MySQL canonical form for kind {kind}")


def mysql_row_hash(fields: Sequence[str]) -> str:
    text = "CONCAT_WS(CHAR(30), " + ", ".join(fields) + ")" if len(fields) > 1 else fields[0]
    # every field is already UTF-8 (text converted per column where needed, numbers ASCII)
    return f"CAST(CONV(LEFT(MD5({text}), 16), 16, 10) AS UNSIGNED)"


# --- the pushdown form: both databases hash a plain copy, nothing else reads it ---------------------
#
# When every compared column is an integer or character column copied as is, the two
# databases hash the same range and only the two digests are compared; Python never sees
# these texts (a range that differs is re-compared in the canonical form above). So this
# form only has to be identical in MySQL and PostgreSQL and injective, and is chosen to be
# cheap for MySQL, the slower side: per text column its UTF-8 byte length (-1 for NULL)
# and then the text itself (CONCAT_WS skips a NULL), per integer column its decimal text
# or \N. A parser reading lengths first can always tell where a text ends.


def push_fields_mysql(kind: str, col: str) -> list[str]:
    if kind == "int":
        return [f"COALESCE({col}, '\\\\N')"]
    e = col if kind == "text:utf8" else f"CONVERT({col} USING utf8mb4)"
    return [f"COALESCE(LENGTH({e}), -1)", e]


def push_fields_pg(kind: str, col: str) -> list[str]:
    if kind == "int":
        return [f"coalesce({col}::text, E'\\\\N')"]
    e = f"{col}::text"
    return [f"coalesce(octet_length({e}), -1)", e]


def push_row_hash_pg(fields: Sequence[str]) -> str:
    return sql_row_hash("concat_ws(E'\\x1e', " + ", ".join(fields) + ")")


# --- Python side ---------------------------------------------------------------------------------


def float8_text(f: float) -> str:
    """PostgreSQL's float8out (shortest round-trip digits; exponent form below 1e-4 or from 1e15)."""
    if f != f:
        return "NaN"
    if math.isinf(f):
        return "Infinity" if f > 0 else "-Infinity"
    if f == 0:
        return "-0" if math.copysign(1.0, f) < 0 else "0"
    sign, digits, exp = Decimal(repr(f)).as_tuple()
    ds = "".join(map(str, digits)).rstrip("0")
    exp += len(digits) - len(ds)
    n = len(ds)
    e10 = exp + n - 1
    if -4 <= e10 < 15:
        if exp >= 0:
            body = ds + "0" * exp
        elif e10 >= 0:
            body = ds[: e10 + 1] + "." + ds[e10 + 1:]
        else:
            body = "0." + "0" * (-e10 - 1) + ds
    else:
        body = ds[0] + ("." + ds[1:] if n > 1 else "") + "e" + ("-" if e10 < 0 else "+") + f"{abs(e10):02d}"
    return ("-" if sign else "") + body


def _f32(f: float) -> float:
    return struct.unpack("f", struct.pack("f", f))[0]


def _f16(f: float) -> float:
    return struct.unpack("e", struct.pack("e", f))[0]


def numeric_text(d: Decimal) -> str:
    """trim_scale(numeric)::text: no trailing zeros, no exponent, no negative zero."""
    if not d.is_finite():
        if d.is_nan():
            return "NaN"
        return "Infinity" if d > 0 else "-Infinity"
    if d.is_zero():
        return "0"
    # strip trailing fraction zeros by hand: normalize() would round to the context's 28 digits
    sign, digits, exp = d.as_tuple()
    n = len(digits)
    while exp < 0 and n > 1 and digits[n - 1] == 0:
        n -= 1
        exp += 1
    return format(Decimal((sign, digits[:n], exp)), "f")


def _json_number(f: float) -> str:
    # psycopg's Jsonb dumps with json.dumps (repr of a float); jsonb stores that text as a
    # numeric, which prints without exponent and keeps the scale the text implied
    s = format(Decimal(repr(f)), "f")
    return s[1:] if s.startswith("-") and Decimal(s).is_zero() else s


def _json_string(s: str) -> str:
    return json.dumps(s, ensure_ascii=False)


def _jsonb_key(k: str) -> tuple[int, bytes]:
    b = k.encode()
    return len(b), b


def jsonb_text(o: Any) -> str:
    """What PostgreSQL prints for a jsonb built from json.dumps(o): keys by (byte length, bytes)."""
    if o is None:
        return "null"
    if o is True:
        return "true"
    if o is False:
        return "false"
    if isinstance(o, str):
        return _json_string(o)
    if isinstance(o, int):
        return str(int(o))
    if isinstance(o, float):
        return _json_number(o)
    if isinstance(o, Decimal):
        return numeric_text(o) if o.is_finite() else str(o)
    if isinstance(o, dict):
        items = sorted(((str(k), v) for k, v in o.items()), key=lambda kv: _jsonb_key(kv[0]))
        return "{" + ", ".join(f"{_json_string(k)}: {jsonb_text(v)}" for k, v in items) + "}"
    if isinstance(o, (list, tuple)):
        return "[" + ", ".join(jsonb_text(v) for v in o) + "]"
    return _json_string(str(o))


def _unwrap_json(v: Any) -> Any:
    if hasattr(v, "obj"):  # psycopg Json/Jsonb wrap a Python object (a str there is a JSON string)
        return v.obj
    if isinstance(v, (str, bytes, bytearray)):  # JSON text, parsed by PostgreSQL on the way in
        return json.loads(v)
    return v


def _to_dt(v: Any) -> dt.datetime | None:
    if isinstance(v, dt.datetime):
        return v
    if isinstance(v, dt.date):
        return dt.datetime(v.year, v.month, v.day)
    if isinstance(v, str):
        try:
            return dt.datetime.fromisoformat(v)
        except ValueError:
            return None
    return None


def _c_text(v: Any) -> str:
    if type(v) is str:
        return v
    if isinstance(v, bool):
        return "t" if v else "f"  # psycopg's text dump of a bool
    return str(v)


def _c_bpchar(v: Any) -> str:
    return _c_text(v).rstrip(" ")


def _c_uuid(v: Any) -> str:
    if isinstance(v, uuid.UUID):
        return str(v)
    try:
        return str(uuid.UUID(str(v)))
    except ValueError:
        return str(v)


def _c_int(v: Any) -> str:
    if type(v) is int:
        return str(v)
    try:
        if isinstance(v, str):
            return str(int(v.strip()))
        if isinstance(v, (float, Decimal)) and v == int(v):
            return str(int(v))
        return str(int(v))
    except (ValueError, TypeError, OverflowError, InvalidOperation):
        return str(v)


def _c_numeric(v: Any) -> str:
    try:
        if isinstance(v, Decimal):
            return numeric_text(v)
        if isinstance(v, bool):
            return str(v)
        if isinstance(v, int):
            return str(v)
        if isinstance(v, float):
            return numeric_text(Decimal(repr(v)))
        return numeric_text(Decimal(str(v).strip()))
    except (InvalidOperation, ValueError):
        return str(v)


def _c_float(v: Any) -> str:
    try:
        return float8_text(float(v))
    except (TypeError, ValueError):
        return str(v)


def _c_float4(v: Any) -> str:
    try:
        return float8_text(_f32(float(v)))
    except (TypeError, ValueError, OverflowError):
        return str(v)


def _c_bool(v: Any) -> str:
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, str):
        return "true" if v.strip().lower() in ("t", "true", "1", "yes", "y", "on") else "false"
    return "true" if v else "false"


def _c_timestamptz(v: Any) -> str:
    d = _to_dt(v)
    if d is None:
        return str(v)
    if d.tzinfo is not None:
        d = d.astimezone(_UTC).replace(tzinfo=None)
    return d.isoformat(timespec="microseconds")


def _c_timestamp(v: Any) -> str:
    d = _to_dt(v)
    if d is None:
        return str(v)
    if d.tzinfo is not None:
        d = d.astimezone(_UTC).replace(tzinfo=None)
    return d.isoformat(timespec="microseconds")


def _c_date(v: Any) -> str:
    if isinstance(v, dt.datetime):
        return v.date().isoformat()
    if isinstance(v, dt.date):
        return v.isoformat()
    return str(v)


def _c_json(v: Any) -> str:
    try:
        return jsonb_text(_unwrap_json(v))
    except (ValueError, TypeError):
        return str(v)


def _c_bytea(v: Any) -> str:
    if isinstance(v, (bytes, bytearray, memoryview)):
        return bytes(v).hex()
    return str(v).encode().hex()


def _floats(v: Any) -> list[float]:
    if isinstance(v, str):
        inner = v.strip()[1:-1]
        return [float(x) for x in inner.split(",")] if inner.strip() else []
    return [float(x) for x in v]


def _c_vector(v: Any) -> str:
    fast = _vector_canon_in_c(v)
    if fast is not None:
        return fast
    return "[" + ",".join(float8_text(_f32(f)) for f in _floats(v)) + "]"


_INTEGRAL_SUFFIX = re.compile(r"\.0(?=,|$)")


def _vector_canon_in_c(v: Any) -> str | None:
    """`_c_vector` for the common case, element loops in C, or None (then the exact path).

    Why: the exact path costs about 9 ms for a 3072-dimension embedding, which makes a
    reconcile of 9.9M chunks a day of CPU. `array("f")` rounds each double to float4 as
    struct does; repr gives float8out's shortest digits and, for |x| < 1e15, its layout
    too (exponent form below 1e-4, as `1e-05`), except that it writes integral values as
    `3.0` where float8out writes `3`, which one substitution undoes. NaN, infinities (a
    double beyond float4), |x| >= 1e15 and text holding pgvector's "-0" (which JSON
    reads as the int 0) go the exact way. Held equal to it by a hypothesis test.
    """
    try:
        if isinstance(v, str):
            items = _json_loads(str(v))  # orjson takes no str subclass
            if type(items) is list and 0 in items and has_negative_zero_int(v):
                return None  # "-0" is the int 0 in JSON: the exact path keeps the sign
        else:
            items = v
        floats = array("f", items).tolist()
    except (TypeError, ValueError, OverflowError):
        return None
    if not floats or not math.isfinite(sum(floats)) or max(map(abs, floats)) >= 1e15:
        return None
    return "[" + _INTEGRAL_SUFFIX.sub("", ",".join(map(repr, floats))) + "]"


def _c_halfvec(v: Any) -> str:
    return "[" + ",".join(float8_text(_f16(f)) for f in _floats(v)) + "]"


def _array_fn(elem: str) -> CanonFn:
    def el(x: Any) -> str:
        if x is None:
            return "null"
        if isinstance(x, (list, tuple)):
            return "[" + ",".join(el(y) for y in x) + "]"
        if elem in ("text", "bpchar", "enum"):
            return _json_string(_c_text(x) if elem != "bpchar" else _c_bpchar(x))
        if elem == "uuid":
            return '"' + _c_uuid(x) + '"'
        if elem == "int":
            return _c_int(x)
        if elem == "bool":
            return _c_bool(x)
        return _c_float(x)

    def conv(v: Any) -> str:
        if isinstance(v, str):  # PostgreSQL array literal text is not emulated
            return v
        return "[" + ",".join(el(x) for x in v) + "]"
    return conv


_PY = {
    "uuid": _c_uuid, "text": _c_text, "bpchar": _c_bpchar, "int": _c_int, "numeric": _c_numeric,
    "float": _c_float, "float4": _c_float4, "bool": _c_bool, "timestamptz": _c_timestamptz,
    "timestamp": _c_timestamp, "date": _c_date, "json": _c_json, "jsonb": _c_json, "bytea": _c_bytea,
    "enum": _c_text, "vector": _c_vector, "halfvec": _c_halfvec, "other": _c_text,
}


def py_text(kind: str) -> Callable[[Any], str]:
    """The Python canonical-text function of a kind (call it on non-NULL values only)."""
    if kind.startswith("array:"):
        return _array_fn(kind.partition(":")[2])
    return _PY[kind]


def py_field_fn(kind: str) -> Callable[[Any], str]:
    """value -> canonical field (NULL marker, length prefix for text kinds)."""
    f = py_text(kind)
    if kind in TEXT_KINDS:
        def field(v: Any) -> str:
            if v is None:
                return NULL
            s = f(v)
            return f"{_octets(s)}:{s}"
    else:
        def field(v: Any) -> str:
            return NULL if v is None else f(v)
    return field


def _octets(s: str) -> int:
    return len(s) if s.isascii() else len(s.encode())


def row_text(fields: Sequence[str]) -> str:
    return SEP.join(fields)


def row_hash(text: str) -> int:
    """First 64 bits of md5(text) as a signed integer: the same number as sql_row_hash."""
    return int.from_bytes(hashlib.md5(text.encode()).digest()[:8], "big", signed=True)


def signed64(u: int) -> int:
    return u - (1 << 64) if u >= 1 << 63 else u


@dataclass
class Digest:
    """Order-independent digest of a set of rows: count and XOR of row hashes."""

    count: int = 0
    xor: int = 0

    def add(self, h: int) -> None:
        self.count += 1
        self.xor ^= h

    def merge(self, other: Digest) -> None:
        self.count += other.count
        self.xor ^= other.xor

    def as_tuple(self) -> tuple[int, int]:
        return self.count, self.xor


__all__ = ["Digest", "NULL", "SEP", "TEXT_KINDS", "float8_text", "jsonb_text", "kind_of", "mysql_field",
           "mysql_row_hash", "numeric_text", "py_field_fn", "py_text", "row_hash", "row_text", "signed64",
           "sql_field", "sql_row_hash", "sql_row_text", "sql_text"]


# --- the hot path: one generated function per feed -------------------------------------------------

_FAST = {
    # kind -> expression for the common Python type (guard, fast expression); anything else falls
    # back to the generic function. Results are identical to py_field_fn(kind)(v).
    "uuid": ("type(v) is _UUID", "str(v)"),
    "text": ("type(v) is str", "f'{len(v) if v.isascii() else len(v.encode())}:{v}'"),
    "enum": ("type(v) is str", "f'{len(v) if v.isascii() else len(v.encode())}:{v}'"),
    "int": ("type(v) is int", "str(v)"),
    "bool": ("v is True or v is False", "('true' if v else 'false')"),
    "timestamptz": ("type(v) is _DT and v.tzinfo is _UTC", "v.isoformat(timespec='microseconds')[:-6]"),
}


def compile_row_fields(columns: Sequence[str], kinds: Sequence[str]) -> Callable[[Any], list[str]]:
    """`values -> [canonical field per column]`, generated once per feed: the same results as
    calling py_field_fn per column, without a function call per value on the common types."""
    env: dict[str, Any] = {"_UUID": uuid.UUID, "_DT": dt.datetime, "_UTC": _UTC, "NULL": NULL}
    lines = ["def row_fields(values):", "    get = values.get", "    out = []", "    app = out.append"]
    for i, (col, kind) in enumerate(zip(columns, kinds)):
        env[f"_f{i}"] = py_field_fn(kind)
        lines.append(f"    v = get({col!r})")
        fast = _FAST.get(kind)
        if fast is None:
            lines.append(f"    app(_f{i}(v))")
        else:
            guard, expr = fast
            lines.append(f"    app(NULL if v is None else {expr} if {guard} else _f{i}(v))")
    lines.append("    return out")
    exec("\n".join(lines), env)  # noqa: S102 - code built from a fixed template, column names repr-quoted
    return env["row_fields"]
