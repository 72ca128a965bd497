"""The Chipp legacy data generator, loader and concurrent writer (replicator.chipp).

Pure part: generate() is deterministic for a seed, scales linearly, and its rows are
self-consistent (keys, references, enum labels, JSON, cuids, embeddings). Stack part: the
three legacy databases are created from config/chipp/legacy/, loaded at scale 1 and checked
in the databases (counts, shapes, references within and across databases); then ChippWriter
runs for 5 s and must insert, update and delete on all three without an error, leaving the
references consistent.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections import Counter, defaultdict
from datetime import datetime

import psycopg
import pymysql
import pytest
from psycopg.rows import dict_row

from replicator.chipp.generate import (
    BASE_COUNTS,
    DIMENSIONS,
    LEGACY_DIR,
    REFERENCES,
    ChippData,
    create_legacy_databases,
    drop_legacy_databases,
    generate,
    load,
    mysql_statements,
)
from replicator.chipp.writer import ChippWriter

CUID = re.compile(r"^c[0-9a-z]{24}$")
CUID_TABLES = {("main", "UserMemory"), ("main", "VideoGenerationJob"), ("chat", "ChatSession"), ("chat", "Message"),
               ("chat", "File"), ("chat", "WhatsAppConfig")}
# columns named like a reference that are not one (external ids, tokens)
NOT_REFERENCES = {"stripeCustomerId", "stripeSubscriptionId", "stripeAccountId", "threadId", "openaiFileId",
                  "phoneNumberId", "businessAccountId", "teamId", "botUserId", "installedBySlackUserId",
                  "providerJobId", "senderId"}


# --- the fixture DDL, as text ------------------------------------------------------------------

def _ddl_columns() -> dict[tuple[str, str], dict[str, str]]:
    """(db, table) -> {column: type text} from config/chipp/legacy/."""
    out: dict[tuple[str, str], dict[str, str]] = {}
    files = {"main": ("main_mysql.sql", "`"), "chat": ("chat_mysql.sql", "`"), "embeddings": ("embeddings_pg.sql", '"')}
    for db, (name, q) in files.items():
        for stmt in mysql_statements(LEGACY_DIR / name):
            m = re.search(r"CREATE TABLE IF NOT EXISTS [`\"]?(\w+)[`\"]?\s*\(", stmt)
            if not m:
                continue
            cols = {}
            for line in stmt.splitlines():
                c = re.match(rf"\s*{q}(\w+){q}\s+(.+?),?\s*$", line)
                if c:
                    cols[c.group(1)] = c.group(2)
            out[(db, m.group(1))] = cols
    return out


DDL = _ddl_columns()
PG_ENUMS = {t: re.findall(r"'(\w+)'", body) for t, body in re.findall(
    r"CREATE TYPE (\w+) AS ENUM \(([^)]*)\)", (LEGACY_DIR / "embeddings_pg.sql").read_text())}


def _enum_labels(coltype: str) -> list[str] | None:
    m = re.match(r"ENUM\(([^)]*)\)", coltype)
    if m:
        return re.findall(r"'(\w+)'", m.group(1))
    first = coltype.split()[0]
    return PG_ENUMS.get(first)


def _is_json(coltype: str) -> bool:
    return coltype.split()[0] in ("JSON", "JSONB")


# --- checks on rows (generated or read back) ---------------------------------------------------

def check_references(tables: dict[tuple[str, str], list[dict]]) -> None:
    """Every FK-like value exists in its parent table; sessions belong to their consumer's
    application; chunks carry their source's application."""
    ids = {key: {r["id"] for r in rows} for key, rows in tables.items()}
    for ref in REFERENCES:
        parent = ids[(ref.parent_db, ref.parent_table)]
        missing = []
        for r in tables[(ref.db, ref.table)]:
            v = r[ref.column]
            if v is None:
                continue
            values = json.loads(v) if ref.json_array else [v]
            missing += [x for x in values if x not in parent]
        assert not missing, f"{ref.db}.{ref.table}.{ref.column} -> {ref.parent_db}.{ref.parent_table}: {missing[:5]} missing"
    consumer_app = {r["id"]: r["applicationId"] for r in tables[("main", "Consumer")]}
    for s in tables[("chat", "ChatSession")]:
        if s["consumerId"] is not None:
            assert consumer_app[s["consumerId"]] == s["applicationId"], s["id"]
    source_app = {r["id"]: r["applicationId"] for r in tables[("main", "ApplicationAssistantFile")]}
    for c in tables[("embeddings", "textchunk")]:
        if c["applicationId"] is not None:
            assert source_app[c["assistantFileId"]] == c["applicationId"]


def _as_tables(data: ChippData) -> dict[tuple[str, str], list[dict]]:
    return {(db, t): rows for db, tables in data.databases.items() for t, rows in tables.items()}


def _share(rows: list[dict], pred) -> float:
    return sum(1 for r in rows if pred(r)) / len(rows)


# --- pure ------------------------------------------------------------------------------------

def test_generate_is_deterministic_and_scales_linearly():
    a, b = generate(1, seed=7), generate(1, seed=7)
    assert a.databases == b.databases, "same seed, same rows"
    assert generate(1, seed=8).main["Consumer"] != a.main["Consumer"], "another seed, other rows"
    one = a.counts()
    assert one == {k: v for k, v in BASE_COUNTS.items()}
    for scale in (2, 3):
        counts = generate(scale, seed=7).counts()
        assert counts == {k: v * scale for k, v in one.items()}, scale
    half = generate(0.5, seed=7).counts()
    assert all(abs(half[k] - v / 2) <= 1 for k, v in one.items())


def test_generated_rows_are_consistent_and_shaped():
    data = generate(3, seed=3)
    tables = _as_tables(data)
    assert set(tables) == set(DDL), "every fixture table is generated"
    for key, rows in tables.items():
        assert rows, key
        cols = DDL[key]
        assert all(list(r) == list(cols) for r in rows), f"{key}: rows have exactly the DDL's columns, in order"
        assert len({r["id"] for r in rows}) == len(rows), f"{key}: duplicate id"
        for col, coltype in cols.items():
            labels = _enum_labels(coltype)
            values = [r[col] for r in rows if r[col] is not None]
            if labels:
                assert set(values) <= set(labels), (key, col, set(values) - set(labels))
            if _is_json(coltype):
                for v in values:
                    json.loads(v)
            if "NOT NULL" in coltype and "DEFAULT" not in coltype:
                assert len(values) == len(rows), f"{key}.{col} is NOT NULL"
            if coltype.startswith(("DATETIME(3)", "TIMESTAMP(3)")):
                assert all(isinstance(v, datetime) and v.microsecond % 1000 == 0 and v.tzinfo is None for v in values)
        if key in CUID_TABLES:
            assert all(CUID.match(r["id"]) for r in rows), key
    check_references(tables)
    for r in data.embeddings["textchunk"] + data.embeddings["document_embeddings"]:
        assert r["embedding"] is None or len(r["embedding"]) == DIMENSIONS
    assert sum(r["embedding"] is not None for r in data.embeddings["textchunk"]) >= 0.95 * len(data.embeddings["textchunk"])
    # uniqueness the legacy DDL enforces
    for key, cols in [(("main", "Developer"), ("email",)), (("main", "Consumer"), ("applicationId", "identifier", "mode")),
                      (("main", "Organization"), ("stripeCustomerId",)), (("chat", "WhatsAppConfig"), ("phoneNumberId",)),
                      (("main", "OrganizationMember"), ("organizationId", "developerId")),
                      (("main", "WorkspaceMember"), ("workspaceId", "developerId")),
                      (("embeddings", "document_embeddings"), ("assistantFileId",))]:
        values = [tuple(r[c] for c in cols) for r in tables[key] if all(r[c] is not None for c in cols)]
        assert len(values) == len(set(values)), (key, cols)
    consumers = data.main["Consumer"]
    assert _share(consumers, lambda r: r["email"] is None and r["password"] is None) > 0.99
    assert _share(consumers, lambda r: r["credits"] > 0) == pytest.approx(0.97, abs=0.005)
    assert _share(data.main["ApplicationAssistantFile"], lambda r: r["type"] == "URL") == pytest.approx(0.98, abs=0.005)
    assert _share(data.chat["ChatSession"], lambda r: r["source"] == "APP") == pytest.approx(0.98, abs=0.005)


# --- on the stack ----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def chipp(stack):
    h = uuid.uuid4().hex[:10]
    names = {"main_db": f"chipp_main_t{h}", "chat_db": f"chipp_chat_t{h}", "emb_db": f"chipp_emb_t{h}"}
    try:
        create_legacy_databases(stack, **names)
        t0 = time.perf_counter()
        data = generate(1, seed=1)
        t1 = time.perf_counter()
        report = load(stack, data, **names)
        t2 = time.perf_counter()
        print(f"\nchipp scale 1: generate {t1 - t0:.2f}s, load {t2 - t1:.2f}s {report.seconds}, rows {data.total()}")
        assert t2 - t0 < 30
        yield stack, names, data
    finally:
        drop_legacy_databases(stack, **names)


def _read_all(stack, names) -> dict[tuple[str, str], list[dict]]:
    out = {}
    for db, dbname in (("main", names["main_db"]), ("chat", names["chat_db"])):
        with pymysql.connect(**stack.mysql_params(dbname), cursorclass=pymysql.cursors.DictCursor) as conn, conn.cursor() as cur:
            for (d, table) in DDL:
                if d == db:
                    cur.execute(f"SELECT * FROM `{table}`")
                    out[(db, table)] = list(cur.fetchall())
    with psycopg.connect(stack.postgres.dsn(names["emb_db"]), row_factory=dict_row) as conn:
        for (d, table) in DDL:
            if d == "embeddings":
                cols = ", ".join(f'"{c}"' for c in DDL[(d, table)] if c != "embedding")
                extra = ', vector_dims("embedding") AS dims' if "embedding" in DDL[(d, table)] else ""
                out[(d, table)] = conn.execute(f"SELECT {cols}{extra} FROM {table}").fetchall()
    return out


@pytest.mark.stack
def test_load_puts_every_generated_row_in_the_databases(chipp):
    stack, names, data = chipp
    db_rows = _read_all(stack, names)
    for key, rows in _as_tables(data).items():
        assert len(db_rows[key]) == len(rows), key
    # values survive the round trip: DATETIME(3), DECIMAL, JSON text, cuids, uuids
    by_id = {r["id"]: r for r in db_rows[("main", "Organization")]}
    for r in data.main["Organization"]:
        got = by_id[r["id"]]
        assert (got["createdAt"], got["creditBalanceUsd"], got["featureFlags"]) == (r["createdAt"], r["creditBalanceUsd"], r["featureFlags"])
    by_id = {r["id"]: r for r in db_rows[("chat", "Message")]}
    for r in data.chat["Message"][:200]:
        assert by_id[r["id"]]["createdAt"] == r["createdAt"] and by_id[r["id"]]["content"] == r["content"]
    chunks = {r["id"]: r for r in db_rows[("embeddings", "textchunk")]}
    for r in data.embeddings["textchunk"]:
        assert chunks[r["id"]]["dims"] == (DIMENSIONS if r["embedding"] is not None else None)
    with psycopg.connect(stack.postgres.dsn(names["emb_db"])) as conn:
        first = data.embeddings["textchunk"][0]
        if first["embedding"] is not None:
            got = conn.execute('SELECT "embedding"::text FROM textchunk WHERE id = %s', (first["id"],)).fetchone()[0]
            assert [float(x) for x in got.strip("[]").split(",")] == pytest.approx(list(first["embedding"]), abs=1e-6)
        # the SERIAL sequences were moved past the explicit ids
        new = conn.execute("INSERT INTO chipp_issue (title) VALUES ('x') RETURNING id").fetchone()[0]
        assert new == len(data.embeddings["chipp_issue"]) + 1
        conn.rollback()
    # MySQL AUTO_INCREMENT continues after the explicit ids too
    with pymysql.connect(**stack.mysql_params(names["main_db"])) as conn, conn.cursor() as cur:
        cur.execute("INSERT INTO Consumer (applicationId, identifier) VALUES (1, 'probe')")
        assert cur.lastrowid == len(data.main["Consumer"]) + 1
        conn.rollback()


@pytest.mark.stack
def test_loaded_data_has_the_production_shapes(chipp):
    stack, names, data = chipp
    db = _read_all(stack, names)
    consumers = db[("main", "Consumer")]
    assert _share(consumers, lambda r: r["email"] is None and r["password"] is None) > 0.99, "most consumers are anonymous"
    assert _share(consumers, lambda r: r["credits"] > 0) == pytest.approx(0.97, abs=0.01)
    for col, cap in [("email", 0.0005), ("password", 0.0003), ("stripeCustomerId", 0.00003), ("customInstructions", 0.0)]:
        n = sum(r[col] is not None for r in consumers)
        assert 1 <= n <= max(1, round(cap * len(consumers))), (col, n)
    assert sum(r["subscriptionActive"] for r in consumers) == 1
    sources = db[("main", "ApplicationAssistantFile")]
    types = Counter(r["type"] for r in sources)
    assert types["URL"] / len(sources) == pytest.approx(0.98, abs=0.01)
    assert {"FILE", "YOUTUBE", "SPREADSHEET", "API"} <= set(types)
    sessions = db[("chat", "ChatSession")]
    src = Counter(r["source"] for r in sessions)
    assert src["APP"] / len(sessions) == pytest.approx(0.98, abs=0.01)
    assert src["API"] / len(sessions) == pytest.approx(0.02, abs=0.005)
    assert {"WHATSAPP", "SLACK", "EMAIL"} <= set(src)
    assert len(db[("chat", "Message")]) / len(sessions) == pytest.approx(1.1, abs=0.01)
    devs = db[("main", "Developer")]
    assert _share(devs, lambda r: r["password"] is not None) == pytest.approx(0.30, abs=0.03)
    assert 1 <= sum(r["stripeAccountId"] is not None for r in devs) <= 3
    orgs = db[("main", "Organization")]
    assert _share(orgs, lambda r: r["stripeCustomerId"] is not None) > 0.97
    assert _share(orgs, lambda r: r["usageBasedBillingEnabled"] == 1) > 0.95
    apps = db[("main", "Application")]
    assert _share(apps, lambda r: r["publishState"] == "ECOSYSTEM") == pytest.approx(0.03, abs=0.01)
    assert all(r["customCss"] is None for r in apps)
    assert len(db[("main", "DeveloperCredentials")]) / len(devs) == pytest.approx(0.037, abs=0.02)
    # whatsapp: the chat copy is active, the main copy stale
    assert all(r["isActive"] == 0 for r in db[("main", "WhatsAppConfig")])
    assert any(r["isActive"] == 1 for r in db[("chat", "WhatsAppConfig")])
    # soft deletes, as the fixtures spell them: a few, not many
    soft = {
        "Organization.deletedAt": _share(orgs, lambda r: r["deletedAt"] is not None),
        "Workspace.isDeleted": _share(db[("main", "Workspace")], lambda r: r["isDeleted"] == 1),
        "Application.isDeleted": _share(apps, lambda r: r["isDeleted"] == 1),
        "Consumer.deletedAt": _share(consumers, lambda r: r["deletedAt"] is not None),
        "ChatSession.isDeleted": _share(sessions, lambda r: r["isDeleted"] == 1),
        "LeadGenerationForm.DELETED": _share(db[("main", "LeadGenerationForm")], lambda r: r["status"] == "DELETED"),
    }
    assert all(0 < v <= 0.1 for v in soft.values()), soft
    deleted = [r for r in sessions if r["isDeleted"]]
    assert any(r["deletedAt"] for r in deleted) and any(r["deletedAt"] is None for r in deleted)
    assert all(r["deletedAt"] is None for r in sessions if not r["isDeleted"])
    # sparse: in the big tables most nullable columns are NULL most of the time
    for key in [("main", "Consumer"), ("main", "ApplicationAssistantFile"), ("chat", "ChatSession"), ("chat", "Message")]:
        rows = db[key]
        nullable = [c for c, t in DDL[key].items() if "NOT NULL" not in t]
        mostly_null = [c for c in nullable if _share(rows, lambda r, c=c: r[c] is None) > 0.5]
        assert len(mostly_null) >= 0.6 * len(nullable), (key, set(nullable) - set(mostly_null))
        for c in nullable:  # and every one of them is set somewhere
            assert any(r[c] is not None for r in rows), (key, c)
    assert all(CUID.match(r["id"]) for r in sessions + db[("chat", "Message")])


def _check_reference_coverage() -> None:
    covered = {(r.db, r.table, r.column) for r in REFERENCES}
    for (db, table), cols in DDL.items():
        for col in cols:
            if (col.endswith("Id") or col.endswith("Ids")) and col not in NOT_REFERENCES:
                assert (db, table, col) in covered, f"{db}.{table}.{col} looks like a reference but is not checked"


@pytest.mark.stack
def test_every_reference_points_at_an_existing_row(chipp):
    stack, names, _ = chipp
    _check_reference_coverage()
    check_references(_read_all(stack, names))


@pytest.mark.stack
def test_writer_inserts_updates_and_deletes_on_all_three_databases(chipp):
    stack, names, _ = chipp
    writer = ChippWriter(stack, seed=5, rate=100, **names)
    writer.start()
    try:
        time.sleep(5)
    finally:
        counts = writer.stop()
    print(f"\nwriter: {counts['ops']} ops, " + ", ".join(f"{k}={v}" for k, v in sorted(counts.items()) if k.count(".") == 1))
    assert not writer.is_alive()
    assert writer.exception is None, repr(writer.exception)
    assert counts.get("error", 0) == 0 and writer.errors == [], writer.errors
    assert counts["ops"] >= 300, counts["ops"]
    for db in ("main", "chat", "embeddings"):
        for kind in ("insert", "update", "delete"):
            assert counts.get(f"{db}.{kind}", 0) > 0, (db, kind, counts)
    for db in ("main", "chat"):
        assert counts.get(f"{db}.soft_delete", 0) > 0, (db, counts)
    touched = defaultdict(int)
    for k, v in counts.items():
        if k.count(".") == 2:
            touched[k.split(".")[1]] += v
    for table in ("Developer", "DeveloperCredentials", "Organization", "Application", "Consumer", "ChatSession",
                  "Message", "textchunk"):
        assert touched[table] > 0, (table, dict(touched))
    # the writes kept every reference consistent
    check_references(_read_all(stack, names))
