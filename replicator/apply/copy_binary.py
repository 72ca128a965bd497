"""Choosing PostgreSQL's binary COPY format for a group of rows, when it is safe.

Binary COPY through psycopg's C dumpers (`Copy.set_types` + `write_row`) costs about a
third of encoding COPY text in Python, and PostgreSQL parses it faster too. But a binary
dumper is chosen by the *column's* type, so a value of another Python type (an int where
text is expected, a naive datetime for a timestamptz, an int too big for int4) fails on
the client in the middle of a COPY. So the binary format is used only when every value of
every column has a Python type that the column's binary dumper takes without question;
any other group goes as COPY text (copy_text.py), where PostgreSQL itself judges the
value and a refusal sends just that event to the dead-letter topic.
"""

from __future__ import annotations

import datetime as dt
import struct
import uuid
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from psycopg.abc import AdaptContext
from psycopg.adapt import Dumper, Transformer
from psycopg.pq import Format
from psycopg.types.json import Json, Jsonb

from replicator.mapping.convert import VectorText

try:
    # psycopg's own row formatter (C, with psycopg[binary]); called directly, a row costs
    # a third of Copy.write_row's Python wrapper around the same call
    from psycopg._copy_base import format_row_binary
except ImportError:  # pragma: no cover - another psycopg layout: Copy.write_row is used
    format_row_binary = None

try:
    # the apply path's C core (replicator/_fastmap.c, set up by apply/fastpath.py)
    from replicator._fastmap import binary_copy as _binary_copy
except ImportError:  # pragma: no cover - not built: psycopg's dumpers write every row
    _binary_copy = None

# PostgreSQL's binary COPY file format (documented with COPY): signature, flags, header
# extension length; then the tuples; then a -1 field count
SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x00"
TRAILER = b"\xff\xff"

NONE_TYPE = type(None)


class NaiveDatetime:
    """Marks a column holding a datetime without a time zone (never binary into timestamptz)."""


class BeyondInt4:
    """Marks a column holding an int outside int4's range. psycopg's binary int4 dumper
    does not refuse one: it wraps it (2**31 is written as -2**31)."""


class BeyondInt2:
    """Marks a column holding an int outside int2's range (wrapped the same way)."""


# PostgreSQL type name -> the Python types its binary dumper takes as they are. Narrow
# on purpose: float4 is left out (range), as are enums and arrays; int2 and int4 only
# when column_types saw every int within their range; of the extensions, pgvector.
BINARY_SAFE: dict[str, frozenset[type]] = {
    "uuid": frozenset({uuid.UUID}),
    "text": frozenset({str}),
    "varchar": frozenset({str}),
    "bool": frozenset({bool}),
    "int2": frozenset({int}),
    "int4": frozenset({int, BeyondInt2}),
    "int8": frozenset({int, BeyondInt2, BeyondInt4}),  # beyond int64, psycopg's dumper raises: a data error
    "float8": frozenset({float}),
    "numeric": frozenset({Decimal}),
    "timestamptz": frozenset({dt.datetime}),
    "date": frozenset({dt.date}),
    "bytea": frozenset({bytes}),
    "jsonb": frozenset({Jsonb}),
    "json": frozenset({Json}),
    # pgvector: an extension, so its oid differs per database (register_vector_binary)
    "vector": frozenset({VectorText}),
}


def register_vector_binary(context: AdaptContext, oid: int) -> None:
    """Let COPY write pgvector's `vector` (whose oid this database gave it) in binary:
    a VectorText carries its binary form already. Registered by oid only, so it is used
    where the column type is known (binary COPY), never to adapt a `%s` parameter."""

    class VectorBinaryDumper(Dumper):
        format = Format.BINARY

        def dump(self, obj: VectorText) -> bytes:
            return obj.binary

    VectorBinaryDumper.oid = oid
    context.adapters.register_dumper(None, VectorBinaryDumper)


def column_types(rows: Sequence[Sequence[Any]]) -> list[frozenset[type]]:
    """The set of Python types in each column of `rows`, plus the markers NaiveDatetime
    (a datetime without a time zone), BeyondInt4 and BeyondInt2 (an int outside the range)."""
    out = []
    for col in zip(*rows):
        types = set(map(type, col))
        if dt.datetime in types and any(type(v) is dt.datetime and v.tzinfo is None for v in col):
            types.add(NaiveDatetime)
        if int in types:
            ints = [v for v in col if type(v) is int]
            lo, hi = min(ints), max(ints)
            if lo < -2**31 or hi >= 2**31:
                types.add(BeyondInt4)
            if lo < -2**15 or hi >= 2**15:
                types.add(BeyondInt2)
        out.append(frozenset(types))
    return out


def binary_ok(pg_types: Sequence[str], types: Sequence[frozenset[type]]) -> bool:
    """True when every column's values fit its binary dumper. NULL is the same in every
    type, so a column of NULLs only is fine whatever its type."""
    if len(pg_types) != len(types):
        return False
    for pg_type, seen in zip(pg_types, types):
        values = seen - {NONE_TYPE}
        if values and not values <= BINARY_SAFE.get(pg_type, frozenset()):
            return False
    return True


def binary_payload(rows: Sequence[Sequence[Any]], positions: Sequence[Sequence[int]],
                   oids: Sequence[int], context: AdaptContext | None = None) -> bytes | None:
    """The whole binary COPY stream of `rows` plus each row's position (a bigint[] last
    column), or None when psycopg's row formatter is not available here. `context` (the
    connection) knows the dumpers of extension types (register_vector_binary)."""
    if _binary_copy is not None and (context is None or getattr(context, "info", None) is None
                                     or context.info.encoding == "utf-8"):
        # the common column types, written by the C core (text as UTF-8: the connection's
        # encoding); None: a type or value it does not write, psycopg's dumpers do
        data = _binary_copy(rows if type(rows) is list else list(rows),
                            positions if type(positions) is list else list(positions), list(oids[:-1]))
        if data is not None:
            return data
    return psycopg_payload(rows, positions, oids, context)


def psycopg_payload(rows: Sequence[Sequence[Any]], positions: Sequence[Sequence[int]],
                    oids: Sequence[int], context: AdaptContext | None = None) -> bytes | None:
    """`binary_payload` written by psycopg's dumpers, for every type they know."""
    if format_row_binary is None:
        return None
    tx = Transformer(context)
    tx.set_dumper_types(list(oids[:-1]), Format.BINARY)
    out = bytearray(SIGNATURE)
    count: bytes | None = None
    for row, pos in zip(rows, positions):
        # psycopg formats the row's own values; the position is appended here, since its
        # list dumper (Python) costs five times the rest of the row. The tuple's field
        # count, its first two bytes, is raised by one for it.
        start = len(out)
        format_row_binary(row, tx, out)
        if count is None:
            count = (len(row) + 1).to_bytes(2, "big")
        out[start:start + 2] = count
        out += int8_array_field(pos)
    out += TRAILER
    return bytes(out)


_INT8_OID = 20
_int8_array_structs: dict[int, struct.Struct] = {}
_INT8_ARRAY_2 = struct.Struct("!iiiiii" + "iq" * 2)
_INT8_ARRAY_3 = struct.Struct("!iiiiii" + "iq" * 3)


def int8_array_field(values: Sequence[int]) -> bytes:
    """One binary COPY field holding a one-dimensional bigint[] without NULLs: its length,
    then PostgreSQL's array_send layout (ndim, has-nulls flag, element type, then per
    dimension its size and lower bound 1, then per element its length 8 and the value)."""
    n = len(values)
    try:
        if n == 3:  # a MySQL position (file, pos, row): the common case, without building a list
            a, b, c = values
            return _INT8_ARRAY_3.pack(56, 1, 0, _INT8_OID, 3, 1, 8, a, 8, b, 8, c)
        if n == 2:  # a PostgreSQL position (commit lsn, lsn)
            a, b = values
            return _INT8_ARRAY_2.pack(44, 1, 0, _INT8_OID, 2, 1, 8, a, 8, b)
        st = _int8_array_structs.get(n)
        if st is None:
            st = _int8_array_structs[n] = struct.Struct("!iiiiii" + "iq" * n)
        return st.pack(20 + 12 * n, 1, 0, _INT8_OID, n, 1, *[x for v in values for x in (8, v)])
    except struct.error as exc:  # beyond int64: refused here as PostgreSQL would refuse it
        raise ValueError(f"source position {tuple(values)} does not fit bigint[]: {exc}") from None
