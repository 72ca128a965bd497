"""PostgreSQL COPY text encoding of Python values, for the sink's bulk path.

psycopg's `Copy.write_row` adapts every value through its dumper machinery (about 15 µs a
row for a dozen columns); the apply path's rows hold a handful of plain types, so encoding
them here and writing whole batches with `Copy.write` is several times cheaper. A type not
handled here raises `Unencodable`, and the caller falls back to `write_row` for that batch.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from collections.abc import Iterable
from typing import Any

from replicator.mapping.convert import VectorText

_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


class Unencodable(TypeError):
    """A value of a type this encoder does not know."""


def _text(v: str) -> str:
    # the common case has nothing to escape: skip the translate call
    if "\\" in v or "\t" in v or "\n" in v or "\r" in v:
        return v.translate(_ESCAPES)
    return v


def _json(v: Any) -> str:
    import orjson

    return _text(orjson.dumps(v.obj).decode())


def _bytes(v: bytes) -> str:
    return "\\\\x" + v.hex()


_ENCODERS = {
    str: _text,
    VectorText: _text,  # a str with its binary form beside: the text is what COPY text takes
    int: str,
    bool: lambda v: "t" if v else "f",
    float: repr,
    # 32 hex digits, which PostgreSQL's uuid input accepts: 3x cheaper than str(uuid)
    uuid.UUID: lambda v: "%032x" % v.int,
    Decimal: str,
    dt.datetime: dt.datetime.isoformat,
    dt.date: dt.date.isoformat,
    bytes: _bytes,
}


def encode_values(values: Iterable[Any]) -> str:
    """The COPY text fields of `values`, tab-separated, without the newline; None is \\N."""
    out = []
    append = out.append
    for v in values:
        t = type(v)
        if t is str:
            # the common case has nothing to escape: skip the translate call
            append(v.translate(_ESCAPES) if ("\\" in v or "\t" in v or "\n" in v or "\r" in v) else v)
        elif v is None:
            append("\\N")
        else:
            enc = _ENCODERS.get(t)
            if enc is None:
                if hasattr(v, "obj"):  # psycopg Json/Jsonb wrappers
                    append(_json(v))
                    continue
                raise Unencodable(t.__name__)
            append(enc(v))
    return "\t".join(out)


def encode_row(values: Iterable[Any]) -> str:
    """One COPY text line (with its newline) for `values`."""
    return encode_values(values) + "\n"
