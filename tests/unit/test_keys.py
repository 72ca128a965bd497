"""Unit and property tests for replicator.keys: deterministic legacy-key -> UUID remapping."""

from __future__ import annotations

import hashlib
import uuid

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from replicator.keys import (
    key_remapper,
    KEY_LIMIT,
    NAMESPACE,
    KeyRegistry,
    LegacyKey,
    remap_key,
    table_namespace,
)

# identifiers: any text without nul (no real database or table name holds one)
names = st.text(
    alphabet=st.characters(exclude_categories=("Cs",), exclude_characters="\x00"),
    min_size=1,
    max_size=20,
)
v8_keys = st.integers(min_value=0, max_value=KEY_LIMIT - 1)
string_keys = st.text(min_size=1, max_size=30).filter(lambda s: len(s) != 36)
any_keys = st.one_of(st.integers(min_value=-(2**80), max_value=2**80), string_keys)


def canonical(key: int | str) -> tuple[str, object]:
    """The identity of a key as remap_key sees it: canonical digit text is the integer."""
    if isinstance(key, str) and key.isascii() and key.isdigit() and (key == "0" or key[0] != "0"):
        return ("int", int(key))
    return (type(key).__name__, key)


# --- fixed values: these must never change between releases --------------------------------


def test_namespace_constant_is_what_the_docstring_says():
    assert NAMESPACE == uuid.uuid5(uuid.NAMESPACE_URL, "replicator:legacy-key")


def test_golden_values():
    # a change here re-keys every row already replicated and breaks every foreign key
    assert remap_key("db", "t", 42) == uuid.UUID("98bc0fb1-18e1-8517-8000-00000000002a")
    assert remap_key("db", "t", "ckxyz") == uuid.UUID("c640cca1-38e1-5a1a-aecc-5c63f546c4a7")


def test_table_namespace_is_first_60_bits_of_sha256():
    digest = hashlib.sha256("shop\x00orders".encode()).digest()
    expected = int(digest.hex()[:15], 16)  # 15 hex digits = 60 bits
    assert table_namespace("shop", "orders") == expected
    assert 0 <= expected < 2**60


def test_table_namespace_separates_db_and_table():
    assert table_namespace("ab", "c") != table_namespace("a", "bc")


def test_names_with_nul_are_refused():
    with pytest.raises(ValueError, match="NUL"):
        table_namespace("a\x00b", "c")
    with pytest.raises(ValueError):
        remap_key("db", "t\x00x", 1)
    with pytest.raises(ValueError):
        remap_key("db", "t\x00x", "cuid")


# --- layout of the version-8 uuid ----------------------------------------------------------


def test_v8_bit_layout():
    namespace = table_namespace("shop", "orders")
    key = 0x2ABC_DEF0_1234_5678
    u = remap_key("shop", "orders", key)
    assert u.version == 8
    assert u.variant == uuid.RFC_4122
    assert u.int >> 80 == namespace >> 12
    assert (u.int >> 76) & 0xF == 8
    assert (u.int >> 64) & 0xFFF == namespace & 0xFFF
    assert (u.int >> 62) & 0b11 == 0b10
    assert u.int & (2**62 - 1) == key


def test_int_range_boundaries():
    assert remap_key("db", "t", 0).version == 8
    assert remap_key("db", "t", KEY_LIMIT - 1).version == 8
    assert remap_key("db", "t", KEY_LIMIT).version == 5
    assert remap_key("db", "t", -1).version == 5
    assert remap_key("db", "t", 2**64).version == 5


# --- strings -------------------------------------------------------------------------------


def test_decimal_digit_strings_are_the_integer():
    assert remap_key("db", "t", "42") == remap_key("db", "t", 42)
    assert remap_key("db", "t", "0") == remap_key("db", "t", 0)
    big = 2**70
    assert remap_key("db", "t", str(big)) == remap_key("db", "t", big)


def test_non_canonical_digit_strings_are_distinct_keys():
    # varchar keys "042" and "42" are different rows and must not collide
    u = remap_key("db", "t", "042")
    assert u != remap_key("db", "t", 42)
    assert u.version == 5
    assert remap_key("db", "t", "+42") != remap_key("db", "t", 42)
    assert remap_key("db", "t", "٤٢") != remap_key("db", "t", 42)  # arabic-indic digits


def test_cuids_become_v5():
    u = remap_key("app", "users", "cjld2cjxh0000qzrmn831i7rn")
    assert u.version == 5
    assert u == remap_key("app", "users", "cjld2cjxh0000qzrmn831i7rn")
    assert u != remap_key("app", "accounts", "cjld2cjxh0000qzrmn831i7rn")
    assert u != remap_key("other", "users", "cjld2cjxh0000qzrmn831i7rn")


def test_int_and_string_tags_do_not_collide():
    # -5 as an int and "-5" as a string take different v5 names
    assert remap_key("db", "t", -5) != remap_key("db", "t", "-5")


# --- existing uuids ------------------------------------------------------------------------


def test_existing_uuids_are_kept():
    u = uuid.UUID("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11")
    assert remap_key("db", "t", u) is u
    assert remap_key("db", "t", str(u)) == u
    assert remap_key("db", "t", str(u).upper()) == u
    # remapping is idempotent: an already remapped key stays put
    v8 = remap_key("db", "t", 7)
    assert remap_key("db", "other", v8) == v8
    assert remap_key("db", "other", str(v8)) == v8


def test_non_canonical_uuid_text_is_an_ordinary_string_key():
    text = "a0eebc999c0b4ef8bb6d6bb9bd380a11"
    assert remap_key("db", "t", text) != uuid.UUID(text)
    assert remap_key("db", "t", text).version == 5
    assert remap_key("db", "t", "{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}").version == 5


# --- bad keys ------------------------------------------------------------------------------


@pytest.mark.parametrize("key", [True, False])
def test_bool_keys_are_type_errors(key):
    with pytest.raises(TypeError):
        remap_key("db", "t", key)


@pytest.mark.parametrize("key", [1.0, b"42", None, (1,)])
def test_other_types_are_type_errors(key):
    with pytest.raises(TypeError):
        remap_key("db", "t", key)


def test_empty_string_is_a_value_error():
    with pytest.raises(ValueError):
        remap_key("db", "t", "")


# --- registry ------------------------------------------------------------------------------


def test_registry_reverses_v8_keys_of_registered_tables_only():
    registry = KeyRegistry([("shop", "orders"), ("shop", "customers")])
    assert len(registry) == 2
    assert ("shop", "orders") in registry
    assert ("shop", "items") not in registry
    assert registry.reverse(remap_key("shop", "orders", 42)) == LegacyKey("shop", "orders", 42)
    assert registry.reverse(remap_key("shop", "customers", 0)) == LegacyKey("shop", "customers", 0)
    assert registry.reverse(remap_key("shop", "items", 42)) is None
    assert registry.is_remapped(remap_key("shop", "orders", 42))
    assert not registry.is_remapped(remap_key("shop", "items", 42))


def test_registry_cannot_reverse_v5_or_foreign_uuids():
    registry = KeyRegistry([("shop", "orders")])
    for u in (
        remap_key("shop", "orders", "ckxyz"),
        remap_key("shop", "orders", -1),
        remap_key("shop", "orders", KEY_LIMIT),
        uuid.UUID("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"),
        uuid.UUID(int=0),
    ):
        assert registry.reverse(u) is None
        assert not registry.is_remapped(u)


def test_registry_checks_the_variant_bits():
    u = remap_key("shop", "orders", 42)
    registry = KeyRegistry([("shop", "orders")])
    tampered = uuid.UUID(int=u.int ^ (1 << 63))  # variant 10 -> 00
    assert registry.reverse(tampered) is None


def test_registry_tolerates_duplicates_and_is_empty_by_default():
    assert len(KeyRegistry([("a", "b"), ("a", "b")])) == 1
    assert KeyRegistry([]).reverse(remap_key("a", "b", 1)) is None


def test_legacy_key_is_frozen():
    key = LegacyKey("a", "b", 1)
    with pytest.raises(AttributeError):
        key.key = 2  # type: ignore[misc]


# --- properties ----------------------------------------------------------------------------


@given(names, names, any_keys)
def test_remap_is_deterministic(db, table, key):
    first = remap_key(db, table, key)
    table_namespace.cache_clear()  # the cache must not be what makes it stable
    assert remap_key(db, table, key) == first


@given(st.lists(st.tuples(names, names, any_keys), min_size=2, max_size=30,
                unique_by=lambda t: (t[0], t[1], canonical(t[2]))))
def test_remap_is_injective(triples):
    uuids = [remap_key(db, table, key) for db, table, key in triples]
    assert len(set(uuids)) == len(triples)


@given(st.lists(st.tuples(names, names), min_size=1, max_size=5, unique=True), v8_keys, st.data())
def test_reverse_inverts_remap(tables, key, data):
    db, table = data.draw(st.sampled_from(tables))
    registry = KeyRegistry(tables)
    u = remap_key(db, table, key)
    assert registry.reverse(u) == LegacyKey(db, table, key)
    assert registry.is_remapped(u)


@given(names, names, v8_keys)
def test_v8_uuids_have_version_8_and_rfc_variant(db, table, key):
    u = remap_key(db, table, key)
    assert u.version == 8
    assert u.variant == uuid.RFC_4122
    assert remap_key(db, table, str(key)) == u


@given(names, names, st.uuids())
def test_existing_uuids_are_unchanged(db, table, u):
    assert remap_key(db, table, u) == u
    assert remap_key(db, table, str(u)) == u


@given(names, names, st.one_of(st.integers(max_value=-1), st.integers(min_value=KEY_LIMIT), string_keys))
def test_other_keys_are_v5_and_not_reversible(db, table, key):
    kind, value = canonical(key)
    assume(not (kind == "int" and 0 <= value < KEY_LIMIT))  # in-range digit text is an int key
    u = remap_key(db, table, key)
    assert u.version == 5
    assert KeyRegistry([(db, table)]).reverse(u) is None


@given(names, names, st.one_of(any_keys, st.uuids(), st.none()))
def test_the_bound_remapper_of_the_hot_path_equals_remap_key(db, table, key):
    """key_remapper takes a short path for in-range ints; it must agree with remap_key
    on every key (and keep None as None), including the UUID's hash and text."""
    got = key_remapper(db, table)(key)
    if key is None:
        assert got is None
        return
    want = remap_key(db, table, key)
    assert got == want and str(got) == str(want) and hash(got) == hash(want) and got.version == want.version
