"""Union feeds on the real stack: several legacy tables creating distinct rows of one table.

`union: true` feeds (here: ApiIntegration with integer keys, WaConfig with cuid keys,
SlackInstallation with integer keys, all into app.integrations with overlapping columns).

* The sink, unchanged: each feed upserts and deletes its own rows with its own position
  column and tombstones. For random sequences of events of both feeds, applied in random
  batches, replaying any prefix leaves the target unchanged, and every row carries exactly
  one non-NULL `_pos_*`.
* The reconciler and `replicator.compare`: a feed's rows are those it wrote, so another
  union feed's rows are never its extras. A clean union table is clean; a missing row of one
  feed, an extra row of another and a different row of the third are each found once,
  under the right feed; `--repair` fixes them.
"""

from __future__ import annotations

import psycopg
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from replicator.compare import compare
from replicator.events import ChangeEvent, KafkaCoordinates
from replicator.keys import remap_key
from replicator.reconcile.source_reader import SourceReader
from replicator.stack.workspace import mysql
from tests.integration.sink_targets import prepared_sink
from tests.integration.test_reconcile import custom_world, drop, table_of

pytestmark = pytest.mark.stack

# --- the sink ----------------------------------------------------------------------------------------

SINK_MAPPING = """
version: 1
sources:
  main: {kind: mysql, topic_prefix: main, database: main}
tables:
  - source: main
    table: ApiIntegration
    targets:
      - table: app.integrations
        union: true
        columns:
          id: {key: id}
          type: {const: api}
          name: name
          level: {from: level, type: int}
  - source: main
    table: WaConfig
    targets:
      - table: app.integrations
        union: true
        columns:
          id: {key: id}
          type: {const: whatsapp}
          name: {const: WhatsApp}
          phone: phone
"""

SINK_DDL = """
CREATE SCHEMA app;
CREATE TABLE app.integrations (id uuid PRIMARY KEY, type text NOT NULL, name text NOT NULL, level int, phone text);
"""

# the same small legacy keys in both tables (4 cuids for WaConfig): they must never meet
TABLES = {"ApiIntegration": lambda k, v: {"id": k, "name": f"n{v}", "level": v},
          "WaConfig": lambda k, v: {"id": f"clwa{k:02d}", "phone": f"+1555{v:04d}"}}
POS = ("_pos_apiintegration", "_pos_waconfig")


@pytest.fixture(scope="module")
def db(stack, tmp_path_factory):
    sink, ms = prepared_sink(stack, tmp_path_factory.mktemp("union"), SINK_MAPPING, SINK_DDL)
    name = sink.conn.info.dbname
    yield sink.conn, sink, ms
    sink.conn.close()
    drop(stack, pg_dbs=[name])


step = st.tuples(st.sampled_from(sorted(TABLES)), st.integers(1, 4), st.sampled_from("cud"), st.integers(0, 99))


def events(steps) -> list[ChangeEvent]:
    out = []
    for i, (table, k, op, v) in enumerate(steps):
        image = TABLES[table](k, v)
        out.append(ChangeEvent(kind="change", coordinates=KafkaCoordinates("t", 0, i), source_connector="mysql",
                               source_name="main", database="main", table=table, op=op,
                               before=image if op == "d" else None, after=None if op == "d" else image,
                               position=(1, 100 + i, 0), source_ts_ms=1_700_000_000_000 + i))
    return out


def apply_in_batches(conn, sink, ms, evs, cuts) -> None:
    bounds = sorted({0, len(evs), *[c % (len(evs) + 1) for c in cuts]})
    for a, b in zip(bounds, bounds[1:]):
        ops = [op for e in evs[a:b] for op in ms.map_event(e)]
        with conn.transaction():
            sink.apply(ops)


def state(conn) -> list[tuple]:
    return conn.execute(f"SELECT id, type, name, level, phone, {', '.join(POS)} FROM app.integrations "
                        "ORDER BY id").fetchall()


def expected_state(steps) -> dict:
    """The last event per (table, key) decides: (type, name, level, phone) or gone."""
    last: dict = {}
    for table, k, op, v in steps:
        last[(table, k)] = None if op == "d" else v
    out = {}
    for (table, k), v in last.items():
        if v is None:
            continue
        if table == "ApiIntegration":
            out[remap_key("main", "ApiIntegration", k)] = ("api", f"n{v}", v, None)
        else:
            out[remap_key("main", "WaConfig", f"clwa{k:02d}")] = ("whatsapp", "WhatsApp", None, f"+1555{v:04d}")
    return out


def check_rows(rows, steps) -> None:
    assert {r[0]: tuple(r[1:5]) for r in rows} == expected_state(steps)
    for r in rows:
        api_pos, wa_pos = r[5], r[6]
        assert (api_pos is None) != (wa_pos is None), r  # exactly one feed wrote the row
        assert (r[1] == "api") == (api_pos is not None), r


def reset(conn) -> None:
    with conn.transaction():
        conn.execute("TRUNCATE app.integrations, _replicator.tombstones, _replicator.pending")


@settings(max_examples=80, deadline=None, phases=[Phase.explicit, Phase.generate],
          suppress_health_check=[HealthCheck.function_scoped_fixture], database=None)
@given(steps=st.lists(step, min_size=1, max_size=30), cuts=st.lists(st.integers(0, 40), max_size=4),
       prefix=st.integers(0, 30), replay_cuts=st.lists(st.integers(0, 40), max_size=4))
def test_union_feeds_replaying_any_prefix_leaves_the_target_as_applying_once(db, steps, cuts, prefix, replay_cuts):
    conn, sink, ms = db
    reset(conn)
    evs = events(steps)
    apply_in_batches(conn, sink, ms, evs, cuts)
    once = state(conn)
    check_rows(once, steps)
    apply_in_batches(conn, sink, ms, evs[: min(prefix, len(evs))], replay_cuts)
    assert state(conn) == once
    apply_in_batches(conn, sink, ms, evs, replay_cuts)
    assert state(conn) == once


def test_each_union_feed_writes_and_deletes_only_its_own_rows(db):
    conn, sink, ms = db
    reset(conn)
    steps = [("ApiIntegration", 1, "c", 1), ("WaConfig", 1, "c", 2), ("ApiIntegration", 2, "c", 3),
             ("WaConfig", 2, "c", 4), ("ApiIntegration", 1, "u", 5), ("WaConfig", 2, "d", 4),
             ("ApiIntegration", 2, "d", 3), ("WaConfig", 1, "u", 6)]
    apply_in_batches(conn, sink, ms, events(steps), [3])
    rows = state(conn)
    check_rows(rows, steps)
    assert sorted((r[1], r[2]) for r in rows) == [("api", "n5"), ("whatsapp", "WhatsApp")]
    tombs = conn.execute("SELECT contributor, key FROM _replicator.tombstones ORDER BY 1").fetchall()
    assert tombs == [("apiintegration", str(remap_key("main", "ApiIntegration", 2))),
                     ("waconfig", str(remap_key("main", "WaConfig", "clwa02")))]
    # an old create of the deleted WhatsApp row, replayed, does not resurrect it
    apply_in_batches(conn, sink, ms, events(steps[:4]), [])
    assert state(conn) == rows


# --- the reconciler and compare ----------------------------------------------------------------------

RECONCILE_MAPPING = """
version: 1
sources:
  m: {kind: mysql, topic_prefix: m, database: "${U_DB}", key_namespace: m}
tables:
  - source: m
    table: ApiIntegration
    targets:
      - table: app.integrations
        union: true
        columns:
          id: {key: id}
          type: {const: api}
          name: name
          config: {from: config, type: json}
  - source: m
    table: WaConfig
    targets:
      - table: app.integrations
        union: true
        columns:
          id: {key: id}
          type: {const: whatsapp}
          name: {const: WhatsApp}
          config: {pack: {phone: phone}}
  - source: m
    table: SlackInstallation
    targets:
      - table: app.integrations
        union: true
        columns:
          id: {key: id}
          type: {const: slack}
          name: {from: teamName, default: Slack}
          config: {pack: {team_id: teamId}}
"""
RECONCILE_LEGACY = """
CREATE TABLE ApiIntegration (id INT NOT NULL PRIMARY KEY, name VARCHAR(64) NOT NULL, config JSON);
CREATE TABLE WaConfig (id VARCHAR(30) NOT NULL PRIMARY KEY, phone VARCHAR(32));
CREATE TABLE SlackInstallation (id INT NOT NULL PRIMARY KEY, teamId VARCHAR(32) NOT NULL, teamName VARCHAR(64))
"""
RECONCILE_TARGET = """
CREATE SCHEMA app;
CREATE TABLE app.integrations (id uuid PRIMARY KEY, type text NOT NULL, name text NOT NULL,
                               config jsonb NOT NULL DEFAULT '{}');
"""


def _union_world(stack, tmp_path):
    w = custom_world(stack, tmp_path, RECONCILE_MAPPING, RECONCILE_LEGACY, RECONCILE_TARGET, "U_DB")
    with mysql(stack, w.src) as c, c.cursor() as cur:
        # the same integer ids in two tables, and more rows than a chunk
        cur.executemany("INSERT INTO ApiIntegration VALUES (%s, %s, %s)",
                        [(i, f"key {i}", '{"scopes": ["a"]}' if i % 2 else '{}') for i in range(1, 131)])
        cur.executemany("INSERT INTO WaConfig VALUES (%s, %s)",
                        [(f"clwa{i:04d}x", f"+1555{i:04d}") for i in range(1, 121)])
        cur.executemany("INSERT INTO SlackInstallation VALUES (%s, %s, %s)",
                        [(i, f"T{i}", None if i % 3 else f"team {i}") for i in range(1, 111)])
    w.fill_target()
    return w


def _compare_all(w) -> dict:
    out = {}
    with psycopg.connect(w.stack.postgres.dsn(w.tgt)) as target:
        for tm in w.ms.tables.values():
            r = SourceReader(tm.source_name, tm.source, w.sources[tm.source_name])
            rows = r.read_chunk(tm.spec.table, sorted(r.columns(tm.spec.table)), tm.spec.key, limit=10_000)
            r.close()
            [d] = compare(tm, rows, target)
            out[d.contributor] = d
    return out


def test_reconcile_and_compare_tell_union_feeds_apart(stack, tmp_path):
    w = _union_world(stack, tmp_path)
    try:
        assert w.target("SELECT count(*) FROM app.integrations")[0] == [(360,)]
        r = w.run()
        t = table_of(r, "app.integrations")
        # clean: no feed's rows are another feed's extras (ranges, buckets, outside a namespace)
        assert r.exit_code == 0 and t.clean and t.rows_checked == 360, t.to_json()
        assert {f["contributor"]: f["strategy"] for f in t.feeds} == \
            {"apiintegration": "v8", "waconfig": "buckets", "slackinstallation": "v8"}
        assert all(d.clean and d.checked for d in _compare_all(w).values())

        api7, wa5, slack9 = remap_key("m", "ApiIntegration", 7), remap_key("m", "WaConfig", "clwa0005x"), \
            remap_key("m", "SlackInstallation", 9)
        w.target(f"DELETE FROM app.integrations WHERE id = '{api7}'")  # missing, ApiIntegration
        w.source(w.src, "DELETE FROM WaConfig WHERE id = 'clwa0005x'")  # its row stays: extra, WaConfig
        w.target(f"UPDATE app.integrations SET name = 'renamed' WHERE id = '{slack9}'")  # different, Slack
        r = w.run()
        t = table_of(r, "app.integrations")
        assert r.exit_code == 1
        assert (t.counts["missing"], t.counts["extra"], t.counts["different"]) == (1, 1, 1), t.to_json()
        [missing], [extra], [different] = t.samples["missing"], t.samples["extra"], t.samples["different"]
        assert (missing["contributor"], missing["new"], missing["legacy"]) == \
            ("apiintegration", {"id": str(api7)}, {"table": "m.ApiIntegration", "key": {"id": 7}})
        assert (extra["contributor"], extra["new"]) == ("waconfig", {"id": str(wa5)})
        assert (different["contributor"], different["new"], different["columns"]) == \
            ("slackinstallation", {"id": str(slack9)}, ["name"])

        diffs = _compare_all(w)
        assert [len(diffs["apiintegration"].missing), len(diffs["apiintegration"].extra)] == [1, 0]
        assert diffs["waconfig"].extra == [("?", (wa5,))] and not diffs["waconfig"].missing
        assert [x[1:] for x in diffs["slackinstallation"].different] == [((slack9,), ["name"])]
        assert not diffs["slackinstallation"].extra and not diffs["slackinstallation"].missing

        # repair goes through the sink: each feed's own row, its own position and tombstone
        r = w.run(repair=True)
        t = table_of(r, "app.integrations")
        assert r.exit_code == 0 and t.repair["after"] == {"missing": 0, "extra": 0, "different": 0}, t.to_json()
        assert w.target("SELECT contributor FROM _replicator.tombstones")[0] == [("waconfig",)]
        (n_multi,), = w.target("SELECT count(*) FROM app.integrations WHERE "
                               "num_nonnulls(_pos_apiintegration, _pos_waconfig, _pos_slackinstallation) <> 1")[0]
        assert n_multi == 0
        assert w.run().exit_code == 0
    finally:
        drop(stack, [w.src], [w.tgt])


def test_a_union_feed_without_its_position_column_cannot_run(stack, tmp_path):
    w = custom_world(stack, tmp_path, RECONCILE_MAPPING, RECONCILE_LEGACY, RECONCILE_TARGET, "U_DB")
    try:
        r = w.run()  # the pipeline never prepared the target: no _pos_ columns
        assert r.exit_code == 2 and "_pos_apiintegration" in r.error and "union" in r.error, r.error
    finally:
        drop(stack, [w.src], [w.tgt])
