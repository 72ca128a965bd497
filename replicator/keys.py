"""Deterministic remapping of legacy keys (integers, cuids) to UUIDs.

Contract: the same legacy row always gets the same UUID, on every pod, in the backfill and
in the stream, so foreign keys are remapped by computing, never by looking up. The UUID is
a pure function of (source database, source table, source key); nothing here depends on
process state, hash seeds or the clock.

Three cases, decided by the key:

* Existing UUIDs (a ``uuid.UUID``, or text in the canonical 36-character hyphenated form)
  are kept as they are.
* Integers in ``[0, 2**62)`` become reversible RFC 9562 version-8 UUIDs::

      | 48 bits namespace[0:48] | ver 8 | 12 bits namespace[48:60] | var 10 | 62 bits key |

  where the namespace is the first 60 bits of sha256(f"{source_db}\\x00{source_table}").
  The table is identified by the namespace bits and the key is embedded exactly, so
  ``KeyRegistry.reverse`` can recover (db, table, key) from the UUID alone.
  A string of ASCII decimal digits in canonical form ("42", not "042" or "+42") is treated
  exactly like the integer: MySQL keys sometimes arrive as strings, and "42" and 42 must
  be the same row. Non-canonical digit strings are ordinary strings (below), so distinct
  varchar keys such as "042" and "42" never collide.
* Anything else (cuid and other strings, negative integers, integers >= 2**62) becomes
  ``uuid5(NAMESPACE, f"{db}\\x00{table}\\x00{tag}\\x00{key}")`` with tag "int" or "str".
  Version-5 UUIDs are one-way: going back needs the key map the caller keeps.

Database and table names must not contain NUL (no real identifier does); that is what
makes the NUL-separated hash inputs unambiguous.
"""

from __future__ import annotations

import functools
import hashlib
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from replicator.mapping.inline import InlineCase

__all__ = [
    "NAMESPACE",
    "KEY_LIMIT",
    "KeyRegistry",
    "LegacyKey",
    "key_remapper",
    "remap_key",
    "table_namespace",
]

# uuid5(NAMESPACE_URL, "replicator:legacy-key"), spelled out: changing it would change
# every remapped key and break every foreign key already written
NAMESPACE = uuid.UUID("83cbec42-3d02-5a82-9a1b-4b21b8f07afb")

# integer keys below this are embedded in a version-8 uuid
KEY_LIMIT = 1 << 62

_KEY_MASK = KEY_LIMIT - 1
_NAMESPACE_BITS = 60
_VERSION_8 = 0x8 << 76
_VARIANT_RFC = 0b10 << 62
# version nibble and variant bits, the fields that mark one of our version-8 uuids
_MARK_MASK = (0xF << 76) | (0b11 << 62)
_MARK = _VERSION_8 | _VARIANT_RFC

_CANONICAL_UUID = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
)


@functools.lru_cache(maxsize=4096)
def table_namespace(source_db: str, source_table: str) -> int:
    """The 60-bit namespace of a source table: the first 60 bits of sha256(db NUL table)."""
    if "\x00" in source_db or "\x00" in source_table:
        raise ValueError("source database and table names must not contain NUL")
    digest = hashlib.sha256(f"{source_db}\x00{source_table}".encode()).digest()
    return int.from_bytes(digest[:8], "big") >> (64 - _NAMESPACE_BITS)


def _namespace_fields(namespace: int) -> int:
    # high 48 bits go before the version nibble, low 12 bits between version and variant
    return ((namespace >> 12) << 80) | ((namespace & 0xFFF) << 64)


@functools.lru_cache(maxsize=4096)
def _v8_prefix(source_db: str, source_table: str) -> int:
    # everything but the key, so the per-row work is one or and one UUID()
    return _namespace_fields(table_namespace(source_db, source_table)) | _MARK


def _v5(source_db: str, source_table: str, tag: str, key: object) -> uuid.UUID:
    # validates the names (and caches the namespace for later v8 calls)
    table_namespace(source_db, source_table)
    return uuid.uuid5(NAMESPACE, f"{source_db}\x00{source_table}\x00{tag}\x00{key}")


def _from_int(source_db: str, source_table: str, key: int) -> uuid.UUID:
    if 0 <= key < KEY_LIMIT:
        return _uuid_of_int(_v8_prefix(source_db, source_table) | key)
    return _v5(source_db, source_table, "int", key)


def remap_key(source_db: str, source_table: str, key: int | str | uuid.UUID) -> uuid.UUID:
    """The target UUID of one legacy key; deterministic, see the module docstring.

    Raises ``TypeError`` for a bool or any type other than int, str and UUID, and
    ``ValueError`` for an empty string or names containing NUL.
    """
    if type(key) is int:
        return _from_int(source_db, source_table, key)
    if isinstance(key, uuid.UUID):
        return key
    if isinstance(key, str):
        if not key:
            raise ValueError("an empty string is not a key")
        if key.isascii() and key.isdigit() and (key[0] != "0" or len(key) == 1):
            # canonical decimal text is the same key as the integer it spells
            return _from_int(source_db, source_table, int(key))
        if len(key) == 36 and _CANONICAL_UUID.fullmatch(key):
            return uuid.UUID(key)
        return _v5(source_db, source_table, "str", key)
    if isinstance(key, bool):
        raise TypeError("a boolean is not a key")
    if isinstance(key, int):
        # an int subclass (an IntEnum, say) is the integer it holds
        return _from_int(source_db, source_table, int(key))
    raise TypeError(f"unsupported key type {type(key).__name__}")


_new_object = object.__new__
_set_slot = object.__setattr__
_SAFE_UNKNOWN = uuid.SafeUUID.unknown


def _uuid_of_int(value: int) -> uuid.UUID:
    # what uuid.UUID(int=value) does, minus its argument checks (value is in range by
    # construction): half the cost, and this runs once per row on the apply path
    u = _new_object(uuid.UUID)
    _set_slot(u, "int", value)
    _set_slot(u, "is_safe", _SAFE_UNKNOWN)
    return u


def key_remapper(source_db: str, source_table: str):
    """`remap_key` bound to one table, for the hot path: None stays None.

    Same results as `remap_key(source_db, source_table, key)` for every key (a property
    test holds them equal); the common in-range integer takes a short path.
    """
    prefix = _v8_prefix(source_db, source_table)  # validates the names once

    def remap(key: object) -> uuid.UUID | None:
        if type(key) is int and 0 <= key < KEY_LIMIT:
            return _uuid_of_int(prefix | key)
        return None if key is None else remap_key(source_db, source_table, key)  # type: ignore[arg-type]
    # the first branch, for the compiled mapping to evaluate in place of the call
    remap.inline = InlineCase("type({v}) is int and 0 <= {v} < {LIMIT}",  # type: ignore[attr-defined]
                              "{uuid_of_int}({prefix} | {v})",
                              {"LIMIT": KEY_LIMIT, "uuid_of_int": _uuid_of_int, "prefix": prefix},
                              "uuid_of_int")
    return remap


@dataclass(frozen=True, slots=True)
class LegacyKey:
    """The source row a version-8 UUID was made from."""

    source_db: str
    source_table: str
    key: int


class KeyRegistry:
    """Turns our version-8 UUIDs back into legacy keys, for the tables it knows.

    Only version-8 UUIDs are reversible. A version-5 UUID (cuid or out-of-range integer
    key) carries no recoverable key: the caller must look it up in the key map it keeps
    (legacy key -> UUID, written when the row was remapped).
    """

    __slots__ = ("_tables",)

    def __init__(self, tables: Iterable[tuple[str, str]]) -> None:
        by_namespace: dict[int, tuple[str, str]] = {}
        for source_db, source_table in tables:
            namespace = table_namespace(source_db, source_table)
            known = by_namespace.setdefault(namespace, (source_db, source_table))
            if known != (source_db, source_table):
                # 60 bits make this astronomically unlikely, but it must never be silent
                raise ValueError(
                    f"tables {known[0]}.{known[1]} and {source_db}.{source_table} "
                    "share a key namespace"
                )
        self._tables = by_namespace

    def __len__(self) -> int:
        return len(self._tables)

    def __contains__(self, table: object) -> bool:
        if not (isinstance(table, tuple) and len(table) == 2):
            return False
        source_db, source_table = table
        if not (isinstance(source_db, str) and isinstance(source_table, str)):
            return False
        try:
            namespace = table_namespace(source_db, source_table)
        except ValueError:
            return False
        return self._tables.get(namespace) == table

    def reverse(self, u: uuid.UUID) -> LegacyKey | None:
        """The legacy key of a version-8 UUID made for a registered table, else None."""
        value = u.int
        if value & _MARK_MASK != _MARK:
            return None
        namespace = ((value >> 80) << 12) | ((value >> 64) & 0xFFF)
        table = self._tables.get(namespace)
        if table is None:
            return None
        return LegacyKey(table[0], table[1], value & _KEY_MASK)

    def is_remapped(self, u: uuid.UUID) -> bool:
        """True when ``u`` is certainly one of our remapped keys (a reversible version-8 UUID).

        False for everything else, including our version-5 UUIDs: those look like any other
        name-based UUID, and only the caller's key map can tell them apart.
        """
        return self.reverse(u) is not None
