"""COPY text encoding: what PostgreSQL's COPY FROM parses back to the same values."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import pytest
from psycopg.types.json import Jsonb

from replicator.apply.copy_text import Unencodable, encode_row


def test_plain_values():
    u = uuid.UUID("00a56e5d-0a0b-8e58-8000-000000000007")
    when = dt.datetime(2024, 3, 1, 10, 0, 0, 123000, tzinfo=dt.timezone.utc)
    line = encode_row(["a", 1, True, False, 1.5, u, Decimal("1.50"), when, dt.date(2024, 1, 2), None])
    assert line == ("a\t1\tt\tf\t1.5\t00a56e5d0a0b8e588000000000000007\t1.50\t"
                    "2024-03-01T10:00:00.123000+00:00\t2024-01-02\t\\N\n")


def test_text_escapes_the_copy_specials():
    assert encode_row(["a\tb\nc\\d\re"]) == "a\\tb\\nc\\\\d\\re\n"


def test_json_and_bytes():
    assert encode_row([Jsonb({"k": "tab\there"})]) == '{"k":"tab\\\\there"}\n'
    assert encode_row([b"\x00\xff"]) == "\\\\x00ff\n"


def test_unknown_types_are_refused_so_the_caller_falls_back():
    with pytest.raises(Unencodable):
        encode_row([object()])
