"""Unit tests for replicator.mapping.convert: every conversion kind, with Debezium's encodings."""

from __future__ import annotations

import base64
import math
import uuid
from datetime import date, datetime, timedelta, timezone
from decimal import Context, Decimal
from typing import get_args
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from psycopg.adapt import Transformer
from psycopg.types.json import Jsonb

from replicator.mapping.convert import (
    CONVERSION_KINDS,
    ConversionError,
    ConversionKind,
    convert,
    get_converter,
)

UTC = timezone.utc
BERLIN = ZoneInfo("Europe/Berlin")
EPOCH = datetime(1970, 1, 1)


def wall_ms(*args: int) -> int:
    """A wall-clock time encoded the way Debezium encodes MySQL DATETIME: as if it were UTC, in ms."""
    return (datetime(*args) - EPOCH) // timedelta(milliseconds=1)


def wall_us(*args: int) -> int:
    return (datetime(*args) - EPOCH) // timedelta(microseconds=1)


def java_unscaled_b64(unscaled: int) -> str:
    """base64 of BigInteger.toByteArray(): minimal big-endian two's complement."""
    length = (unscaled if unscaled >= 0 else ~unscaled).bit_length() // 8 + 1
    return base64.b64encode(unscaled.to_bytes(length, "big", signed=True)).decode()


# --- vocabulary and dispatch ---------------------------------------------------------------


def test_kinds_vocabulary_is_closed_and_matches_the_literal():
    assert CONVERSION_KINDS == frozenset(get_args(ConversionKind))
    assert CONVERSION_KINDS == {
        "none", "text", "int", "float", "boolean", "timestamptz", "timestamp", "date",
        "decimal", "json", "enum", "uint64", "bytes", "uuid", "vector",
    }


def test_unknown_kind_fails_at_bind_time():
    with pytest.raises(ValueError, match="unknown conversion kind 'money'"):
        get_converter("money")
    with pytest.raises(ValueError, match="unknown conversion kind"):
        convert("money", 1)


@pytest.mark.parametrize("kind", sorted(CONVERSION_KINDS))
def test_none_is_always_none(kind):
    options = {"values": {"a": "A"}, "scale": 2, "dimensions": 3}
    assert convert(kind, None, tz=BERLIN, options=options) is None
    assert get_converter(kind)(None) is None


def test_get_converter_binds_once_and_is_reusable():
    conv = get_converter("timestamptz", tz=BERLIN, options={"precision": "us"})
    first = conv(wall_us(2024, 3, 1, 10, 0, 0, 5))
    assert first == datetime(2024, 3, 1, 9, 0, 0, 5, tzinfo=UTC)
    assert conv(wall_us(2024, 3, 1, 10, 0, 0, 5)) == first
    assert convert("timestamptz", wall_us(2024, 3, 1, 10, 0, 0, 5), tz=BERLIN, options={"precision": "us"}) == first


def test_conversion_error_is_value_error_with_kind_and_short_message():
    payload = "x" * 10_000
    with pytest.raises(ConversionError) as info:
        convert("int", payload)
    err = info.value
    assert isinstance(err, ValueError)
    assert err.kind == "int"
    message = str(err)
    assert "int" in message and "str" in message
    assert len(message) < 200
    assert "x" * 81 not in message


def test_conversion_error_truncates_big_containers():
    with pytest.raises(ConversionError) as info:
        convert("vector", list(range(100_000)), options={"dimensions": 3})
    assert len(str(info.value)) < 250


# --- none / text ---------------------------------------------------------------------------


def test_none_kind_returns_value_unchanged():
    marker = object()
    assert convert("none", marker) is marker
    assert convert("none", b"\x00") == b"\x00"


def test_text():
    assert convert("text", "héllo") == "héllo"
    assert convert("text", 5) == "5"
    assert convert("text", 1.5) == "1.5"
    assert convert("text", Decimal("1.50")) == "1.50"
    assert convert("text", True) == "true"
    assert convert("text", False) == "false"


@pytest.mark.parametrize("value", [b"abc", bytearray(b"abc"), {"a": 1}, [1, 2]])
def test_text_rejects_binary_and_structured_values(value):
    with pytest.raises(ConversionError):
        convert("text", value)


def test_text_nul_character_fails_unless_stripped():
    with pytest.raises(ConversionError, match="NUL"):
        convert("text", "a\x00b")
    assert convert("text", "a\x00b", options={"strip_nul": True}) == "ab"


# --- int / float / boolean -----------------------------------------------------------------


@pytest.mark.parametrize(
    "value, expected",
    [(42, 42), (-7, -7), ("42", 42), ("-7", -7), (" 8 ", 8), ("+3", 3), (3.0, 3),
     (Decimal("12"), 12), (2**70, 2**70), ("18446744073709551615", 2**64 - 1)],
)
def test_int_accepts(value, expected):
    result = convert("int", value)
    assert result == expected and type(result) is int


@pytest.mark.parametrize("value", [True, False, "4.2", "1_000", "", "abc", 3.5, Decimal("1.5"), float("nan"), b"1", [1]])
def test_int_rejects(value):
    with pytest.raises(ConversionError):
        convert("int", value)


def test_float():
    assert convert("float", 1.5) == 1.5
    assert convert("float", 2) == 2.0 and type(convert("float", 2)) is float
    assert convert("float", "2.25") == 2.25
    assert convert("float", Decimal("0.5")) == 0.5
    assert math.isnan(convert("float", "NaN"))
    for bad in (True, "abc", 10**400, [1.0]):
        with pytest.raises(ConversionError):
            convert("float", bad)


@pytest.mark.parametrize(
    "value, expected",
    [(0, False), (1, True), (2, True), (-1, True), (True, True), (False, False),
     ("true", True), ("false", False), ("TRUE", True), ("False", False), ("1", True), ("0", False)],
)
def test_boolean_accepts(value, expected):
    assert convert("boolean", value) is expected


@pytest.mark.parametrize("value", ["yes", "", "2", 1.0, b"1"])
def test_boolean_rejects(value):
    with pytest.raises(ConversionError):
        convert("boolean", value)


# --- timestamptz ---------------------------------------------------------------------------


def test_timestamptz_mysql_datetime_ms_in_winter_and_summer():
    conv = get_converter("timestamptz", tz=BERLIN)
    winter = conv(wall_ms(2024, 3, 1, 10, 0, 0))
    assert winter == datetime(2024, 3, 1, 9, 0, tzinfo=UTC)
    assert winter.utcoffset() == timedelta(0)
    assert conv(wall_ms(2024, 7, 1, 10, 0, 0)) == datetime(2024, 7, 1, 8, 0, tzinfo=UTC)
    assert conv(wall_ms(2024, 3, 1, 10, 0, 0) + 123) == datetime(2024, 3, 1, 9, 0, 0, 123000, tzinfo=UTC)


def test_timestamptz_dst_gap_uses_fold_0_pre_transition_offset():
    # 2024-03-31 02:30 does not exist in berlin; fold=0 reads it with +01:00
    got = convert("timestamptz", wall_ms(2024, 3, 31, 2, 30), tz=BERLIN)
    assert got == datetime(2024, 3, 31, 1, 30, tzinfo=UTC)


def test_timestamptz_dst_overlap_uses_fold_0_first_occurrence():
    # 2024-10-27 02:30 happens twice in berlin; fold=0 is the first (summer time, +02:00)
    got = convert("timestamptz", wall_ms(2024, 10, 27, 2, 30), tz=BERLIN)
    assert got == datetime(2024, 10, 27, 0, 30, tzinfo=UTC)
    # the hour after the overlap is unambiguous again
    assert convert("timestamptz", wall_ms(2024, 10, 27, 3, 30), tz=BERLIN) == datetime(2024, 10, 27, 2, 30, tzinfo=UTC)


def test_timestamptz_microsecond_precision_is_exact():
    conv = get_converter("timestamptz", tz=BERLIN, options={"precision": "us"})
    assert conv(wall_us(2024, 3, 1, 10, 0, 0, 123456)) == datetime(2024, 3, 1, 9, 0, 0, 123456, tzinfo=UTC)
    # far enough from the epoch that a float of the microseconds would be off
    value = wall_us(9999, 12, 31, 12, 59, 59, 999999)
    assert float(value) != value
    assert conv(value) == datetime(9999, 12, 31, 11, 59, 59, 999999, tzinfo=UTC)


def test_timestamptz_nanoseconds_floor_to_microseconds():
    conv = get_converter("timestamptz", tz=UTC, options={"precision": "ns"})
    assert conv(wall_us(2024, 3, 1, 10, 0, 0, 123456) * 1000 + 789) == datetime(2024, 3, 1, 10, 0, 0, 123456, tzinfo=UTC)
    # one nanosecond before the epoch is still in 1969
    assert conv(-1) == datetime(1969, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)


def test_timestamptz_before_epoch():
    assert convert("timestamptz", -1, tz=UTC) == datetime(1969, 12, 31, 23, 59, 59, 999000, tzinfo=UTC)
    assert convert("timestamptz", wall_ms(1950, 6, 1, 12, 0), tz=BERLIN) == datetime(1950, 6, 1, 11, 0, tzinfo=UTC)


def test_timestamptz_utc_source_zone_shortcut_agrees_with_zoneinfo():
    value = wall_ms(2024, 3, 31, 2, 30)
    expected = datetime(2024, 3, 31, 2, 30, tzinfo=UTC)
    assert convert("timestamptz", value, tz=ZoneInfo("UTC")) == expected
    assert convert("timestamptz", value, tz=UTC) == expected
    assert convert("timestamptz", value, tz=ZoneInfo("Etc/GMT")) == expected


def test_timestamptz_epoch_int_needs_a_time_zone():
    with pytest.raises(ConversionError, match="time zone"):
        convert("timestamptz", wall_ms(2024, 3, 1, 10, 0))


@pytest.mark.parametrize(
    "text, expected",
    [
        ("2024-03-01T10:00:00.123456Z", datetime(2024, 3, 1, 10, 0, 0, 123456, tzinfo=UTC)),
        ("2024-03-01T10:00:00Z", datetime(2024, 3, 1, 10, 0, tzinfo=UTC)),
        ("2024-03-01T10:00:00.12Z", datetime(2024, 3, 1, 10, 0, 0, 120000, tzinfo=UTC)),
        ("2024-03-01T10:00:00+02:00", datetime(2024, 3, 1, 8, 0, tzinfo=UTC)),
        ("2024-03-01T10:00:00-05:30", datetime(2024, 3, 1, 15, 30, tzinfo=UTC)),
    ],
)
def test_timestamptz_iso_strings_with_offset(text, expected):
    # the source zone must not matter when the text carries an offset
    got = convert("timestamptz", text, tz=BERLIN)
    assert got == expected
    assert got.utcoffset() == timedelta(0)
    assert got.microsecond == expected.microsecond


def test_timestamptz_iso_string_without_offset_is_read_in_source_zone():
    assert convert("timestamptz", "2024-03-01T10:00:00", tz=BERLIN) == datetime(2024, 3, 1, 9, 0, tzinfo=UTC)
    with pytest.raises(ConversionError):
        convert("timestamptz", "2024-03-01T10:00:00")


def test_timestamptz_zero_dates():
    conv = get_converter("timestamptz", tz=BERLIN)
    assert conv(0) is None
    assert conv("0000-00-00 00:00:00") is None
    assert conv("0000-00-00T00:00:00Z") is None
    keep = get_converter("timestamptz", tz=UTC, options={"zero_as_null": False})
    assert keep(0) == datetime(1970, 1, 1, tzinfo=UTC)
    with pytest.raises(ConversionError):
        keep("0000-00-00 00:00:00")


@pytest.mark.parametrize("value", ["infinity", "not a date", "2024-13-01T00:00:00Z", 1.5e12, True, [1]])
def test_timestamptz_rejects(value):
    with pytest.raises(ConversionError):
        convert("timestamptz", value, tz=UTC)


def test_timestamptz_out_of_range_epoch():
    with pytest.raises(ConversionError, match="out of range"):
        convert("timestamptz", 10**20, tz=BERLIN)


def test_bad_precision_option_fails_at_bind_time():
    with pytest.raises(ValueError, match="precision"):
        get_converter("timestamptz", tz=UTC, options={"precision": "s"})


def test_timestamptz_accepts_datetimes():
    aware = datetime(2024, 3, 1, 10, 0, tzinfo=BERLIN)
    assert convert("timestamptz", aware) == datetime(2024, 3, 1, 9, 0, tzinfo=UTC)
    assert convert("timestamptz", datetime(2024, 3, 1, 10, 0), tz=BERLIN) == datetime(2024, 3, 1, 9, 0, tzinfo=UTC)


# --- timestamp -----------------------------------------------------------------------------


def test_timestamp_is_the_naive_wall_clock():
    got = convert("timestamp", wall_ms(2024, 3, 31, 2, 30))
    assert got == datetime(2024, 3, 31, 2, 30) and got.tzinfo is None
    assert convert("timestamp", wall_us(2024, 3, 1, 1, 2, 3, 456789), options={"precision": "us"}) == datetime(2024, 3, 1, 1, 2, 3, 456789)
    assert convert("timestamp", 1_000_000_123, options={"precision": "ns"}) == datetime(1970, 1, 1, 0, 0, 1)
    assert convert("timestamp", "2024-03-01T10:00:00.5") == datetime(2024, 3, 1, 10, 0, 0, 500000)
    # a source zone changes nothing for a naive target
    assert convert("timestamp", wall_ms(2024, 3, 1, 10, 0), tz=BERLIN) == datetime(2024, 3, 1, 10, 0)


def test_timestamp_zero_and_offsets():
    assert convert("timestamp", 0) is None
    assert convert("timestamp", "0000-00-00 00:00:00") is None
    assert convert("timestamp", 0, options={"zero_as_null": False}) == EPOCH
    with pytest.raises(ConversionError, match="timestamptz"):
        convert("timestamp", "2024-03-01T10:00:00Z")


@given(st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59, 999999)))
def test_timestamp_microsecond_round_trip(wall):
    micros = (wall - EPOCH) // timedelta(microseconds=1)
    assert convert("timestamp", micros, options={"precision": "us", "zero_as_null": False}) == wall
    assert convert("timestamptz", micros, tz=UTC, options={"precision": "us", "zero_as_null": False}) == wall.replace(tzinfo=UTC)


# --- date ----------------------------------------------------------------------------------


def test_date():
    assert convert("date", 19783) == date(2024, 3, 1)
    assert convert("date", 0) == date(1970, 1, 1)
    assert convert("date", -1) == date(1969, 12, 31)
    assert convert("date", "2024-03-01") == date(2024, 3, 1)
    assert convert("date", date(2024, 3, 1)) == date(2024, 3, 1)
    assert convert("date", "0000-00-00") is None
    with pytest.raises(ConversionError):
        convert("date", "0000-00-00", options={"zero_as_null": False})


@pytest.mark.parametrize("value", ["2024-02-30", "yesterday", 10**9, datetime(2024, 3, 1), 1.0, True])
def test_date_rejects(value):
    with pytest.raises(ConversionError):
        convert("date", value)


# --- decimal -------------------------------------------------------------------------------


def test_decimal_string_mode_keeps_the_scale():
    got = convert("decimal", "1.5000")
    assert got == Decimal("1.5000")
    assert got.as_tuple().exponent == -4
    assert convert("decimal", "-0.01") == Decimal("-0.01")
    assert convert("decimal", "12") == Decimal(12)
    # with a scale given, text with the fraction digits is still string mode
    assert convert("decimal", "1234.50", options={"scale": 2}) == Decimal("1234.50")


def test_decimal_string_mode_specials():
    assert convert("decimal", "NaN").is_nan()
    assert convert("decimal", "Infinity") == Decimal("Infinity")
    assert convert("decimal", "-Infinity") == Decimal("-Infinity")


def test_decimal_double_mode():
    assert convert("decimal", 1.1) == Decimal("1.1")
    assert convert("decimal", 0.1 + 0.2) == Decimal("0.30000000000000004")
    assert convert("decimal", 7) == Decimal(7)
    assert convert("decimal", Decimal("3.14")) == Decimal("3.14")


def test_decimal_precise_negative():
    encoded = base64.b64encode(b"\xff\x85").decode()
    assert convert("decimal", encoded, options={"scale": 2}) == Decimal("-1.23")
    got = convert("decimal", java_unscaled_b64(12345), options={"scale": 2})
    assert got == Decimal("123.45") and got.as_tuple().exponent == -2
    assert convert("decimal", java_unscaled_b64(0), options={"scale": 3}) == Decimal("0.000")


def test_decimal_precise_wide_values_are_not_rounded():
    # numeric(38, 10): more digits than the default decimal context keeps
    unscaled = -12345678901234567890123456789012345678
    got = convert("decimal", java_unscaled_b64(unscaled), options={"scale": 10})
    assert got == Decimal("-1234567890123456789012345678.9012345678")
    assert got.as_tuple().exponent == -10


def test_decimal_precise_needs_scale():
    with pytest.raises(ConversionError, match="scale"):
        convert("decimal", "/4U=")


def test_decimal_variable_scale_struct():
    got = convert("decimal", {"scale": 3, "value": java_unscaled_b64(-98765)})
    assert got == Decimal("-98.765")
    with pytest.raises(ConversionError):
        convert("decimal", {"value": "AQ=="})


def test_decimal_digit_only_base64_under_a_positive_scale():
    # '1234' is valid base64 (b'\xd7m\xf8'); string mode would have printed '1234.00'
    expected = Decimal(int.from_bytes(base64.b64decode("1234"), "big", signed=True)).scaleb(-2)
    assert convert("decimal", "1234", options={"scale": 2}) == expected
    # an explicit mode removes the guesswork either way
    assert convert("decimal", "1234", options={"scale": 2, "mode": "string"}) == Decimal("1234")
    assert convert("decimal", "1234", options={"scale": 0, "mode": "precise"}) == Decimal(-2658824)
    assert convert("decimal", "1234", options={"mode": "precise", "scale": 2}) == Decimal("-26588.24")
    # signed text cannot be base64, so it stays a number even without the fraction digits
    assert convert("decimal", "-1234", options={"scale": 2}) == Decimal("-1234")
    # '+123' is valid base64 and debezium never prints a '+', so it is a payload
    expected_plus = Decimal(int.from_bytes(base64.b64decode("+123"), "big", signed=True)).scaleb(-2)
    assert convert("decimal", "+123", options={"scale": 2}) == expected_plus


@pytest.mark.parametrize("value", ["not base64!", "", True, [1], "1.5e3", "1,5", " 1.5", object()])
def test_decimal_rejects(value):
    with pytest.raises(ConversionError):
        convert("decimal", value, options={"scale": 2})


def test_decimal_bad_options_fail_at_bind_time():
    with pytest.raises(ValueError, match="scale"):
        get_converter("decimal", options={"scale": "2"})
    with pytest.raises(ValueError, match="mode"):
        get_converter("decimal", options={"mode": "guess"})


@given(st.integers(min_value=-(2**200), max_value=2**200), st.integers(min_value=0, max_value=40))
def test_decimal_precise_round_trip(unscaled, scale):
    got = convert("decimal", java_unscaled_b64(unscaled), options={"scale": scale, "mode": "precise"})
    assert got == Decimal(unscaled).scaleb(-scale, Context(prec=1000))
    assert got.as_tuple().exponent == -scale
    # the same payload through the variable-scale struct agrees
    assert convert("decimal", {"scale": scale, "value": java_unscaled_b64(unscaled)}) == got


@given(st.integers(min_value=-(10**30), max_value=10**30), st.integers(min_value=1, max_value=12))
def test_decimal_auto_mode_reads_both_debezium_encodings(unscaled, scale):
    expected = Decimal(f"{unscaled}E-{scale}")
    string_mode = format(expected, "f")  # what BigDecimal.toPlainString() prints
    assert convert("decimal", string_mode, options={"scale": scale}) == expected
    assert convert("decimal", java_unscaled_b64(unscaled), options={"scale": scale}) == expected


# --- json ----------------------------------------------------------------------------------


def test_json_text_is_parsed_and_wrapped():
    got = convert("json", '{"a": [1, 2.5, null], "b": {"c": "é"}}')
    assert isinstance(got, Jsonb)
    assert got.obj == {"a": [1, 2.5, None], "b": {"c": "é"}}


def test_json_parsed_values_are_wrapped():
    assert convert("json", {"a": 1}).obj == {"a": 1}
    assert convert("json", [1, 2]).obj == [1, 2]
    already = Jsonb({"x": 1})
    assert convert("json", already) is already


def test_json_null_literal_is_json_null_not_sql_null():
    got = convert("json", "null")
    assert isinstance(got, Jsonb) and got.obj is None


@pytest.mark.parametrize(
    "value",
    ['{"a": 1', "{'a': 1}", "", '{"a": NaN}', '[Infinity]', '{"a": "x\\u0000y"}', b"{}", object()],
)
def test_json_rejects(value):
    with pytest.raises(ConversionError):
        convert("json", value)


def test_json_rejects_nul_and_nan_in_parsed_values():
    with pytest.raises(ConversionError, match="NUL"):
        convert("json", {"a": ["x\x00"]})
    with pytest.raises(ConversionError, match="NaN"):
        convert("json", {"a": float("nan")})


def test_json_escaped_backslash_before_u0000_is_fine():
    # the text contains \\u0000 (a backslash, then 'u0000'), not a nul character
    assert convert("json", '["\\\\u0000"]').obj == ["\\u0000"]


# --- enum ----------------------------------------------------------------------------------


def test_enum_value_map():
    conv = get_converter("enum", options={"values": {"A": "active", "D": "deleted"}})
    assert conv("A") == "active"
    assert conv("D") == "deleted"
    with pytest.raises(ConversionError, match="purple"):
        conv("purple")


def test_enum_default_for_unknown_values():
    assert convert("enum", "zzz", options={"values": {"A": "active"}, "default": "other"}) == "other"
    assert convert("enum", "zzz", options={"values": {"A": "active"}, "default": None}) is None


def test_enum_numeric_source_codes_match_string_keys():
    conv = get_converter("enum", options={"values": {"1": "active", "2": "blocked"}})
    assert conv(1) == "active"
    assert conv("2") == "blocked"
    with pytest.raises(ConversionError):
        conv(3)


def test_enum_without_map_passes_strings_through():
    assert convert("enum", "small") == "small"
    with pytest.raises(ConversionError):
        convert("enum", 1)


def test_enum_values_option_must_be_a_mapping():
    with pytest.raises(ValueError):
        get_converter("enum", options={"values": ["a", "b"]})


# --- uint64 --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, expected",
    [(0, 0), (5, 5), (2**63 - 1, 2**63 - 1), (-1, 2**64 - 1), (-(2**63), 2**63), (-2, 2**64 - 2), (2**64 - 1, 2**64 - 1)],
)
def test_uint64_long_mode_wraps_negatives(value, expected):
    assert convert("uint64", value) == expected


def test_uint64_precise_mode():
    # debezium's encoding of 11111111111111111111, with java's leading sign byte
    assert convert("uint64", "AJoymK+1rHHH") == 11111111111111111111
    assert convert("uint64", java_unscaled_b64(2**64 - 1)) == 2**64 - 1
    assert convert("uint64", java_unscaled_b64(0)) == 0
    # a producer that omits the sign byte is read the same way
    assert convert("uint64", base64.b64encode(b"\xff" * 8).decode()) == 2**64 - 1


@pytest.mark.parametrize("value", [True, 2**64, -(2**63) - 1, "!!", "", base64.b64encode(b"\x01" + b"\x00" * 8).decode(), 1.0])
def test_uint64_rejects(value):
    with pytest.raises(ConversionError):
        convert("uint64", value)


@given(st.integers(min_value=0, max_value=2**64 - 1))
def test_uint64_both_modes_round_trip(unsigned):
    as_java_long = unsigned - 2**64 if unsigned >= 2**63 else unsigned
    assert convert("uint64", as_java_long) == unsigned
    assert convert("uint64", java_unscaled_b64(unsigned)) == unsigned


# --- bytes ---------------------------------------------------------------------------------


def test_bytes_encodings():
    raw = b"\x00\x01\x02\xfb\xff"
    assert convert("bytes", base64.b64encode(raw).decode()) == raw
    assert convert("bytes", base64.b64encode(raw).decode(), options={"encoding": "base64"}) == raw
    assert convert("bytes", raw.hex(), options={"encoding": "hex"}) == raw
    url_safe = base64.urlsafe_b64encode(raw).decode()
    assert "-" in url_safe or "_" in url_safe
    assert convert("bytes", url_safe, options={"encoding": "base64-url-safe"}) == raw
    assert convert("bytes", url_safe.rstrip("="), options={"encoding": "base64-url-safe"}) == raw
    assert convert("bytes", "") == b""
    assert convert("bytes", bytearray(b"ab")) == b"ab"


@pytest.mark.parametrize(
    "value, encoding",
    [("not base64!", "base64"), ("AAE", "base64"), ("zz", "hex"), ("abc", "hex"), ("a+b/", "base64-url-safe"), (5, "base64")],
)
def test_bytes_rejects(value, encoding):
    with pytest.raises(ConversionError):
        convert("bytes", value, options={"encoding": encoding})


def test_bytes_unknown_encoding_fails_at_bind_time():
    with pytest.raises(ValueError, match="encoding"):
        get_converter("bytes", options={"encoding": "base32"})


# --- uuid ----------------------------------------------------------------------------------


def test_uuid():
    u = uuid.UUID("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11")
    assert convert("uuid", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11") == u
    assert convert("uuid", "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11") == u
    assert convert("uuid", "{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}") == u
    assert convert("uuid", "a0eebc999c0b4ef8bb6d6bb9bd380a11") == u
    assert convert("uuid", u) is u


@pytest.mark.parametrize(
    "value",
    ["nope", "", "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1", "a0eebc9_-9c0b-4ef8-bb6d-6bb9bd380a11",
     "+0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11", 12345, b"\x00" * 16],
)
def test_uuid_rejects(value):
    with pytest.raises(ConversionError):
        convert("uuid", value)


# --- vector --------------------------------------------------------------------------------


def test_vector_from_list_and_text():
    assert convert("vector", [1, 2, 3]) == "[1,2,3]"  # pgvector reads 1 as 1.0
    assert convert("vector", [1.5, -2.25, 0.0]) == "[1.5,-2.25,0.0]"
    assert convert("vector", "[1,2,3]") == "[1,2,3]"
    assert convert("vector", " [1.5, 2e-3] ") == "[1.5,0.002]"
    assert convert("vector", [1, 2, 3], options={"dimensions": 3}) == "[1,2,3]"
    assert convert("vector", [1.5, 2], options={"dimensions": 2}) == "[1.5,2]"


def test_negative_zero_keeps_its_sign_in_pgvector_text():
    """pgvector prints -0.0 as "-0", which JSON would read as the int 0."""
    assert convert("vector", "[-0,1.5]") == "[-0.0,1.5]"
    assert convert("vector", [-0.0, 1.5]) == "[-0.0,1.5]"


def _vector_general_path(value, dimensions=None):
    """The element-by-element path, which the C-formatted fast path must agree with."""
    from replicator.mapping import convert as c

    conv = c._make_vector(UTC, {"dimensions": dimensions} if dimensions else {})
    saved = c._vector_text_of_numbers
    c._vector_text_of_numbers = lambda _items: None
    try:
        return conv(value)
    finally:
        c._vector_text_of_numbers = saved


_vector_elements = st.one_of(
    st.floats(width=64), st.floats(width=32), st.integers(min_value=-(2**70), max_value=2**70),
    st.booleans(), st.none(), st.text(max_size=3), st.decimals(allow_nan=False, places=2),
    st.lists(st.floats(), max_size=2))


@given(st.lists(st.one_of(st.floats(allow_nan=False, allow_infinity=False), st.integers(-10**6, 10**6)),
                max_size=8) | st.lists(_vector_elements, max_size=6),
       st.sampled_from([None, 3]))
def test_the_fast_vector_path_agrees_with_the_general_path(items, dimensions):
    """Same refusals, and texts that hold the same numbers, for any list (Debezium sends a
    JSON array of doubles; a transform may hand over anything), and for its text forms
    (pgvector's text, as the reconciler reads it from a legacy PostgreSQL)."""
    pg_style = "[" + ",".join("-0" if isinstance(x, float) and x == 0 and math.copysign(1, x) < 0 else str(x)
                              for x in items) + "]"  # pgvector prints negative zero as -0
    for text in (str(items), "[" + ",".join(map(str, items)) + "]", " [" + ", ".join(map(repr, items)) + "] ",
                 pg_style):
        check_vector_paths_agree(text, dimensions)
    check_vector_paths_agree(items, dimensions)


def check_vector_paths_agree(items, dimensions):
    def outcome(fn):
        try:
            return "ok", fn()
        except ConversionError:
            return "refused", None
    conv = get_converter("vector", options={"dimensions": dimensions} if dimensions else {})
    fast, general = outcome(lambda: conv(items)), outcome(lambda: _vector_general_path(items, dimensions))
    assert fast[0] == general[0], (items, fast, general)
    if fast[0] == "ok":
        # repr: -0.0 and 0.0 are equal as floats, but pgvector keeps the sign
        assert [repr(float(x)) for x in fast[1][1:-1].split(",")] == \
            [repr(float(x)) for x in general[1][1:-1].split(",")]


def test_vector_floats_round_trip():
    values = [0.1, 1 / 3, 0.10000000149011612, 1e-45, 3.4028234663852886e38]
    text = convert("vector", values)
    assert [float(x) for x in text[1:-1].split(",")] == values


def test_vector_dimension_mismatch():
    with pytest.raises(ConversionError, match="expected 4"):
        convert("vector", [1.0, 2.0, 3.0], options={"dimensions": 4})
    with pytest.raises(ConversionError, match="expected 2"):
        convert("vector", "[1,2,3]", options={"dimensions": 2})


@pytest.mark.parametrize(
    "value",
    [[], "[]", [float("nan")], [float("inf")], "[1,nan]", [True, 1.0], ["a"], "1,2,3", "[1,,2]",
     {"dimensions": 3, "vector": {"0": 1.0}}, 5],
)
def test_vector_rejects(value):
    with pytest.raises(ConversionError):
        convert("vector", value)


def test_vector_bad_dimensions_option():
    with pytest.raises(ValueError):
        get_converter("vector", options={"dimensions": 0})


# --- what psycopg makes of the results -----------------------------------------------------


@pytest.mark.parametrize(
    "kind, value, options, literal",
    [
        ("json", '{"a": 1}', None, b"'{\"a\": 1}'::jsonb"),
        ("decimal", "/4U=", {"scale": 2}, b" -1.23"),
        ("uint64", -1, None, b"18446744073709551615"),
        ("timestamptz", "2024-03-01T10:00:00.123456+02:00", None, b"'2024-03-01 08:00:00.123456+00:00'::timestamptz"),
        ("date", 19783, None, b"'2024-03-01'::date"),
        ("bytes", "AAE=", None, b" E'\\\\000\\\\001'::bytea"),
        ("vector", [1, 2.5], None, b"'[1,2.5]'"),
    ],
)
def test_results_are_adaptable_by_psycopg(kind, value, options, literal):
    assert Transformer().as_literal(convert(kind, value, tz=UTC, options=options)) == literal


@given(st.one_of(st.integers(min_value=-(2**62), max_value=2**62), st.just(0), st.none()))
def test_the_utc_millisecond_fast_path_agrees_with_the_general_path(ms):
    """A UTC source with epoch milliseconds takes a one-step path; the general path (here:
    the same instants given in microseconds) must give the same answers, errors included."""
    fast = get_converter("timestamptz", tz=UTC)
    general = get_converter("timestamptz", tz=UTC, options={"precision": "us"})
    try:
        want = general(ms * 1000 if ms is not None else None)
    except ConversionError:
        with pytest.raises(ConversionError):
            fast(ms)
        return
    assert fast(ms) == want


@settings(max_examples=3000)
@given(st.one_of(st.integers(min_value=-(2**42) - 5, max_value=2**42 + 5),
                 st.integers(min_value=2**42 - 10**6, max_value=2**42 + 10**6),
                 st.integers(min_value=-(2**42) - 10**6, max_value=-(2**42) + 10**6)))
def test_the_float_step_of_the_utc_millisecond_path_is_exact(ms):
    """Within 2**42 ms of the epoch the fast path goes through a double (ms / 1000): it must
    still give the exact instant, to the microsecond, at the ends of that range too."""
    expected = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=ms) if ms else None  # 0: zero date
    assert get_converter("timestamptz", tz=UTC)(ms) == expected


@given(st.one_of(st.integers(min_value=-5, max_value=5), st.booleans(), st.none(),
                 st.sampled_from(["true", "false", "1", "0"])))
def test_boolean_fast_path_keeps_every_answer(value):
    conv = get_converter("boolean")
    want = None if value is None else (value if isinstance(value, bool) else
                                       (value != 0 if isinstance(value, int) else value in ("true", "1")))
    assert conv(value) == want


@given(st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)))
def test_a_naive_datetime_from_a_utc_source_takes_the_short_path_to_the_same_instant(wall):
    fast = get_converter("timestamptz", tz=UTC)(wall)
    general = get_converter("timestamptz", tz=ZoneInfo("Etc/GMT"))(wall)  # UTC by another name: general path
    assert fast == general and fast.utcoffset() == timedelta(0)
