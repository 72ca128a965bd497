"""The `replicator` command line: a thin layer that parses arguments and calls one module.

Settings and mappings are loaded inside each command, never at import time.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Replicate legacy MySQL/PostgreSQL databases into one re-modelled PostgreSQL."""


@main.group()
def stack() -> None:
    """Start, stop and inspect the local stack of real servers."""


@stack.command("up")
def stack_up() -> None:
    """Install what is missing and start MariaDB, PostgreSQL, the broker and Debezium."""
    from replicator.stack.manager import PartFailed, Stack

    s = Stack.from_env()
    click.echo(f"stack directory {s.root}")
    try:
        s.up(echo=click.echo)
    except PartFailed as exc:
        click.echo(f"stack up failed: {exc}", err=True)
        sys.exit(1)


@stack.command("down")
def stack_down() -> None:
    """Stop exactly the processes `stack up` started."""
    from replicator.stack.manager import Stack

    Stack.from_env().down(echo=click.echo)


@stack.command("status")
def stack_status() -> None:
    """Say which parts of the local stack are up, and where they listen."""
    from replicator.stack.manager import Stack

    rows = Stack.from_env().status()
    for name, state, where in rows:
        click.echo(f"{name:9} {state:10} {where}")
    sys.exit(0 if all(state == "up" for _, state, _ in rows) else 3)


def _settings(**overrides):
    from replicator.config import Settings

    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except Exception as exc:  # noqa: BLE001 - pydantic's message names the field
        click.echo(f"invalid settings: {exc}", err=True)
        sys.exit(2)


def _mappings(paths):
    from replicator.errors import ConfigError
    from replicator.mapping.loader import load_mappings

    try:
        return load_mappings(paths)
    except ConfigError as exc:
        click.echo(str(exc), err=True)
        sys.exit(2)


mapping_option = click.option("--mapping", "mapping_paths", multiple=True, type=click.Path(path_type=Path),
                              help="mapping file or directory (default: settings' mapping_paths)")


@main.group()
def mapping() -> None:
    """Check the mapping files."""


@mapping.command("validate")
@mapping_option
def mapping_validate(mapping_paths) -> None:
    """Check the mappings against the live source and target catalogs.

    Each mapping source NAME is read through REPLICATOR_SOURCE_<NAME>_DSN
    (mysql://user:pass@host:port/db or postgresql://...; the database defaults to the
    mapping's), the target through the target_dsn setting. Exit 0: no problems; 1: one line
    per problem; 2: invalid mapping/settings or a catalog cannot be read.
    """
    import os

    from replicator.mapping.validate import CatalogUnavailable, source_params_from_env, validate

    s = _settings(**({"mapping_paths": list(mapping_paths)} if mapping_paths else {}))
    ms = _mappings(s.mapping_paths)
    try:
        problems = validate(ms, source_params=source_params_from_env(ms, os.environ),
                            target_dsn=s.target_dsn.get_secret_value())
    except CatalogUnavailable as exc:
        click.echo(f"mapping validate: {exc}", err=True)
        sys.exit(2)
    for p in problems:
        click.echo(str(p))
    click.echo(f"{len(problems)} problem(s) in {len(ms.tables)} mapped table(s)", err=True)
    sys.exit(1 if problems else 0)


@main.command("run")
@mapping_option
@click.option("--stop-after-idle", type=float, default=None, help="exit after this many seconds without events")
def run(mapping_paths, stop_after_idle) -> None:
    """Consume Debezium events and apply them to the target, until SIGTERM."""
    from replicator.apply.runner import Runner
    from replicator.logs import configure

    s = _settings(stop_after_idle_s=stop_after_idle, **({"mapping_paths": list(mapping_paths)} if mapping_paths else {}))
    configure(s.log_format, s.log_level)
    ms = _mappings(s.mapping_paths)
    from replicator.http import serve_metrics

    runner = Runner(s, ms)
    runner.install_signal_handlers()
    if s.metrics_port:
        serve_metrics(s.metrics_host, s.metrics_port, runner, s.readiness_stall_s)
    totals = runner.run()
    click.echo(f"events={totals.events} ops={totals.applied_ops} dead_letters={totals.dead_letters}", err=True)


@main.command("explain")
@click.argument("source_table")
@click.option("--row", "row_json", help="the source row as JSON (column -> value as Debezium emits it)")
@click.option("--event", "event_file", type=click.Path(exists=True, path_type=Path),
              help="a Debezium event (JSON envelope) read from a file")
@click.option("--op", type=click.Choice(["c", "u", "d", "r"]), default="c", help="operation for --row")
@mapping_option
def explain(source_table, row_json, event_file, op, mapping_paths) -> None:
    """Print the target operations the mapping makes of one source row or event.

    SOURCE_TABLE is <source>.<table> as named in the mapping, e.g. legacy_main.Developer.
    """
    from replicator.explain import explain_row

    s = _settings(**({"mapping_paths": list(mapping_paths)} if mapping_paths else {}))
    ms = _mappings(s.mapping_paths)
    try:
        click.echo(explain_row(ms, source_table, row_json=row_json, event_file=event_file, op=op))
    except Exception as exc:  # noqa: BLE001 - explain is a diagnostic: show the error, exit 1
        click.echo(f"explain: {exc}", err=True)
        sys.exit(1)


@main.command("reconcile")
@click.option("--table", "tables", multiple=True, help="target table to check (repeatable; default: every mapped one)")
@mapping_option
@click.option("--json", "json_file", type=click.Path(path_type=Path), help="write the full result as JSON")
@click.option("--report", "report_file", type=click.Path(path_type=Path), help="write a Markdown report")
@click.option("--repair", is_flag=True, help="re-sync the rows that differ through the sink, then check them again")
@click.option("--chunk-size", type=click.IntRange(10, 1_000_000), default=10_000, show_default=True,
              help="source rows per chunk (memory is bounded by this, not by the table)")
@click.option("--resume/--restart", default=True, show_default=True,
              help="continue from the checkpoints in _replicator.reconcile_checkpoints, or start over")
@click.option("--recheck-wait", type=click.FloatRange(0), default=60.0, show_default=True,
              help="seconds to keep re-checking differing rows that may still be in flight")
@click.option("--workers", type=click.IntRange(1, 32), default=1, show_default=True, help="worker processes")
@click.option("--max-chunks", type=click.IntRange(0), default=None,
              help="stop after this many units of work (key ranges); resume later from the checkpoint")
@click.option("--progress/--no-progress", default=True, help="progress on stderr (a bar on a terminal)")
def reconcile(tables, mapping_paths, json_file, report_file, repair, chunk_size, resume, recheck_wait, workers,
              max_chunks, progress) -> None:
    """Compare every target table with what the legacy databases say it should hold.

    Source rows are read directly (REPLICATOR_SOURCE_<NAME>_DSN, as for `mapping validate`)
    and mapped with the same code as the stream; rows still in flight are re-checked.
    Exit 0: clean; 1: differences; 2: could not run or did not complete. See docs/reconcile.md.
    """
    import os

    from replicator.reconcile.engine import Options, run_and_report

    s = _settings(**({"mapping_paths": list(mapping_paths)} if mapping_paths else {}))
    opts = Options(mapping_paths=list(s.mapping_paths), target_dsn=s.target_dsn.get_secret_value(),
                   env=dict(os.environ), tables=tuple(tables), chunk_size=chunk_size, resume=resume, repair=repair,
                   recheck_wait=recheck_wait, workers=workers, max_chunks=max_chunks, progress=progress)
    sys.exit(run_and_report(opts, json_file, report_file, echo=click.echo))


@main.group()
def dlq() -> None:
    """Inspect and replay the dead-letter topic."""


@dlq.command("list")
@click.option("--limit", type=int, default=100, help="show at most this many records")
def dlq_list(limit) -> None:
    """List dead letters: where each came from and why it was refused (never the payload)."""
    from replicator.apply.dlq import read_dead_letters

    s = _settings()
    n = 0
    for p, o, h, key, value in read_dead_letters(s.kafka_bootstrap_servers, s.dlq_topic, extra=s.kafka_extra,
                                                 limit=limit):
        n += 1
        click.echo(f"{s.dlq_topic}[{p}]@{o} table={h.get('dlq.source_table') or '?'} "
                   f"from={h.get('dlq.source_topic')}[{h.get('dlq.source_partition')}]@{h.get('dlq.source_offset')} "
                   f"class={h.get('dlq.error_class')} bytes={len(value or b'')}\n    reason: {h.get('dlq.reason')}")
    click.echo(f"{n} dead letter(s)")


@dlq.command("replay")
@click.option("--table", default=None, help="only records of this source table")
@click.option("--dry-run", is_flag=True, help="count what would be replayed")
def dlq_replay(table, dry_run) -> None:
    """Re-publish the outstanding dead letters to their source topics (after the mapping has
    been fixed). Without --table they are then marked handled (`cutover check` stops counting
    them); with --table the others stay outstanding, so nothing is marked."""
    from replicator.apply.dlq import replay
    from replicator.cutover import replayed_group

    s = _settings()
    n = replay(s.kafka_bootstrap_servers, s.dlq_topic, extra=s.kafka_extra, table=table, dry_run=dry_run,
               handled_group=replayed_group(s))
    click.echo(f"{'would replay' if dry_run else 'replayed'} {n} record(s)")


@main.group()
def tombstones() -> None:
    """The hard deletes' tombstones in the target: bounded by a replay horizon."""


@tombstones.command("prune")
@mapping_option
@click.option("--dry-run", is_flag=True, help="compute the horizons and count what would go")
def tombstones_prune(mapping_paths, dry_run) -> None:
    """Raise each table's replay horizon to the lowest source position that can still be
    delivered (the consumer group's next events, the dead letters), then drop the
    tombstones below it. Writes below a horizon are refused from then on: they were applied
    already. Safe while `replicator run` runs (docs/operations.md, "Tombstones")."""
    import psycopg

    from replicator.apply.prune import horizons, prune

    s = _settings(**({"mapping_paths": list(mapping_paths)} if mapping_paths else {}))
    ms = _mappings(s.mapping_paths)
    results = horizons(s, ms)
    with psycopg.connect(s.target_dsn.get_secret_value(), autocommit=True, connect_timeout=10) as conn:
        prune(conn, ms, results, dry_run=dry_run)
    verb = "would prune" if dry_run else "pruned"
    for r in results:
        if r.horizon is None:
            click.echo(f"{r.table}: kept, no horizon: {r.reason}")
        else:
            click.echo(f"{r.table}: horizon {{{','.join(map(str, r.horizon))}}}; {verb} {r.tombstones} tombstone(s)"
                       + ("" if dry_run else f", dropped {r.parked} parked write(s) their deletions ended"))


@main.group()
def cutover() -> None:
    """The switch to the new database."""


@cutover.command("check")
@mapping_option
@click.option("--reconciled-within", type=click.FloatRange(0), default=None, metavar="SECONDS",
              help="instead of running a reconcile, require each table's newest recorded one to be clean and this recent")
@click.option("--workers", type=click.IntRange(1, 32), default=1, show_default=True, help="reconcile worker processes")
@click.option("--json", "json_file", type=click.Path(path_type=Path), help="write the gates and the verdict as JSON")
def cutover_check(mapping_paths, reconciled_within, workers, json_file) -> None:
    """Go/no-go: nothing waiting in Kafka, no outstanding dead letter, no parked write, every
    foreign key enforced, and a clean reconcile. Exit 0 GO, 1 NO-GO, 2 could not check.
    Stop the legacy writers first (docs/operations.md, "Cutover")."""
    import json
    import os

    from replicator.cutover import as_json, check, verdict

    s = _settings(**({"mapping_paths": list(mapping_paths)} if mapping_paths else {}))
    ms = _mappings(s.mapping_paths)
    gates = check(s, ms, dict(os.environ), reconciled_within=reconciled_within, workers=workers, echo=click.echo)
    code = verdict(gates)
    click.echo({0: "VERDICT: GO", 1: "VERDICT: NO-GO", 2: "VERDICT: UNKNOWN (a gate could not be checked)"}[code])
    if json_file:
        json_file.write_text(json.dumps(as_json(gates), indent=2))
    sys.exit(code)


@main.group()
def keys() -> None:
    """Translate between legacy keys and new UUIDs."""


@keys.command("remap")
@click.argument("source_table")
@click.argument("legacy_key")
@mapping_option
def keys_remap(source_table, legacy_key, mapping_paths) -> None:
    """The new UUID of LEGACY_KEY in SOURCE_TABLE (<source>.<table>, as in the mapping)."""
    from replicator.keys import remap_key

    s = _settings(**({"mapping_paths": list(mapping_paths)} if mapping_paths else {}))
    ms = _mappings(s.mapping_paths)
    tm = ms.tables.get(source_table)
    if tm is None:
        click.echo(f"no mapping for {source_table}", err=True)
        sys.exit(2)
    key = int(legacy_key) if legacy_key.isdigit() else legacy_key
    click.echo(str(remap_key(tm.source.namespace, tm.spec.table, key)))


@keys.command("reverse")
@click.argument("new_id")
@mapping_option
def keys_reverse(new_id, mapping_paths) -> None:
    """The legacy table and key behind NEW_ID (integer keys; hashed keys need the source)."""
    import uuid

    from replicator.keys import KeyRegistry

    s = _settings(**({"mapping_paths": list(mapping_paths)} if mapping_paths else {}))
    ms = _mappings(s.mapping_paths)
    reg = KeyRegistry((tm.source.namespace, tm.spec.table) for tm in ms.tables.values())
    found = reg.reverse(uuid.UUID(new_id))
    if found is None:
        click.echo(f"{new_id}: not an integer-key UUID of any mapped table (a hashed or native UUID)", err=True)
        sys.exit(1)
    click.echo(f"{found.source_db}.{found.source_table} key={found.key}")


@main.group()
def target() -> None:
    """Prepare the target database."""


@target.group("fks")
def target_fks() -> None:
    """Suspend foreign keys for streaming; restore and validate them at cutover."""


@target_fks.command("suspend")
@mapping_option
def target_fks_suspend(mapping_paths) -> None:
    """Record and drop the foreign keys of every mapped target table."""
    import psycopg

    from replicator.target import suspend

    s = _settings(**({"mapping_paths": list(mapping_paths)} if mapping_paths else {}))
    ms = _mappings(s.mapping_paths)
    with psycopg.connect(s.target_dsn.get_secret_value()) as conn:
        fks = suspend(conn, sorted(ms.target_tables()))
    for fk in fks:
        click.echo(f"suspended {fk.table}.{fk.name}: {fk.definition}")
    click.echo(f"{len(fks)} foreign key(s) suspended")


@target_fks.command("restore")
def target_fks_restore() -> None:
    """Re-add suspended foreign keys NOT VALID, then VALIDATE; exit 1 if orphans remain."""
    import psycopg

    from replicator.target import restore

    s = _settings()
    with psycopg.connect(s.target_dsn.get_secret_value()) as conn:
        results = restore(conn)
    for r in results:
        click.echo(f"{'validated' if r.validated else 'NOT VALID'} {r.fk.table}.{r.fk.name}"
                   + (f": {r.error}" if r.error else ""))
    click.echo(f"{sum(r.validated for r in results)}/{len(results)} foreign key(s) validated")
    sys.exit(0 if all(r.validated for r in results) else 1)


@target_fks.command("status")
def target_fks_status() -> None:
    """List the foreign keys currently suspended."""
    import psycopg

    from replicator.target import suspended

    s = _settings()
    with psycopg.connect(s.target_dsn.get_secret_value()) as conn:
        fks = suspended(conn)
    for fk in fks:
        click.echo(f"{fk.table}.{fk.name}: {fk.definition}")
    click.echo(f"{len(fks)} suspended")


@target.command("apply-ddl")
@click.argument("sql_files", nargs=-1, type=click.Path(exists=True, path_type=Path), required=True)
def target_apply_ddl(sql_files) -> None:
    """Apply migration SQL files, in the order given, each in its own transaction."""
    import psycopg

    s = _settings()
    with psycopg.connect(s.target_dsn.get_secret_value(), autocommit=True) as conn:
        for f in sql_files:
            with conn.transaction():
                conn.execute(f.read_text())
            click.echo(f"applied {f}")


if __name__ == "__main__":
    main()
