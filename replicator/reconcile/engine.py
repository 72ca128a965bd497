"""`replicator reconcile`: orchestration. Plan, compare unit by unit, re-check, repair, report.

1. Load the mapping; pick the target tables (`--table`, default all); for each of their
   feeds read the source and target catalogs and decide the strategy (plan.py), the
   compared columns and their canonical forms (feeds.py, digest.py).
2. Per target table: load or start its checkpoint (checkpoint.py); run the units of work
   not done yet (units.py), in this process or in `--workers` processes; save each unit's
   result as it completes. For integer-keyed feeds, also look for target rows outside the
   feed's UUID namespace (extras no range covers).
3. Re-check the differences until they agree or the wait runs out (inflight.py); with
   `--repair`, re-sync what persists through the sink and check those rows again (repair.py).
4. Report (report.py) and update the metrics (replicator/metrics.py).

Exit codes: 0 clean, 1 differences, 2 could not run or did not complete.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, ThreadPoolExecutor, wait
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TextIO

from replicator.errors import ConfigError, ReplicatorError
from replicator.mapping.engine import MappingSet, position_column
from replicator.mapping.loader import load_mappings
from replicator.runtime import quiet_garbage_collector
from replicator.reconcile import history
from replicator.reconcile import report as rp
from replicator.reconcile.checkpoint import Checkpoints, signature
from replicator.reconcile.feeds import (FeedSpec, choose_strategy, compared_columns, family, feeds_of,
                                        pushdown_columns, source_columns)
from replicator.reconcile.inflight import recheck
from replicator.reconcile.plan import Range, bucket_bits, plan_ranges, range_from_json
from replicator.reconcile.repair import RepairUnsafe, repair
from replicator.reconcile.units import Context, UnitResult, outside_extras, run_buckets, run_range

OUTSIDE_SAMPLE = 10_000


class CannotRun(ReplicatorError):
    """The reconcile cannot start or go on: a table, column or connection is missing."""


@dataclass
class Options:
    mapping_paths: list[Path]
    target_dsn: str
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    source_params: Mapping[str, dict] | None = None  # default: REPLICATOR_SOURCE_<NAME>_DSN
    tables: tuple[str, ...] = ()
    chunk_size: int = 10_000
    resume: bool = True
    repair: bool = False
    recheck_wait: float = 60.0
    workers: int = 1
    max_chunks: int | None = None  # stop after this many units of work (resume later)
    sample_size: int = 20
    pushdown: bool = True
    progress: bool = True
    progress_stream: TextIO | None = None


@dataclass
class TablePlan:
    table: str
    specs: list[FeedSpec]
    plans: dict[str, Any]  # feed id -> {"ranges": [[lo, hi], ...]} | {"bits": n}
    estimate: int


# --- planning --------------------------------------------------------------------------------------


def plan_table(ctx: Context, table: str, opts: Options) -> TablePlan:
    ms = ctx.ms
    tcols = ctx.target.column_types(table)
    if not tcols:
        raise CannotRun(f"target table {table} does not exist")
    kinds = {c: k for c, (k, _) in tcols.items()}
    ttypes = {c: t for c, (_, t) in tcols.items()}
    specs, plans, estimate = [], {}, 0
    for tm, t in feeds_of(ms, table):
        if tm.spec.skip:
            continue
        src = ctx.source(tm.source_name)
        scols = src.columns(tm.spec.table)
        if not scols:
            raise CannotRun(f"source table {tm.spec.table} not found in source {tm.source_name}")
        cols = compared_columns(t)
        absent = [c for c in cols if c not in kinds]
        if absent:
            raise CannotRun(f"{table} has no column(s) {absent} (mapped from {tm.qualified})")
        if t.spec.union and position_column(t.contributor) not in kinds:
            # a union feed's rows are the ones it wrote: without its position column none can be told apart
            raise CannotRun(f"{table} has no column {position_column(t.contributor)} (union feed "
                            f"{tm.qualified}): the pipeline has not prepared the table yet")
        key = tm.spec.key
        fam = family(scols.get(key[0], "")) if len(key) == 1 else "other"
        kmin = kmax = None
        if fam in ("int", "uuid"):
            kmin, kmax = src.key_span(tm.spec.table, key[0])
        strategy = choose_strategy(ms, tm, t, fam, kinds, kmin if fam == "int" else None,
                                   kmax if fam == "int" else None)
        est = src.estimate(tm.spec.table)
        estimate += est
        if strategy.kind == "buckets":
            strategy = replace(strategy, bits=bucket_bits(est, opts.chunk_size))
        push = None
        if strategy.kind == "identity" and strategy.key_type == "int" and opts.pushdown:
            push = pushdown_columns(tm, t, src.kind, scols, kinds, ttypes, src.charsets(tm.spec.table))
        spec = FeedSpec(tm.source_name, tm.qualified, tm.spec.table, table, t.contributor, t.spec.creates_row,
                        t.spec.on_delete, key, t.key, cols, tuple(kinds[c] for c in cols), t.owned,
                        t.soft_delete_column, source_columns(tm, set(scols)), strategy, push, fam,
                        position_column(t.contributor) in kinds, t.spec.union)
        specs.append(spec)
        if strategy.ordered:
            ranges = plan_ranges(kmin, kmax, est, opts.chunk_size, opts.workers)
            plans[spec.id] = {"ranges": [r.as_json() for r in ranges]}
        else:
            plans[spec.id] = {"bits": strategy.bits}
    return TablePlan(table, specs, plans, estimate)


def _units(tp: TablePlan) -> list[tuple[str, FeedSpec, Range | None]]:
    out = []
    for spec in tp.specs:
        p = tp.plans[spec.id]
        if "ranges" in p:
            kt = spec.strategy.key_type if spec.strategy.kind == "identity" else "int"
            out += [(f"{spec.id}#{i}", spec, range_from_json(r, kt)) for i, r in enumerate(p["ranges"])]
        else:
            out.append((f"{spec.id}#all", spec, None))
    return out


# --- workers ---------------------------------------------------------------------------------------

_WORKER: Context | None = None


def _init_worker(paths: list[Path], env: Mapping[str, str], params: Mapping[str, dict], dsn: str, chunk: int) -> None:
    global _WORKER
    _WORKER = Context(load_mappings(paths, env), params, dsn, chunk)
    quiet_garbage_collector()


def _work(spec: FeedSpec, rng: Range | None, unit: str, pushdown: bool) -> UnitResult:
    assert _WORKER is not None
    return run_range(_WORKER, spec, rng, unit, pushdown) if rng is not None else run_buckets(_WORKER, spec, unit)


# --- running ---------------------------------------------------------------------------------------


class Runner:
    def __init__(self, opts: Options, ms: MappingSet, params: Mapping[str, dict]) -> None:
        self.opts = opts
        self.ms = ms
        self.params = params
        self.ctx = Context(ms, params, opts.target_dsn, opts.chunk_size)
        self.pool: ProcessPoolExecutor | None = None
        self.budget = opts.max_chunks
        self.stopped = False
        self.progress: rp.Progress | None = None

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
        self.ctx.close()

    def _pool(self) -> ProcessPoolExecutor:
        if self.pool is None:
            self.pool = ProcessPoolExecutor(
                self.opts.workers, mp_context=mp.get_context("spawn"), initializer=_init_worker,
                initargs=(list(self.opts.mapping_paths), dict(self.opts.env), dict(self.params),
                          self.opts.target_dsn, self.opts.chunk_size))
        return self.pool

    def _take_budget(self) -> bool:
        if self.budget is None:
            return True
        if self.budget <= 0:
            self.stopped = True
            return False
        self.budget -= 1
        return True

    def run_units(self, units: list, on_done: Callable[[UnitResult], None]) -> None:
        pushed = [u for u in units if u[2] is not None and u[1].pushdown and self.opts.pushdown]
        if pushed:
            # plain copies are hashed by the two databases: threads wait on them in parallel
            self._run_threads(pushed, max(2, self.opts.workers), on_done)
            units = [u for u in units if u not in pushed]
            if self.stopped:
                return
        if self.opts.workers <= 1:
            for unit, spec, rng in units:
                if not self._take_budget():
                    return
                res = run_range(self.ctx, spec, rng, unit, self.opts.pushdown) if rng is not None \
                    else run_buckets(self.ctx, spec, unit)
                on_done(res)
            return
        pool = self._pool()
        queue = list(units)
        running: set[Future] = set()
        while queue or running:
            while queue and len(running) < self.opts.workers * 2:
                if not self._take_budget():
                    queue.clear()
                    break
                unit, spec, rng = queue.pop(0)
                running.add(pool.submit(_work, spec, rng, unit, self.opts.pushdown))
            if not running:
                break
            done, running = wait(running, return_when=FIRST_COMPLETED)
            for fut in done:
                on_done(fut.result())

    def _run_threads(self, units: list, n: int, on_done: Callable[[UnitResult], None]) -> None:
        local = threading.local()
        contexts: list[Context] = []
        lock = threading.Lock()

        def work(spec: FeedSpec, rng: Range, unit: str) -> UnitResult:
            ctx = getattr(local, "ctx", None)
            if ctx is None:
                ctx = local.ctx = Context(self.ms, self.params, self.opts.target_dsn, self.opts.chunk_size)
                with lock:
                    contexts.append(ctx)
            return run_range(ctx, spec, rng, unit, True)

        try:
            with ThreadPoolExecutor(n) as ex:
                queue = list(units)
                running: set[Future] = set()
                while queue or running:
                    while queue and len(running) < n * 2:
                        if not self._take_budget():
                            queue.clear()
                            break
                        unit, spec, rng = queue.pop(0)
                        running.add(ex.submit(work, spec, rng, unit))
                    if not running:
                        break
                    done, running = wait(running, return_when=FIRST_COMPLETED)
                    for fut in done:
                        on_done(fut.result())
        finally:
            for ctx in contexts:
                ctx.close()

    def run_table(self, tp: TablePlan, ck: Checkpoints) -> rp.TableResult:
        started = time.monotonic()
        opts = self.opts
        sig = signature(tp.specs, opts.chunk_size)
        state = ck.load(tp.table, sig) if opts.resume else None
        if state is not None and state.get("result"):
            tr = rp.TableResult.from_json(state["result"])
            self._advance(tr.rows_checked, tp.table)
            return tr
        if state is not None:
            tp.plans = state["plan"]
            tp.specs = [replace(s, strategy=replace(s.strategy, bits=tp.plans[s.id]["bits"]))
                        if "bits" in tp.plans.get(s.id, {}) else s for s in tp.specs]
            done = {u: UnitResult.from_json(r) for u, r in state["done"].items()}
        else:
            ck.start(tp.table, sig, tp.plans)
            done = {}
        for r in done.values():
            self._advance(r.rows, tp.table)
        todo = [u for u in _units(tp) if u[0] not in done]

        def finished(res: UnitResult) -> None:
            done[res.unit] = res
            ck.save_unit(tp.table, res.unit, res.to_json())
            self._advance(res.rows, tp.table)

        self.run_units(todo, finished)
        if len(done) < len(_units(tp)):
            self.stopped = True
            tr = rp.TableResult(tp.table, sum(r.rows for r in done.values()), complete=False)
            tr.seconds = time.monotonic() - started
            return tr

        diffs, overflow = [], {}
        for r in done.values():
            diffs += r.diffs
            for k, n in r.overflow.items():
                overflow[k] = overflow.get(k, 0) + n
        for spec in tp.specs:
            if spec.strategy.kind == "v8" and spec.creates_row:
                n, extras = outside_extras(self.ctx, spec, OUTSIDE_SAMPLE)
                diffs += extras
                if n > len(extras):
                    overflow["extra"] = overflow.get("extra", 0) + n - len(extras)
        specs = {s.id: s for s in tp.specs}
        persisting, cleared = recheck(self.ctx, specs, diffs, opts.recheck_wait) if diffs else ([], 0)
        repair_info = None
        if opts.repair and any(d.kind in rp.KINDS for d in persisting):
            before = {k: sum(1 for d in persisting if d.kind == k) for k in rp.KINDS}
            stats = repair(self.ctx, opts.target_dsn, specs, persisting)
            persisting, _ = recheck(self.ctx, specs, persisting, min(opts.recheck_wait, 10.0))
            after = {k: sum(1 for d in persisting if d.kind == k) for k in rp.KINDS}
            repair_info = {"before": before, "after": after, **stats.to_json()}
        tr = rp.summarise(tp.table, persisting, overflow,
                          {s.contributor: s.target_key for s in tp.specs},
                          {s.source_table: s.legacy_key for s in tp.specs}, opts.sample_size)
        tr.rows_checked = sum(r.rows for r in done.values())
        tr.in_flight_cleared = cleared
        tr.repair = repair_info
        tr.feeds = []
        for s in tp.specs:
            mine = [r for r in done.values() if r.feed == s.id]
            tr.feeds.append({"source_table": s.source_table, "contributor": s.contributor,
                             "creates_row": s.creates_row, "strategy": s.strategy.kind,
                             "pushdown": s.pushdown is not None, "rows": sum(r.rows for r in mine),
                             "chunks": sum(r.chunks for r in mine), "drilled": sum(r.drilled for r in mine)})
        tr.seconds = time.monotonic() - started
        ck.complete(tp.table, tr.to_json())
        return tr

    def _advance(self, rows: int, table: str) -> None:
        if self.progress is not None:
            self.progress.advance(rows, table)


def _restrict(ms: MappingSet, tables: list[str]) -> MappingSet:
    wanted = {tm.qualified for t in tables for tm, _ in feeds_of(ms, t) if not tm.spec.skip}
    return MappingSet(sources=ms.sources, tables={q: tm for q, tm in ms.tables.items() if q in wanted})


def run(opts: Options) -> rp.RunResult:
    """Reconcile; never raises for operational problems (they become exit code 2)."""
    import psycopg
    import pymysql

    from replicator import metrics
    from replicator.mapping.validate import CatalogUnavailable, source_params_from_env

    result = rp.RunResult(repair=opts.repair)
    try:
        ms = load_mappings(opts.mapping_paths, opts.env)
    except ConfigError as exc:
        result.error = str(exc)
        result.finished_at = time.time()
        return result
    quiet_garbage_collector()  # this process maps rows too (one worker, rechecks, repair)
    all_targets = ms.target_tables()
    tables = list(dict.fromkeys(opts.tables)) or sorted(all_targets)
    unknown = [t for t in tables if t not in all_targets]
    if unknown:
        result.error = f"no mapping writes {', '.join(unknown)}"
        result.finished_at = time.time()
        return result
    runner = None
    try:
        params = opts.source_params if opts.source_params is not None else \
            source_params_from_env(_restrict(ms, tables), opts.env)
        runner = Runner(opts, ms, params)
        ck = Checkpoints(runner.ctx.target)
        ck.ensure()
        history.ensure(runner.ctx.target.execute)
        if not opts.resume:
            ck.clear(tables)
        plans = [plan_table(runner.ctx, t, opts) for t in tables]
        runner.progress = rp.Progress(sum(p.estimate for p in plans), opts.progress_stream, opts.progress)
        for tp in plans:
            if not tp.specs:
                continue
            tr = runner.run_table(tp, ck)
            result.tables.append(tr)
            history.record(runner.ctx.target.execute, tr)
            if tr.complete:
                metrics.RECONCILE_ROWS_CHECKED.labels(tp.table).inc(tr.rows_checked)
                for kind in rp.KINDS:
                    metrics.RECONCILE_DIFFERENCES.labels(tp.table, kind).set(tr.counts[kind])
                if tr.clean:
                    metrics.RECONCILE_LAST_CLEAN.labels(tp.table).set(time.time())
                runner.progress.message(
                    f"{tp.table}: checked {tr.rows_checked:,}, missing {tr.counts['missing']:,}, "
                    f"extra {tr.counts['extra']:,}, different {tr.counts['different']:,}, "
                    f"cleared in flight {tr.in_flight_cleared:,}")
            if runner.stopped:
                result.incomplete = True
                break
        if not result.incomplete:
            ck.clear(tables)
    except (CannotRun, CatalogUnavailable, RepairUnsafe, psycopg.Error, pymysql.MySQLError, OSError) as exc:
        result.error = f"{type(exc).__name__}: {str(exc).strip()}"
    finally:
        if runner is not None:
            if runner.progress is not None:
                runner.progress.close()
            runner.close()
    result.finished_at = time.time()
    return result


def run_and_report(opts: Options, json_file: Path | None = None, report_file: Path | None = None,
                   echo: Callable[[str], None] = print) -> int:
    """Run, write the JSON and Markdown reports, print one summary line per table; the exit code."""
    result = run(opts)
    if json_file is not None:
        json_file.write_text(rp.to_json_text(result))
    if report_file is not None:
        report_file.write_text(rp.to_markdown(result))
    for t in result.tables:
        c = t.counts
        echo(f"{t.table:32} {'clean' if t.clean else 'DIFFERENT' if t.complete else 'incomplete':10} "
             f"checked={t.rows_checked} missing={c['missing']} extra={c['extra']} different={c['different']} "
             f"unmappable={c['unmappable']} cleared_in_flight={t.in_flight_cleared}")
    if result.error:
        echo(f"reconcile: {result.error}")
    if result.incomplete:
        echo("reconcile: stopped before the end; run again (--resume) to continue from the checkpoint")
    return result.exit_code


__all__ = ["CannotRun", "Options", "plan_table", "run", "run_and_report"]
