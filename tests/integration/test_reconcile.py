"""`replicator reconcile` on the real stack.

Each test has its own source and target databases. The target is first made "the
pipeline's result" by writing every mapped source row through the PostgresSink; then one
kind of difference is planted and the reconciler must report exactly that (counts and keys
in both vocabularies). Then: the slice with the real pipeline running (ReplicatorProcess +
Debezium) and a concurrent writer must give no false positive; a stopped run resumes from
its checkpoint; --repair fixes what it finds; exit codes through the CLI; the Chipp
mappings (three sources, splits, merges, cross-database refs) reconcile clean.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import threading
import time
import uuid
from decimal import Decimal
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest
from click.testing import CliRunner
from prometheus_client import REGISTRY

from replicator.apply.sink import PostgresSink
from replicator.cli import main as cli
from replicator.keys import remap_key
from replicator.mapping.engine import MappingSet
from replicator.mapping.loader import load_mappings
from replicator.reconcile import digest as dg
from replicator.reconcile.engine import Options, run
from replicator.reconcile.source_reader import SourceReader
from replicator.stack.manager import REPO_ROOT
from replicator.stack.workspace import ReplicatorProcess, create_source_db, create_target_db, mysql, unique, wait_for

pytestmark = pytest.mark.stack

SLICE_DIR = REPO_ROOT / "config" / "mappings"
SLICE_DDL = REPO_ROOT / "config" / "legacy" / "slice_main.sql"
SLICE_TARGET = REPO_ROOT / "config" / "target" / "slice.sql"


# --- helpers ---------------------------------------------------------------------------------------


class World:
    """One test's databases, mapping and a way to run the reconciler on them."""

    def __init__(self, stack, tmp_path: Path, mapping: Path, env: dict[str, str], sources: dict[str, dict], tgt: str):
        self.stack, self.tmp, self.mapping, self.env, self.sources, self.tgt = stack, tmp_path, mapping, env, sources, tgt
        self.ms: MappingSet = load_mappings([mapping], env=env)

    def options(self, **kw) -> Options:
        base = dict(mapping_paths=[self.mapping], target_dsn=self.stack.postgres.dsn(self.tgt), env=self.env,
                    source_params=self.sources, recheck_wait=0.5, chunk_size=50, progress=False, resume=False)
        base.update(kw)
        return Options(**base)

    def run(self, **kw):
        return run(self.options(**kw))

    def target(self, *stmts, args=None) -> list:
        out = []
        with psycopg.connect(self.stack.postgres.dsn(self.tgt), autocommit=True) as c:
            for s in stmts:
                cur = c.execute(s, args)
                out.append(cur.fetchall() if cur.description else None)
        return out

    def source(self, db: str, *stmts: str) -> None:
        with mysql(self.stack, db) as c, c.cursor() as cur:
            for s in stmts:
                cur.execute(s)

    def fill_target(self, position=(1, 0, 0)) -> None:
        """The pipeline's result: every mapped source row written through the sink."""
        with psycopg.connect(self.stack.postgres.dsn(self.tgt)) as conn:
            sink = PostgresSink(conn, self.ms)
            sink.prepare()
            from replicator.target import suspend
            with conn.transaction():
                suspend(conn, sorted(self.ms.target_tables()))
            ops = []
            for tm in self.ms.tables.values():
                if tm.spec.skip:
                    continue
                r = SourceReader(tm.source_name, tm.source, self.sources[tm.source_name])
                cols = sorted(r.columns(tm.spec.table))
                after = None
                while True:
                    rows = r.read_chunk(tm.spec.table, cols, tm.spec.key, after=after, limit=5000)
                    for row in rows:
                        ops += tm.map_row("r", row, position)
                    if len(rows) < 5000:
                        break
                    after = tuple(rows[-1][k] for k in tm.spec.key)
                r.close()
            with conn.transaction():
                sink.apply(ops)


def drop(stack, mysql_dbs=(), pg_dbs=()):
    with mysql(stack) as c, c.cursor() as cur:
        for db in mysql_dbs:
            cur.execute(f"DROP DATABASE IF EXISTS `{db}`")
    with psycopg.connect(stack.postgres.dsn("postgres"), autocommit=True) as c:
        for db in pg_dbs:
            c.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')


def u(table: str, key: int, ns: str = "legacy_main") -> uuid.UUID:
    return remap_key(ns, table, key)


def table_of(result, name):
    return next(t for t in result.tables if t.table == name)


def sample_keys(t, kind) -> set[str]:
    return {s["new"]["id"] if "id" in (s["new"] or {}) else tuple(s["new"].values())[0] for s in t.samples.get(kind, [])}


def developers(n: int, start: int = 1) -> list[tuple]:
    base = dt.datetime(2024, 1, 1, 8, 0, 0, 123000)
    return [(i, f" User{i}@Example.com", None if i % 7 == 0 else f"Name {i}", None if i % 3 else f"https://p/{i}",
             f"user{i}", i % 2, base + dt.timedelta(minutes=i), base + dt.timedelta(days=1, seconds=i))
            for i in range(start, start + n)]


def insert_developers(stack, db, rows) -> None:
    with mysql(stack, db) as c, c.cursor() as cur:
        cur.executemany("INSERT INTO Developer (id, email, name, pictureUrl, username, hasCompletedOnboarding, "
                        "createdAt, updatedAt) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)", rows)


@pytest.fixture
def slice_world(stack, tmp_path):
    src = create_source_db(stack, SLICE_DDL)
    tgt = create_target_db(stack, [SLICE_TARGET])
    insert_developers(stack, src, developers(300))
    w = World(stack, tmp_path, SLICE_DIR, {"LEGACY_MAIN_DATABASE": src}, {"legacy_main": stack.mysql_params(src)}, tgt)
    w.src = src
    w.fill_target()
    yield w
    drop(stack, [src], [tgt])


def plant_slice(w: World) -> dict:
    """One of each kind of difference in app.users; what the reconciler must report."""
    ghost, alien = u("Developer", 1000), uuid.UUID("00000000-0000-4000-8000-000000000001")
    w.target(
        f"DELETE FROM app.users WHERE id = '{u('Developer', 5)}'",
        f"INSERT INTO app.users (id, email) VALUES ('{ghost}', 'ghost@example.com'), ('{alien}', 'alien@example.com')",
        f"UPDATE app.users SET name = 'changed' WHERE id = '{u('Developer', 10)}'",
        # the pipeline read a UTC wall clock as Europe/Berlin: 2 hours early in June, 1 in January
        f"UPDATE app.users SET created_at = created_at - interval '1 hour' WHERE id = '{u('Developer', 20)}'",
        # a TINYINT(1) mis-normalised
        f"UPDATE app.users SET has_completed_onboarding = NOT has_completed_onboarding "
        f"WHERE id = '{u('Developer', 30)}'",
    )
    return {"missing": {str(u("Developer", 5))}, "extra": {str(ghost), str(alien)},
            "different": {str(u("Developer", 10)): ["name"], str(u("Developer", 20)): ["created_at"],
                          str(u("Developer", 30)): ["has_completed_onboarding"]}}


def assert_planted(t, want: dict) -> None:
    assert (t.counts["missing"], t.counts["extra"], t.counts["different"]) == \
        (len(want["missing"]), len(want["extra"]), len(want["different"])), t.to_json()
    assert sample_keys(t, "missing") == want["missing"]
    assert sample_keys(t, "extra") == want["extra"]
    got = {s["new"]["id"]: s["columns"] for s in t.samples["different"]}
    assert got == want["different"]


# --- canonical forms against the live server -------------------------------------------------------


def test_canonical_forms_equal_postgres_output(stack, tmp_path):
    tgt = create_target_db(stack, [])
    rng = random.Random(3)
    cases = {
        "uuid": [uuid.uuid4(), uuid.UUID(int=0)],
        "text": ["", "héllo", "tab\there", "x" * 300, "🙂 emoji", "\\N", "line\nbreak"],
        "bpchar(6)": ["ab", "abc   "],
        "int2": [0, -5, 32767], "int4": [2**31 - 1, -7], "int8": [2**62, -(2**63)],
        "numeric": [Decimal("1.500"), Decimal("-0.00"), Decimal("12345678901234567890.123456789"), Decimal("1E+3"), 7],
        "numeric(12,2)": [Decimal("10.5"), Decimal("0"), Decimal("-3.10")],
        "float8": [0.1, 1e15, 1e-5, -2.5, 1 / 3, 1e300, 5e-324] + [rng.uniform(-1e6, 1e6) for _ in range(30)]
        + [rng.random() * 10 ** rng.randint(-20, 20) for _ in range(30)],
        "float4": [0.1, 3.4e38, 1e-5] + [rng.uniform(-100, 100) for _ in range(20)],
        "bool": [True, False],
        "timestamptz": [dt.datetime(2024, 3, 31, 1, 30, 0, 5, tzinfo=dt.timezone.utc),
                        dt.datetime(99, 1, 1, tzinfo=dt.timezone.utc),
                        dt.datetime(2024, 6, 1, 12, tzinfo=dt.timezone(dt.timedelta(hours=-7)))],
        "timestamp": [dt.datetime(2024, 1, 2, 3, 4, 5, 600000), dt.datetime(1970, 1, 1)],
        "date": [dt.date(2024, 2, 29), dt.date(1, 1, 1)],
        "jsonb": [{"b": 1, "aa": [1.5, 2, None, "x\u0001y"], "é": {"z": True, "a": 1e-7}}, [1, "2"], "s", 3],
        "json": [{"b": 1, "a": 2.25}],
        "bytea": [b"", b"\x00\xff\x10"],
        "text[]": [["a", 'b"c', None, "", "é\\", "NULL", "x y"]],
        "uuid[]": [[uuid.uuid4(), uuid.uuid4()]],
        "int[]": [[1, None, -3]],
        "vector(3)": ["[1,0.1,-2.5e-7]", [0.333333, 1e10, -1.0]],
    }
    from psycopg.types.json import Json, Jsonb
    with psycopg.connect(stack.postgres.dsn(tgt), autocommit=True) as c:
        c.execute("CREATE EXTENSION IF NOT EXISTS vector")
        c.execute("CREATE TYPE mood AS ENUM ('sad', 'ok')")
        cases["mood"] = ["ok"]
        c.execute("SET TimeZone = 'America/New_York'")  # the canonical form must not depend on it
        for typ, values in cases.items():
            c.execute("DROP TABLE IF EXISTS canon")
            c.execute(f"CREATE TABLE canon (i int, v {typ})")
            values = [Jsonb(v) if typ == "jsonb" else Json(v) if typ == "json" else v for v in values]
            for i, v in enumerate(values):
                c.execute(f"INSERT INTO canon VALUES (%s, %s::{typ})", (i, v))
            (tn, tt, elem), = c.execute(
                "SELECT t.typname, t.typtype::text, et.typname FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid "
                "LEFT JOIN pg_type et ON et.oid = t.typelem AND t.typcategory = 'A' "
                "WHERE a.attrelid = 'canon'::regclass AND a.attname = 'v'").fetchall()
            kind = dg.kind_of(tn, tt, elem)
            c.execute("SET TimeZone = 'UTC'")
            got = dict(c.execute(f"SELECT i, {dg.sql_field(kind, 'v')} FROM canon").fetchall())
            c.execute("SET TimeZone = 'America/New_York'")
            for i, v in enumerate(values):
                assert dg.py_field_fn(kind)(v) == got[i], (typ, v)
    drop(stack, pg_dbs=[tgt])


# --- planted differences ---------------------------------------------------------------------------


def test_clean_slice_reports_nothing(slice_world):
    r = slice_world.run()
    t = table_of(r, "app.users")
    assert r.exit_code == 0, r.to_json()
    assert t.rows_checked == 300 and t.clean and t.feeds[0]["strategy"] == "v8"


def test_each_planted_difference_is_found_exactly(slice_world):
    want = plant_slice(slice_world)
    r = slice_world.run()
    assert r.exit_code == 1
    t = table_of(r, "app.users")
    assert_planted(t, want)
    legacy = {s["legacy"]["key"]["id"] for s in t.samples["missing"] + t.samples["different"]}
    assert legacy == {5, 10, 20, 30}
    ghost = next(s for s in t.samples["extra"] if s["new"]["id"] == str(u("Developer", 1000)))
    assert ghost["legacy"] == {"table": "legacy_main.Developer", "key": {"id": 1000}}  # reversed from the UUID
    assert t.columns == {"name": 1, "created_at": 1, "has_completed_onboarding": 1}
    # two workers and another chunk size find the same
    r2 = slice_world.run(workers=2, chunk_size=33)
    assert_planted(table_of(r2, "app.users"), want)


MERGE = """
version: 1
sources:
  m: {kind: mysql, topic_prefix: m, database: "${M_DB}", key_namespace: m}
tables:
  - source: m
    table: Account
    targets:
      - table: app.accounts
        columns:
          id: {key: id}
          name: name
          level: {from: level, type: int}
  - source: m
    table: AccountStats
    key: [accountId]
    targets:
      - table: app.accounts
        contributor: stats
        creates_row: false
        on_delete: clear
        columns:
          id: {ref: m.Account, ref_column: accountId}
          score: {from: score, type: int}
          verified: {from: verified, type: boolean}
"""
MERGE_LEGACY = """
CREATE TABLE Account (id INT NOT NULL PRIMARY KEY, name VARCHAR(64), level INT);
CREATE TABLE AccountStats (accountId INT NOT NULL PRIMARY KEY, score INT, verified TINYINT(1))
"""
MERGE_TARGET = """
CREATE SCHEMA app;
CREATE TABLE app.accounts (id uuid PRIMARY KEY, name text, level int, score int, verified boolean);
"""


def custom_world(stack, tmp_path, mapping: str, legacy: str, target: str, var: str, name: str = "m"):
    (tmp_path / "legacy.sql").write_text(legacy)
    src = create_source_db(stack, tmp_path / "legacy.sql")
    (tmp_path / "target.sql").write_text(target)
    tgt = create_target_db(stack, [tmp_path / "target.sql"])
    (tmp_path / "mapping.yaml").write_text(mapping)
    w = World(stack, tmp_path, tmp_path / "mapping.yaml", {var: src}, {name: stack.mysql_params(src)}, tgt)
    w.src = src
    return w


def test_merge_contributor_columns_and_missing_contributor_data(stack, tmp_path):
    w = custom_world(stack, tmp_path, MERGE, MERGE_LEGACY, MERGE_TARGET, "M_DB")
    try:
        w.source(w.src, "INSERT INTO Account VALUES " + ", ".join(f"({i}, 'acct {i}', {i % 5})" for i in range(1, 101)),
                 "INSERT INTO AccountStats VALUES " + ", ".join(f"({i}, {i * 3}, {i % 2})" for i in range(1, 81))
                 + ", (150, 1, 1)")
        w.fill_target()
        assert w.run().exit_code == 0
        a = lambda k: u("Account", k, "m")  # noqa: E731
        w.target(f"UPDATE app.accounts SET score = score + 1 WHERE id = '{a(10)}'",  # the stats contributor's column
                 f"UPDATE app.accounts SET name = 'x' WHERE id = '{a(11)}'",  # the account contributor's column
                 # stats data no stats row explains (a lost clear: the contributor wrote it, position set)
                 f"UPDATE app.accounts SET score = 5, verified = true, _pos_stats = '{{1,0,0}}' WHERE id = '{a(90)}'",
                 # column values the stats contributor never wrote (no position) are not its data
                 f"UPDATE app.accounts SET score = 0 WHERE id = '{a(91)}'",
                 f"DELETE FROM app.accounts WHERE id = '{a(12)}'")  # the row of both contributors
        r = w.run()
        t = table_of(r, "app.accounts")
        assert r.exit_code == 1
        assert (t.counts["missing"], t.counts["extra"], t.counts["different"]) == (1, 0, 3), t.to_json()
        assert sample_keys(t, "missing") == {str(a(12))}
        assert {s["new"]["id"]: sorted(s["columns"]) for s in t.samples["different"]} == \
            {str(a(10)): ["score"], str(a(11)): ["name"], str(a(90)): ["score", "verified"]}
        # stats of account 150 have no account row: parked by the sink, reported, not a difference
        assert t.counts["orphaned"] == 1 and t.samples["orphaned"][0]["legacy"]["key"] == {"accountId": 150}
        assert {f["contributor"]: f["strategy"] for f in t.feeds} == {"account": "v8", "stats": "v8"}
    finally:
        drop(stack, [w.src], [w.tgt])


SPLIT = """
version: 1
sources:
  s: {kind: mysql, topic_prefix: s, database: "${S_DB}", key_namespace: s}
tables:
  - source: s
    table: Org
    targets:
      - table: app.orgs
        columns: {id: {key: id}, name: name}
      - table: app.org_billing
        key: [org_id]
        columns:
          org_id: {key: id}
          plan: {from: plan, default: FREE}
          credits: {from: credits, type: decimal}
"""
SPLIT_LEGACY = "CREATE TABLE Org (id INT NOT NULL PRIMARY KEY, name VARCHAR(64), plan VARCHAR(16), credits DECIMAL(10,2))"
SPLIT_TARGET = """
CREATE SCHEMA app;
CREATE TABLE app.orgs (id uuid PRIMARY KEY, name text);
CREATE TABLE app.org_billing (org_id uuid PRIMARY KEY, plan text NOT NULL, credits numeric(12, 2));
"""


def test_split_missing_child_is_reported_in_its_table_only(stack, tmp_path):
    w = custom_world(stack, tmp_path, SPLIT, SPLIT_LEGACY, SPLIT_TARGET, "S_DB", "s")
    try:
        w.source(w.src, "INSERT INTO Org VALUES " + ", ".join(
            f"({i}, 'org {i}', {'NULL' if i % 4 else repr('PRO')}, {i}.50)" for i in range(1, 121)))
        w.fill_target()
        assert w.run().exit_code == 0
        o = lambda k: u("Org", k, "s")  # noqa: E731
        w.target(f"DELETE FROM app.org_billing WHERE org_id = '{o(7)}'",
                 f"UPDATE app.org_billing SET credits = credits + 0.01 WHERE org_id = '{o(8)}'")
        r = w.run()
        orgs, billing = table_of(r, "app.orgs"), table_of(r, "app.org_billing")
        assert orgs.clean and orgs.rows_checked == 120
        assert (billing.counts["missing"], billing.counts["extra"], billing.counts["different"]) == (1, 0, 1)
        assert billing.samples["missing"][0]["new"] == {"org_id": str(o(7))}
        assert billing.samples["missing"][0]["legacy"]["key"] == {"id": 7}
        assert billing.samples["different"][0]["columns"] == ["credits"]
    finally:
        drop(stack, [w.src], [w.tgt])


CUID = """
version: 1
sources:
  n: {kind: mysql, topic_prefix: n, database: "${N_DB}", key_namespace: n}
tables:
  - source: n
    table: Note
    targets:
      - table: app.notes
        on_delete: soft
        columns:
          id: {key: id}
          body: body
          meta: {from: meta, type: json}
          created_at: {from: createdAt, type: timestamptz}
"""
CUID_LEGACY = "CREATE TABLE Note (id VARCHAR(30) NOT NULL PRIMARY KEY, body TEXT, meta JSON, createdAt DATETIME(3))"
CUID_TARGET = """
CREATE SCHEMA app;
CREATE TABLE app.notes (id uuid PRIMARY KEY, body text, meta jsonb, created_at timestamptz, deleted_at timestamptz);
"""


def test_hashed_keys_use_buckets_and_find_each_kind(stack, tmp_path):
    w = custom_world(stack, tmp_path, CUID, CUID_LEGACY, CUID_TARGET, "N_DB", "n")
    try:
        ids = [f"c{random.Random(i).getrandbits(100):024x}"[:25] for i in range(400)]
        with mysql(stack, w.src) as c, c.cursor() as cur:
            cur.executemany("INSERT INTO Note VALUES (%s, %s, %s, %s)",
                            [(k, f"body {i}", json.dumps({"n": i, "tags": ["a", "b"], "w": 1.5}),
                              dt.datetime(2024, 5, 1) + dt.timedelta(seconds=i)) for i, k in enumerate(ids)])
        w.fill_target()
        r = w.run(chunk_size=40)
        t = table_of(r, "app.notes")
        assert r.exit_code == 0 and t.rows_checked == 400 and t.feeds[0]["strategy"] == "buckets"
        n = lambda k: remap_key("n", "Note", k)  # noqa: E731
        alien = uuid.uuid4()
        w.target(f"DELETE FROM app.notes WHERE id = '{n(ids[3])}'",
                 f"UPDATE app.notes SET meta = meta || '{{\"n\": -1}}' WHERE id = '{n(ids[4])}'",
                 f"INSERT INTO app.notes (id, body) VALUES ('{alien}', 'stray'), ('{uuid.uuid4()}', 'soft-deleted')",
                 "UPDATE app.notes SET deleted_at = now() WHERE body = 'soft-deleted'")  # soft deleted: not extra
        r = w.run(chunk_size=40)
        t = table_of(r, "app.notes")
        assert (t.counts["missing"], t.counts["extra"], t.counts["different"]) == (1, 1, 1), t.to_json()
        assert t.samples["missing"][0]["legacy"]["key"] == {"id": ids[3]}
        assert t.samples["different"][0]["columns"] == ["meta"]
        assert t.samples["extra"][0]["new"]["id"] == str(alien) and t.samples["extra"][0]["legacy"] is None
    finally:
        drop(stack, [w.src], [w.tgt])


# --- resume, repair, exit codes -------------------------------------------------------------------


def test_stopped_run_resumes_from_its_checkpoint_with_the_same_result(slice_world):
    want = plant_slice(slice_world)
    stopped = slice_world.run(max_chunks=2, chunk_size=20)
    assert stopped.exit_code == 2 and stopped.incomplete
    (n_done,), = slice_world.target("SELECT count(*) FROM _replicator.reconcile_checkpoints, "
                                    "jsonb_object_keys(done)")[0]
    assert n_done == 2
    resumed = slice_world.run(resume=True, chunk_size=20)
    assert resumed.exit_code == 1
    assert_planted(table_of(resumed, "app.users"), want)
    assert slice_world.target("SELECT count(*) FROM _replicator.reconcile_checkpoints")[0] == [(0,)]
    fresh = slice_world.run(resume=False, chunk_size=20)
    a, b = table_of(resumed, "app.users").to_json(), table_of(fresh, "app.users").to_json()
    for x in (a, b):
        x.pop("seconds")
        x.pop("feeds")
    assert a == b


def test_repair_fixes_planted_differences_and_the_recheck_is_clean(slice_world):
    plant_slice(slice_world)
    r = slice_world.run(repair=True)
    t = table_of(r, "app.users")
    assert r.exit_code == 0, t.to_json()
    assert t.repair["before"] == {"missing": 1, "extra": 2, "different": 3}
    assert t.repair["after"] == {"missing": 0, "extra": 0, "different": 0}
    assert t.repair["deleted"] == 2 and t.repair["upserted"] == 4
    tomb = slice_world.target("SELECT count(*) FROM _replicator.tombstones WHERE target_table = 'app.users'")[0]
    assert tomb == [(2,)]
    assert slice_world.run().exit_code == 0


def test_cli_exit_codes_json_report_and_metrics(slice_world, tmp_path):
    w = slice_world
    pw = quote(w.stack.mariadb.password("replicator"), safe="")
    env = {"REPLICATOR_TARGET_DSN": w.stack.postgres.dsn(w.tgt), "LEGACY_MAIN_DATABASE": w.src,
           "REPLICATOR_SOURCE_LEGACY_MAIN_DSN": f"mysql://replicator:{pw}@127.0.0.1:{w.stack.mysql_port}/{w.src}"}
    args = ["reconcile", "--mapping", str(SLICE_DIR), "--recheck-wait", "0.5", "--chunk-size", "50", "--no-progress"]
    runner = CliRunner()
    res = runner.invoke(cli, args + ["--json", str(tmp_path / "clean.json")], env=env)
    assert res.exit_code == 0, res.output
    assert json.loads((tmp_path / "clean.json").read_text())["tables"][0]["clean"]
    assert REGISTRY.get_sample_value("replicator_reconcile_last_clean_timestamp_seconds", {"table": "app.users"}) > 0
    plant_slice(w)
    res = runner.invoke(cli, args + ["--table", "app.users", "--json", str(tmp_path / "d.json"),
                                     "--report", str(tmp_path / "d.md")], env=env)
    assert res.exit_code == 1, res.output
    doc = json.loads((tmp_path / "d.json").read_text())
    assert (doc["tables"][0]["missing"], doc["tables"][0]["extra"], doc["tables"][0]["different"]) == (1, 2, 3)
    assert "DIFFERENCES" in (tmp_path / "d.md").read_text() and "legacy_main.Developer id=5" in (tmp_path / "d.md").read_text()
    assert REGISTRY.get_sample_value("replicator_reconcile_differences", {"table": "app.users", "kind": "extra"}) == 2
    assert REGISTRY.get_sample_value("replicator_reconcile_rows_checked_total", {"table": "app.users"}) >= 600
    # could not run: an unknown table, a source without settings, a target that does not exist
    assert runner.invoke(cli, args + ["--table", "app.nope"], env=env).exit_code == 2
    no_src = {**env, "REPLICATOR_SOURCE_LEGACY_MAIN_DSN": ""}
    res = runner.invoke(cli, args, env=no_src)
    assert res.exit_code == 2 and "REPLICATOR_SOURCE_LEGACY_MAIN_DSN" in res.output
    bad_tgt = {**env, "REPLICATOR_TARGET_DSN": w.stack.postgres.dsn("no_such_db_" + unique(""))}
    assert runner.invoke(cli, args, env=bad_tgt).exit_code == 2


# --- the real pipeline, a concurrent writer: no false positives ------------------------------------


def _writer(stack, db, stop: threading.Event, start_id: int, counts: dict) -> None:
    rng = random.Random(11)
    next_id = start_id
    with mysql(stack, db) as conn, conn.cursor() as cur:
        while not stop.is_set():
            r = rng.random()
            if r < 0.5:
                cur.executemany(
                    "INSERT INTO Developer (id, email, name, hasCompletedOnboarding) VALUES (%s, %s, %s, %s)",
                    [(i, f"w{i}@example.com", f"w{i}", i % 2) for i in range(next_id, next_id + 2)])
                next_id += 2
                counts["insert"] += 2
            elif r < 0.85:
                cur.execute("UPDATE Developer SET name = %s, hasCompletedOnboarding = 1 - hasCompletedOnboarding "
                            "WHERE id = %s", (f"v{rng.randrange(10**6)}", rng.randrange(1, next_id)))
                counts["update"] += 1
            else:
                cur.execute("DELETE FROM Developer WHERE id = %s", (rng.randrange(1, next_id),))
                counts["delete"] += 1
            time.sleep(0.01)


def test_no_false_positives_while_the_pipeline_streams_a_concurrent_writer(stack, tmp_path):
    src = create_source_db(stack, SLICE_DDL)
    tgt = create_target_db(stack, [SLICE_TARGET])
    env = {"LEGACY_MAIN_DATABASE": src, "REPLICATOR_BATCH_MAX_EVENTS": "500"}
    insert_developers(stack, src, developers(3000))
    w = World(stack, tmp_path, SLICE_DIR, {"LEGACY_MAIN_DATABASE": src}, {"legacy_main": stack.mysql_params(src)}, tgt)
    stop = threading.Event()
    counts = {"insert": 0, "update": 0, "delete": 0}
    try:
        with ReplicatorProcess(stack, target_db=tgt, env=env, log=tmp_path / "run.log") as rp:
            def caught_up() -> bool:
                rows = w.target("SELECT count(*) FROM app.users")[0][0][0]
                return rows == 3000
            wait_for(caught_up, 180, "the pipeline's snapshot of 3000 developers")
            writer = threading.Thread(target=_writer, args=(stack, src, stop, 5000, counts))
            writer.start()
            try:
                time.sleep(2)
                r = w.run(chunk_size=200, recheck_wait=60)
            finally:
                stop.set()
                writer.join()
            assert rp.alive(), (tmp_path / "run.log").read_text()[-2000:]
        t = table_of(r, "app.users")
        assert sum(counts.values()) > 50, counts
        assert r.exit_code == 0 and t.differences == 0, t.to_json()
        assert t.rows_checked >= 2900
        print(f"writer {counts}; chunks drilled {t.feeds[0]['drilled']}; cleared in flight {t.in_flight_cleared}")
    finally:
        drop(stack, [src], [tgt])


# --- the Chipp mappings: three sources, splits, merges, cross-database refs ------------------------


def test_chipp_mappings_reconcile_clean_then_find_a_planted_difference(stack, tmp_path):
    from replicator.chipp.generate import generate, load
    from replicator.chipp.pipeline import MAPPINGS, ChippRun

    run_ = ChippRun(stack)
    run_.create_databases()
    try:
        load(stack, generate(0.5, seed=5), main_db=run_.main_db, chat_db=run_.chat_db, emb_db=run_.emb_db)
        env = run_.mapping_env()
        sources = {"legacy_main": stack.mysql_params(run_.main_db), "legacy_chat": stack.mysql_params(run_.chat_db),
                   "legacy_embeddings": {"dsn": stack.postgres.dsn(run_.emb_db)}}
        w = World(stack, tmp_path, MAPPINGS, env, sources, run_.target_db)
        w.fill_target()
        r = w.run(chunk_size=100)
        assert r.exit_code == 0, json.dumps([t.to_json() for t in r.tables if not t.clean], default=str)
        strategies = {f["strategy"] for t in r.tables for f in t.feeds}
        assert strategies == {"v8", "buckets", "identity"}
        assert sum(t.rows_checked for t in r.tables) > 1000
        w.target("UPDATE rag.chunks SET chunk_index = chunk_index + 1 "
                 "WHERE id = (SELECT id FROM rag.chunks ORDER BY id LIMIT 1)",
                 "UPDATE app.users SET is_super_admin = NOT coalesce(is_super_admin, false) "
                 "WHERE id = (SELECT id FROM app.users WHERE _pos_credentials IS NOT NULL ORDER BY id LIMIT 1)")
        r = w.run(chunk_size=100, tables=("rag.chunks", "app.users"))
        assert r.exit_code == 1
        assert table_of(r, "rag.chunks").columns == {"chunk_index": 1}
        assert table_of(r, "app.users").columns == {"is_super_admin": 1}
    finally:
        run_.drop()
        drop(stack, pg_dbs=[run_.target_db])


def test_pushed_down_digests_agree_across_databases_for_any_text(stack, tmp_path):
    """A plain copy is hashed by MariaDB and PostgreSQL themselves: latin1 and utf8mb4
    columns, multi-byte characters and the field separator itself must hash alike, and a
    change must be found by the SQL digests and then named by the row-level drill-down."""
    db = unique()
    with mysql(stack) as c, c.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{db}`")
        cur.execute(f"CREATE TABLE `{db}`.plain (id INT PRIMARY KEY, a VARCHAR(20) CHARACTER SET latin1, "
                    "e VARCHAR(20), n BIGINT) DEFAULT CHARSET=utf8mb4")
        cur.executemany(f"INSERT INTO `{db}`.plain VALUES (%s, %s, %s, %s)",
                        [(1, "héllo", "🙂x", 1), (2, None, "a\x1eb", None), (3, "ü", "", -5)] +
                        [(i, f"r{i}", f"é{i}", i * 7) for i in range(4, 400)])
    tgt = create_target_db(stack, [])
    with psycopg.connect(stack.postgres.dsn(tgt), autocommit=True) as c:
        c.execute("CREATE TABLE public.plain (id int PRIMARY KEY, a text, e text, n bigint)")
        with c.cursor().copy("COPY public.plain FROM STDIN") as cp:
            for row in [(1, "héllo", "🙂x", 1), (2, None, "a\x1eb", None), (3, "ü", "", -5)] + \
                    [(i, f"r{i}", f"é{i}", i * 7) for i in range(4, 400)]:
                cp.write_row(row)
    (tmp_path / "m.yaml").write_text(f"""
version: 1
sources: {{p: {{kind: mysql, topic_prefix: p, database: {db}}}}}
tables:
  - source: p
    table: plain
    targets:
      - table: public.plain
        columns: {{id: id, a: a, e: e, n: n}}
""")
    w = World(stack, tmp_path, tmp_path / "m.yaml", {}, {"p": stack.mysql_params(db)}, tgt)
    try:
        for push in (True, False):
            r = w.run(pushdown=push)
            assert r.exit_code == 0 and r.tables[0].feeds[0]["pushdown"] is push and r.tables[0].rows_checked == 399
        w.target("UPDATE public.plain SET e = 'a' || chr(30) || 'c' WHERE id = 2", "DELETE FROM public.plain WHERE id = 300")
        t = w.run().tables[0]
        assert (t.counts["different"], t.counts["missing"]) == (1, 1) and t.columns == {"e": 1}
        assert t.samples["missing"][0]["legacy"]["key"] == {"id": 300} and t.feeds[0]["drilled"] >= 1
    finally:
        drop(stack, [db], [tgt])
