"""How the sink spells a key in its tombstones and parked writes, on real PostgreSQL.

A hard delete leaves a tombstone keyed by the row's key text, and every later write checks
it, so two things must hold: two different keys never share a text (else deleting one
refuses writes to, or with the old split-on-'|' match even deletes, the other), and the
text a delete stores is the text a later write computes, whatever Python type carried the
key and whatever the session's TimeZone. Format 1 (Python's `str` of each part joined by
'|') broke both: ('a|b', 'c') and ('a', 'b|c') shared 'a|b|c', and a timestamptz key was
'2024-01-01 00:00:00+00:00' in a tombstone but '2024-01-01 00:00:00+00' in the check, so an
older replayed upsert brought the deleted row back. `prepare` rewrites format-1 keys."""

from __future__ import annotations

import datetime as dt

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from replicator.apply.sink import _key_text_sql
from replicator.mapping.engine import TargetOp
from tests.integration.sink_targets import MEMBERSHIPS, MEMBERSHIPS_DDL, MYSQL_SOURCE, prepared_sink

pytestmark = pytest.mark.stack

MAPPING = MYSQL_SOURCE + """
  - source: main
    table: Label
    key: [scope, name]
    dropped: []
    targets:
      - table: app.labels
        key: [scope, name]
        columns: {scope: scope, name: name, color: color}
        on_delete: hard
  - source: main
    table: Reading
    key: [at]
    dropped: []
    targets:
      - table: app.readings
        key: [at]
        columns: {at: at, value: {from: value, type: int}}
        on_delete: hard
""" + MEMBERSHIPS

DDL = "CREATE SCHEMA app;\n" + MEMBERSHIPS_DDL + """
CREATE TABLE app.labels (scope text NOT NULL, name text NOT NULL, color text, PRIMARY KEY (scope, name));
CREATE TABLE app.readings (at timestamptz PRIMARY KEY, value int);
"""

T1 = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)


@pytest.fixture()
def target(stack, tmp_path):
    sink, ms = prepared_sink(stack, tmp_path, MAPPING, DDL)
    yield sink
    sink.conn.close()


def contributor(sink, table: str) -> str:
    [t] = sink._feeds[table]
    return t.contributor


def upsert(sink, table, key, values, pos):
    return TargetOp(table, "upsert", key, values, contributor(sink, table), (1, pos, 0))


def delete(sink, table, key, pos):
    return TargetOp(table, "delete", key, {}, contributor(sink, table), (1, pos, 0))


def apply(sink, ops, timezone: str = "UTC"):
    with sink.conn.transaction():
        sink.conn.execute(f"SET LOCAL TimeZone = '{timezone}'")
        return sink.apply(ops)


def labels(sink):
    return sorted(sink.conn.execute("SELECT scope, name FROM app.labels").fetchall())


def test_composite_text_keys_holding_the_separator_stay_distinct(target):
    sink = target
    apply(sink, [upsert(sink, "app.labels", k, {"scope": k[0], "name": k[1], "color": "c"}, 1)
                 for k in [("a", "b"), ("a|b", "c"), ("x", "y")]])
    stats = apply(sink, [delete(sink, "app.labels", ("a|b", "c"), 10)])
    # the split-on-'|' match read ('a|b', 'c') as ('a', 'b') and deleted that row instead
    assert stats.deleted == 1 and labels(sink) == [("a", "b"), ("x", "y")]
    # an older write of another key must not meet the deleted key's tombstone: format 1
    # spelled ('a', 'b|c') and ('a|b', 'c') both 'a|b|c', and refused this upsert
    stats = apply(sink, [upsert(sink, "app.labels", ("a", "b|c"), {"scope": "a", "name": "b|c", "color": "c"}, 5)])
    assert stats.upserted == 1 and ("a", "b|c") in labels(sink)
    # while the deleted key itself stays deleted against an older replay
    stats = apply(sink, [upsert(sink, "app.labels", ("a|b", "c"), {"scope": "a|b", "name": "c", "color": "c"}, 5)])
    assert stats.upserted == 0 and ("a|b", "c") not in labels(sink)


def test_a_deleted_timestamp_key_stays_deleted_whatever_the_session_time_zone(target):
    sink = target
    apply(sink, [upsert(sink, "app.readings", (T1,), {"at": T1, "value": 1}, 1)])
    assert apply(sink, [delete(sink, "app.readings", (T1,), 10)], timezone="Asia/Tokyo").deleted == 1
    # an older event replayed (a rewound consumer) under another time zone
    stats = apply(sink, [upsert(sink, "app.readings", (T1,), {"at": T1, "value": 1}, 5)], timezone="UTC")
    assert stats.upserted == 0 and stats.stale == 1
    assert sink.conn.execute("SELECT count(*) FROM app.readings").fetchone()[0] == 0
    sink.conn.rollback()


def test_prepare_rewrites_keys_stored_in_format_1(target):
    sink = target
    conn = sink.conn
    with conn.transaction():  # what format 1 stored: Python's text of each part, joined by '|'
        for table, key in [("app.labels", "q|r"), ("app.memberships", "2|1"), ("app.readings", str(T1))]:
            conn.execute("INSERT INTO _replicator.tombstones VALUES (%s, %s, %s, '{1,10,0}')",
                         (table, contributor(sink, table), key))
        conn.execute("DELETE FROM _replicator.formats")
    sink.prepare()
    conn.commit()
    stored = dict(conn.execute("SELECT target_table, key FROM _replicator.tombstones").fetchall())
    assert stored == {"app.labels": "(q,r)", "app.memberships": "(2,1)", "app.readings": "2024-01-01 00:00:00.000000"}
    # and they still refuse older writes of their keys
    refused = [apply(sink, [op]).stale for op in [
        upsert(sink, "app.labels", ("q", "r"), {"scope": "q", "name": "r", "color": "c"}, 5),
        upsert(sink, "app.memberships", (2, 1), {"user_id": 2, "org_id": 1, "role": "x"}, 5),
        upsert(sink, "app.readings", (T1,), {"at": T1, "value": 1}, 5)]]
    assert refused == [1, 1, 1]
    assert conn.execute("SELECT version FROM _replicator.formats WHERE name = 'key_text'").fetchone() == (2,)


# every way to split a string in two is a different key with the same characters in the
# same order: exactly the keys a text that joins its parts with a separator confuses
_WHOLE = st.text(alphabet='a|,"() \\', max_size=5)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(wholes=st.lists(_WHOLE, min_size=1, max_size=10))
def test_distinct_composite_keys_never_share_a_text(target, wholes):
    """Different (text, text) keys get different key texts, as PostgreSQL computes them for
    tombstones: separators, quotes, parentheses, backslashes, spaces and '' included."""
    keys = sorted({(w[:i], w[i:]) for w in wholes for i in range(len(w) + 1)})
    texts = target.conn.execute(
        psycopg.sql.SQL("SELECT {} FROM unnest(%s::text[], %s::text[]) AS d(a, b)").format(
            _key_text_sql([psycopg.sql.SQL("d.a"), psycopg.sql.SQL("d.b")], ["text", "text"])),
        ([a for a, _ in keys], [b for _, b in keys])).fetchall()
    target.conn.rollback()
    assert len({t for (t,) in texts}) == len(keys), sorted(texts)
