"""Unit tests for the binary-COPY decision (replicator/apply/copy_binary.py)."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st
from psycopg.adapt import PyFormat, Transformer
from psycopg.pq import Format
from psycopg.types.json import Jsonb

from replicator.apply.copy_binary import NaiveDatetime, binary_ok, column_types

UTC = dt.timezone.utc


def test_column_types_per_column_and_naive_datetimes_are_marked():
    rows = [(uuid.uuid4(), "a", dt.datetime(2024, 1, 1, tzinfo=UTC)),
            (uuid.uuid4(), None, dt.datetime(2024, 1, 1))]
    u, text, when = column_types(rows)
    assert u == {uuid.UUID} and text == {str, type(None)}
    assert when == {dt.datetime, NaiveDatetime}


def test_values_matching_their_columns_go_binary():
    rows = [(uuid.uuid4(), "a", True, 5, dt.datetime(2024, 1, 1, tzinfo=UTC), Decimal("1.5"), Jsonb({}), None)]
    assert binary_ok(["uuid", "text", "bool", "int8", "timestamptz", "numeric", "jsonb", "text"], column_types(rows))


def test_any_mismatch_sends_the_group_to_copy_text():
    def ok(pg_type, value):
        return binary_ok([pg_type], column_types([(value,)]))

    assert not ok("text", 5)  # an int for a text column: PostgreSQL should judge it, as text
    assert not ok("timestamptz", dt.datetime(2024, 1, 1))  # naive
    assert ok("int4", 5) and ok("int4", -2**31) and ok("int4", 2**31 - 1) and ok("int2", -2**15)
    assert not ok("int4", 2**31) and not ok("int4", -2**31 - 1)  # psycopg would wrap it: PostgreSQL judges
    assert not ok("int2", 2**15) and ok("int8", 2**40)
    assert not ok("int4", 5.0)  # a float for an int column
    assert not ok("float4", 1.5)  # range: left to PostgreSQL
    assert not ok("int8", True)  # a bool is not an int here
    assert not ok("app.status", "ACTIVE")  # enums and other types unknown to the table
    assert not ok("date", dt.datetime(2024, 1, 1, tzinfo=UTC))  # a datetime is not a date
    assert not ok("jsonb", {"k": 1})  # only psycopg's Jsonb wrapper
    assert ok("text", None) and ok("uuid", None) and ok("app.status", None)  # NULL is NULL in any type


@given(st.lists(st.one_of(st.none(), st.integers(min_value=-2**40, max_value=2**40)), min_size=1, max_size=20),
       st.sampled_from([(21, "int2"), (23, "int4")]))
def test_an_int_column_goes_binary_only_if_its_dumper_writes_it_as_it_is(values, pg_type):
    """The range check is the dumper's own truth: binary int2/int4 when, and only when,
    psycopg's binary dumper of that type gives back every value unchanged."""
    oid, name = pg_type
    tx = Transformer()
    tx.set_dumper_types([oid], Format.BINARY)
    ints = [v for v in values if v is not None]
    faithful = all(int.from_bytes(bytes(tx.dump_sequence([v], [PyFormat.BINARY])[0]), "big", signed=True) == v
                   for v in ints)
    assert binary_ok([name], column_types([(v,) for v in values])) == faithful


def test_a_column_count_mismatch_is_never_binary():
    assert not binary_ok(["uuid", "text"], column_types([(uuid.uuid4(),)]))


def test_the_position_field_is_what_psycopg_dumps_for_a_bigint_array():
    """int8_array_field equals psycopg's own binary dump of the same list (with its length)."""
    from replicator.apply.copy_binary import int8_array_field

    tx = Transformer()
    tx.set_dumper_types([1016], Format.BINARY)

    @given(st.lists(st.integers(-2**63, 2**63 - 1), min_size=1, max_size=4))
    def check(values):
        [dumped] = tx.dump_sequence([list(values)], [Format.BINARY])
        assert int8_array_field(values) == len(dumped).to_bytes(4, "big") + bytes(dumped)

    check()


def test_a_position_beyond_bigint_is_refused_with_its_value():
    import pytest

    from replicator.apply.copy_binary import int8_array_field

    with pytest.raises(ValueError, match="does not fit bigint"):
        int8_array_field((1, 2**64, 0))
