"""Canonical text forms (pure): the Python side must print exactly what PostgreSQL prints
for the same stored value. The expected strings here were read from PostgreSQL 18; the
integration test re-checks a wider matrix against the live server."""

from __future__ import annotations

import datetime as dt
import math
import uuid
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from psycopg.types.json import Jsonb

from replicator.reconcile import digest as dg


@pytest.mark.parametrize("value,text", [
    (1e15, "1e+15"), (1e14, "100000000000000"), (123456789012345.6, "123456789012345.6"),
    (1234567890123456.7, "1.2345678901234568e+15"), (0.0001, "0.0001"), (0.00001, "1e-05"), (1.5e-5, "1.5e-05"),
    (100.0, "100"), (-0.0, "-0"), (float("nan"), "NaN"), (float("inf"), "Infinity"), (float("-inf"), "-Infinity"),
    (0.1, "0.1"), (1e16, "1e+16"), (12345678901234567890.0, "1.2345678901234567e+19"), (2.5, "2.5"),
    (0.000123, "0.000123"), (-1.5, "-1.5"),
])
def test_float8_text_is_postgres_float8out(value, text):
    assert dg.float8_text(value) == text


def _vector_canon_exact(v):
    return "[" + ",".join(dg.float8_text(dg._f32(f)) for f in dg._floats(v)) + "]"


_vector_elements = st.one_of(
    st.floats(width=32), st.floats(min_value=-1e-3, max_value=1e-3), st.floats(min_value=-1e16, max_value=1e16),
    st.integers(min_value=-10**6, max_value=10**6), st.just(-0.0), st.just(0.0), st.floats(allow_nan=True))


@given(st.lists(_vector_elements, min_size=0, max_size=12))
def test_the_vector_canon_in_c_is_the_exact_one(values):
    """Byte for byte, for lists and for their pgvector text, wherever the exact path answers
    (it raises for a double beyond float4, and so must the whole canon)."""
    pg_style = "[" + ",".join("-0" if x == 0 and math.copysign(1, x) < 0 else repr(x) for x in values) + "]"
    for v in (values, "[" + ",".join(map(repr, values)) + "]", pg_style):
        try:
            exact = _vector_canon_exact(v)
        except (OverflowError, ValueError):
            with pytest.raises((OverflowError, ValueError)):
                dg._c_vector(v)
            continue
        assert dg._c_vector(v) == exact, v


def test_float4_widened_like_postgres():
    assert dg.py_field_fn("float4")(0.1) == "0.10000000149011612"
    assert dg.py_field_fn("vector")("[1,0.1,1e-5]") == "[1,0.10000000149011612,9.999999747378752e-06]"
    assert dg.py_field_fn("vector")([1.0, 0.1]) == "[1,0.10000000149011612]"


@pytest.mark.parametrize("value,text", [
    (Decimal("1.500"), "1.5"), (Decimal("0.00"), "0"), (Decimal("-0.0"), "0"), (Decimal("100"), "100"),
    (Decimal("1E+2"), "100"), (Decimal("1e-20"), "0.00000000000000000001"), (Decimal("NaN"), "NaN"),
    (5, "5"), (1.25, "1.25"), ("2.50", "2.5"),
])
def test_numeric_is_trim_scale(value, text):
    assert dg.py_text("numeric")(value) == text


def test_jsonb_text_orders_keys_by_length_then_bytes_and_prints_numbers_as_numeric():
    obj = {"b": 1, "aa": 2, "a": [1.5, 1e-7, 1e20, "x\u0001\u001f/"], "é": None, "z": True, "ab": {"y": 1}}
    assert dg.jsonb_text(obj) == ('{"a": [1.5, 0.0000001, 100000000000000000000, "x\\u0001\\u001f/"], "b": 1, '
                                  '"z": true, "aa": 2, "ab": {"y": 1}, "é": null}')
    assert dg.py_text("jsonb")(Jsonb({"k": [1, 2]})) == '{"k": [1, 2]}'
    assert dg.py_text("json")('{"b":1,"a":2}') == '{"a": 2, "b": 1}'


def test_times_are_utc_iso_with_microseconds():
    berlin = dt.timezone(dt.timedelta(hours=2))
    v = dt.datetime(2024, 6, 1, 12, 0, 0, 5, tzinfo=berlin)
    assert dg.py_text("timestamptz")(v) == "2024-06-01T10:00:00.000005"
    assert dg.py_text("timestamptz")(dt.datetime(99, 1, 2, 3, 4, 5, 500000, tzinfo=dt.timezone.utc)) == \
        "0099-01-02T03:04:05.500000"
    assert dg.py_text("timestamp")(dt.datetime(2024, 1, 1)) == "2024-01-01T00:00:00.000000"
    assert dg.py_text("date")(dt.date(2024, 2, 29)) == "2024-02-29"
    assert dg.py_text("date")(dt.datetime(2024, 2, 29, 23, 0)) == "2024-02-29"


def test_scalars():
    u = uuid.UUID("55827fa4-d685-46c2-812e-98d04b07321d")
    assert dg.py_text("uuid")(u) == str(u) == dg.py_text("uuid")(str(u).upper())
    assert dg.py_text("bool")(True) == "true" and dg.py_text("bool")(0) == "false"
    assert dg.py_text("int")(Decimal("7")) == "7" and dg.py_text("int")(" 8 ") == "8"
    assert dg.py_text("bytea")(b"\x00\xff") == "00ff"
    assert dg.py_text("bpchar")("ab  ") == "ab"
    assert dg.py_text("array:text")(["a", 'b"c', None, "", "é\\"]) == '["a","b\\"c",null,"","é\\\\"]'
    assert dg.py_text("array:uuid")([u]) == f'["{u}"]'
    assert dg.py_text("array:int")([1, None, 3]) == "[1,null,3]"
    assert dg.py_text("array:bool")([True, False]) == "[true,false]"


def test_fields_null_and_length_prefix_keep_rows_unambiguous():
    text = dg.py_field_fn("text")
    assert text(None) == dg.NULL and text("\\N") == "2:\\N" and text("") == "0:" and text("é") == "2:é"
    a = dg.row_text([text("a" + dg.SEP + "b"), text("c")])
    b = dg.row_text([text("a"), text("b" + dg.SEP + "c")])
    assert a != b
    assert dg.py_field_fn("int")(None) == dg.NULL


def test_row_hash_is_signed_64_bit_md5_prefix():
    h = dg.row_hash("hello")  # md5 5d41402abc4b2a76...
    assert h == int("5d41402abc4b2a76", 16)
    assert dg.row_hash("a") == int("0cc175b9c0f1b6a8", 16)
    assert -(1 << 63) <= dg.row_hash("x" * 100) < (1 << 63)
    assert dg.signed64((1 << 64) - 1) == -1


def test_digest_is_order_independent():
    a, b = dg.Digest(), dg.Digest()
    for h in (1, 2, 3):
        a.add(h)
    for h in (3, 1, 2):
        b.add(h)
    assert a == b and a.as_tuple() == (3, 0)
    c = dg.Digest()
    c.merge(a)
    assert c == a


def test_kind_of():
    assert dg.kind_of("uuid") == "uuid" and dg.kind_of("varchar") == "text" and dg.kind_of("mood", "e") == "enum"
    assert dg.kind_of("_text", "b", "text") == "array:text" and dg.kind_of("_float4", "b", "float4") == "array:float"
    assert dg.kind_of("_numeric", "b", "numeric") == "other" and dg.kind_of("tsvector") == "other"


def test_sql_fields_are_shaped_like_python_fields():
    assert dg.sql_field("text", "t.a") == "coalesce(octet_length(t.a::text)::text || ':' || t.a::text, E'\\\\N')"
    assert dg.sql_field("numeric", "t.n") == "coalesce(trim_scale(t.n)::text, E'\\\\N')"
    assert dg.sql_row_hash("x") == "('x' || left(md5(x), 16))::bit(64)::bigint"
    assert "LENGTH(" in dg.mysql_field("text", "`a`") and "CAST(`i` AS CHAR)" in dg.mysql_field("int", "`i`")
    assert "CONVERT" not in dg.mysql_field("text:utf8", "`a`") and "CONVERT" in dg.mysql_field("text", "`a`")
    with pytest.raises(ValueError):
        dg.mysql_field("timestamptz", "`t`")


KINDS = ["uuid", "text", "int", "bool", "timestamptz", "numeric", "jsonb", "float", "date"]
values = st.one_of(st.none(), st.uuids(), st.text(max_size=20), st.integers(-10**12, 10**12), st.booleans(),
                   st.datetimes(timezones=st.just(dt.timezone.utc)), st.decimals(allow_nan=False, places=3),
                   st.floats(allow_nan=False), st.dates())


@given(st.lists(st.tuples(st.sampled_from(KINDS), values), min_size=1, max_size=8))
def test_generated_row_function_equals_per_column_functions(cols):
    names = [f"c{i}" for i in range(len(cols))]
    kinds = [k for k, _ in cols]
    row = {n: v for n, (_, v) in zip(names, cols)}
    expected = []
    for n, k in zip(names, kinds):
        try:
            expected.append(dg.py_field_fn(k)(row[n]))
        except Exception as exc:  # noqa: BLE001 - both must fail alike
            expected.append(type(exc))
    try:
        got = dg.compile_row_fields(names, kinds)(row)
    except Exception as exc:  # noqa: BLE001
        assert type(exc) in expected
        return
    assert got == expected
