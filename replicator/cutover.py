"""`replicator cutover check`: the go/no-go gate before switching writes to the new database.

Each gate is checked exactly, from the systems themselves, and says why it failed:

* `consumer_lag`: no message of a mapped topic (or a schema-change topic) is waiting after
  the replicator group's committed offsets. Counted by *reading* from the committed offsets
  with a throwaway consumer (never by the high watermark: Tansu reports a wrong one, and
  at cutover time there should be nothing to read, so reading is cheap);
* `dead_letters`: no dead letter is outstanding. `replicator dlq replay` (without `--table`)
  marks the letters it re-published as handled by committing group `<group>.dlq-replayed`;
  outstanding = what lies after that group's offsets;
* `parked_writes`: `_replicator.pending` is empty (no contributor write still waits for
  its row);
* `foreign_keys`: no foreign key is still suspended or NOT VALID on a mapped table
  (`replicator target fks restore` re-adds and validates them);
* `reconcile`: a full `replicator reconcile` of every mapped table is clean; or, with
  `--reconciled-within N`, the newest reconcile recorded for every mapped table
  (`_replicator.reconcile_runs`, written by any reconcile run) is clean and at most N
  seconds old.

Verdict: GO when every gate passes (exit 0), NO-GO when one fails (exit 1), and exit 2 when
a gate could not be checked. The writers must already be stopped on the legacy side: the
gates prove the new database holds everything the legacy ones hold at this moment.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass

import psycopg

from replicator.config import Settings
from replicator.logs import kafka_client_logger
from replicator.mapping.engine import MappingSet


@dataclass
class Gate:
    name: str
    ok: bool | None  # None: could not be checked
    detail: str

    @property
    def status(self) -> str:
        return {True: "PASS", False: "FAIL", None: "UNKNOWN"}[self.ok]


def replayed_group(settings: Settings) -> str:
    """The consumer group whose offsets mark dead letters as handled (re-published)."""
    return f"{settings.kafka_group_id}.dlq-replayed"


def messages_after_committed(bootstrap: str, extra: dict[str, str], group: str, topics: list[str], *,
                             max_read: int = 100_000, idle_s: float = 3.0) -> dict[tuple[str, int], int]:
    """(topic, partition) -> messages after `group`'s committed offset (all of them when it
    never committed), counted by reading until `idle_s` passes quietly or `max_read` is hit."""
    from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

    probe = Consumer({"bootstrap.servers": bootstrap, "logger": kafka_client_logger(), **extra, "group.id": group, "enable.auto.commit": False})
    reader = Consumer({"bootstrap.servers": bootstrap, "logger": kafka_client_logger(), **extra, "group.id": f"replicator-cutover-{uuid.uuid4().hex[:8]}",
                       "enable.auto.commit": False, "auto.offset.reset": "earliest"})
    try:
        existing = probe.list_topics(timeout=10).topics
        parts = [TopicPartition(t, p) for t in topics if t in existing for p in existing[t].partitions]
        if not parts:
            return {}
        committed = probe.committed(parts, timeout=10)
        start = [TopicPartition(tp.topic, tp.partition, tp.offset if tp.offset >= 0 else OFFSET_BEGINNING)
                 for tp in committed]
        counts = {(tp.topic, tp.partition): 0 for tp in start}
        reader.assign(start)
        total, last = 0, time.monotonic()
        while time.monotonic() - last < idle_s and total < max_read:
            msgs = reader.consume(1000, 0.5)
            got = [m for m in msgs if m.error() is None]
            if got:
                last = time.monotonic()
            for m in got:
                counts[(m.topic(), m.partition())] += 1
                total += 1
        return counts
    finally:
        reader.close()
        probe.close()


def _gate_lag(s: Settings, ms: MappingSet, max_read: int) -> Gate:
    counts = messages_after_committed(s.kafka_bootstrap_servers, s.kafka_extra, s.kafka_group_id,
                                      ms.topics() + ms.schema_topics(), max_read=max_read)
    waiting = {k: n for k, n in counts.items() if n}
    if not counts:
        return Gate("consumer_lag", None, "none of the mapped topics exists on the broker")
    if not waiting:
        return Gate("consumer_lag", True, f"group {s.kafka_group_id}: nothing waiting on {len(counts)} partition(s)")
    total = sum(waiting.values())
    worst = ", ".join(f"{t}[{p}]={n}" for (t, p), n in sorted(waiting.items(), key=lambda x: -x[1])[:5])
    more = "+" if total >= max_read else ""
    return Gate("consumer_lag", False, f"{total}{more} message(s) not yet applied: {worst}")


def _gate_dead_letters(s: Settings, max_read: int) -> Gate:
    counts = messages_after_committed(s.kafka_bootstrap_servers, s.kafka_extra, replayed_group(s), [s.dlq_topic],
                                      max_read=max_read)
    n = sum(counts.values())
    if n == 0:
        return Gate("dead_letters", True, f"no outstanding dead letter in {s.dlq_topic}")
    return Gate("dead_letters", False, f"{n} outstanding dead letter(s) in {s.dlq_topic}: fix the mapping, "
                                       "`replicator dlq replay`, and let the pipeline apply them")


def _gate_parked(conn: psycopg.Connection) -> Gate:
    if conn.execute("SELECT to_regclass('_replicator.pending')").fetchone()[0] is None:
        return Gate("parked_writes", True, "no parked-writes table (nothing was ever parked)")
    rows = conn.execute("SELECT target_table, count(*), min(parked_at) FROM _replicator.pending "
                        "GROUP BY target_table ORDER BY 2 DESC").fetchall()
    if not rows:
        return Gate("parked_writes", True, "no write is waiting for its row")
    detail = ", ".join(f"{t}={n} (oldest {oldest:%Y-%m-%d %H:%M:%S})" for t, n, oldest in rows[:5])
    return Gate("parked_writes", False, f"{sum(r[1] for r in rows)} write(s) still wait for the row they fill: "
                                        f"{detail}")


def _gate_foreign_keys(conn: psycopg.Connection, tables: list[str]) -> Gate:
    from replicator.target import suspended

    parked = suspended(conn)
    not_valid = conn.execute(
        "SELECT c.conrelid::regclass::text, c.conname FROM pg_constraint c JOIN pg_class r ON r.oid = c.conrelid "
        "JOIN pg_namespace n ON n.oid = r.relnamespace WHERE c.contype = 'f' AND NOT c.convalidated "
        "AND n.nspname || '.' || r.relname = ANY(%s) ORDER BY 1, 2", (tables,)).fetchall()
    problems = [f"{fk.table}.{fk.name} suspended" for fk in parked] + [f"{t}.{n} NOT VALID" for t, n in not_valid]
    if not problems:
        return Gate("foreign_keys", True, "every foreign key of the mapped tables is in place and validated")
    return Gate("foreign_keys", False, f"{len(problems)} foreign key(s) not enforced yet: {', '.join(problems[:6])}; "
                                       "run `replicator target fks restore`")


def _gate_reconcile(s: Settings, env: dict[str, str], workers: int) -> Gate:
    from replicator.reconcile.engine import Options
    from replicator.reconcile.engine import run as reconcile

    result = reconcile(Options(mapping_paths=list(s.mapping_paths), target_dsn=s.target_dsn.get_secret_value(),
                               env=env, resume=False, recheck_wait=10.0, workers=workers, progress=False))
    if result.exit_code == 2:
        return Gate("reconcile", None, f"reconcile could not complete: {result.error or 'see its report'}")
    bad = [t.table for t in result.tables if not t.clean]
    rows = sum(t.rows_checked for t in result.tables)
    if not bad:
        return Gate("reconcile", True, f"{len(result.tables)} table(s) clean, {rows} row(s) checked")
    return Gate("reconcile", False, f"differences in {len(bad)} table(s): {', '.join(bad[:8])}; "
                                    "see `replicator reconcile --report`")


def _gate_recent_reconcile(conn: psycopg.Connection, tables: list[str], max_age_s: float) -> Gate:
    from replicator.reconcile import history

    if conn.execute("SELECT to_regclass(%s)", (history.TABLE,)).fetchone()[0] is None:
        return Gate("reconcile", False, "no reconcile was ever recorded: run `replicator reconcile`")
    runs = history.latest(lambda q, a=None: conn.execute(q, a).fetchall(), tables)
    now = conn.execute("SELECT now()").fetchone()[0]
    problems = []
    for t in tables:
        if t not in runs:
            problems.append(f"{t} never reconciled")
            continue
        at, clean, _n = runs[t]
        age = (now - at).total_seconds()
        if not clean:
            problems.append(f"{t} had differences ({age:.0f}s ago)")
        elif age > max_age_s:
            problems.append(f"{t} last clean {age:.0f}s ago")
    if not problems:
        return Gate("reconcile", True, f"every table's newest reconcile is clean and under {max_age_s:.0f}s old "
                                       f"({sum(n for _, _, n in runs.values())} row(s) checked)")
    return Gate("reconcile", False, f"{len(problems)} table(s) without a recent clean reconcile: "
                                    f"{', '.join(problems[:6])}")


def check(s: Settings, ms: MappingSet, env: dict[str, str], *, reconciled_within: float | None = None,
          workers: int = 1, max_read: int = 100_000, echo: Callable[[str], None] | None = None) -> list[Gate]:
    """Every gate, in the order an operator fixes them; a gate that raises is UNKNOWN.
    `reconciled_within`: accept recorded reconciles this recent instead of running one."""
    gates: list[Gate] = []

    def gate(name: str, fn: Callable[[], Gate]) -> None:
        try:
            g = fn()
        except Exception as exc:  # noqa: BLE001 - an unreachable system is "could not check", not a crash
            g = Gate(name, None, f"could not check: {type(exc).__name__}: {str(exc)[:300]}")
        gates.append(g)
        if echo:
            echo(f"{g.status:8} {g.name:14} {g.detail}")

    gate("consumer_lag", lambda: _gate_lag(s, ms, max_read))
    gate("dead_letters", lambda: _gate_dead_letters(s, max_read))
    try:
        conn = psycopg.connect(s.target_dsn.get_secret_value(), autocommit=True, connect_timeout=10)
    except psycopg.Error as exc:
        reason = f"target database unreachable: {type(exc).__name__}"  # never the DSN: it holds a password
        for name in ("parked_writes", "foreign_keys") + (("reconcile",) if reconciled_within is not None else ()):
            gate(name, lambda name=name: Gate(name, None, reason))
    else:
        with conn:
            tables = sorted(ms.target_tables())
            gate("parked_writes", lambda: _gate_parked(conn))
            gate("foreign_keys", lambda: _gate_foreign_keys(conn, tables))
            if reconciled_within is not None:
                gate("reconcile", lambda: _gate_recent_reconcile(conn, tables, reconciled_within))
    if reconciled_within is None:
        gate("reconcile", lambda: _gate_reconcile(s, env, workers))
    return gates


def verdict(gates: list[Gate]) -> int:
    """0 GO, 1 NO-GO (a gate failed), 2 a gate could not be checked."""
    if any(g.ok is False for g in gates):
        return 1
    if any(g.ok is None for g in gates):
        return 2
    return 0


def as_json(gates: list[Gate]) -> dict:
    code = verdict(gates)
    return {"verdict": {0: "GO", 1: "NO-GO", 2: "UNKNOWN"}[code], "exit_code": code,
            "gates": [{**asdict(g), "status": g.status} for g in gates], "checked_at": time.time()}
