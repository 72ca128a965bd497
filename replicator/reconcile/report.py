"""Results of a reconcile run: per-table figures, JSON, Markdown, and the progress line.

Per target table: rows checked (source-derived target row images compared; a merged row
counts once per contributor), missing / extra / different rows (each target row counted
once across contributors), the columns that differ, differences cleared as in flight,
informational counts (orphaned contributor rows, unmappable source rows), and sample keys
in both vocabularies: the legacy table and key, and the new key.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import time
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, TextIO

from replicator.reconcile.diff import Difference, merge_table

KINDS = ("missing", "extra", "different")


@dataclass
class TableResult:
    table: str
    rows_checked: int = 0
    counts: dict[str, int] = field(default_factory=lambda: {k: 0 for k in (*KINDS, "unmappable", "orphaned")})
    in_flight_cleared: int = 0
    columns: dict[str, int] = field(default_factory=dict)
    samples: dict[str, list[dict]] = field(default_factory=dict)
    feeds: list[dict] = field(default_factory=list)
    repair: dict | None = None
    seconds: float = 0.0
    complete: bool = True
    error: str | None = None

    @property
    def differences(self) -> int:
        return sum(self.counts[k] for k in (*KINDS, "unmappable"))

    @property
    def clean(self) -> bool:
        return self.complete and self.error is None and self.differences == 0

    def to_json(self) -> dict:
        return {"table": self.table, "clean": self.clean, "complete": self.complete, "error": self.error,
                "rows_checked": self.rows_checked, **self.counts, "in_flight_cleared": self.in_flight_cleared,
                "columns": self.columns, "samples": self.samples, "feeds": self.feeds, "repair": self.repair,
                "seconds": round(self.seconds, 3)}

    @classmethod
    def from_json(cls, d: dict) -> TableResult:
        r = cls(d["table"], d["rows_checked"], {k: d.get(k, 0) for k in (*KINDS, "unmappable", "orphaned")},
                d.get("in_flight_cleared", 0), d.get("columns") or {}, d.get("samples") or {}, d.get("feeds") or [],
                d.get("repair"), d.get("seconds", 0.0), d.get("complete", True), d.get("error"))
        return r


def _jsonable(v: Any) -> Any:
    if isinstance(v, (uuid.UUID, Decimal, dt.date, dt.datetime)):
        return str(v)
    if isinstance(v, bytes):
        return v.hex()
    return v


def summarise(table: str, diffs: list[Difference], overflow: dict[str, int], key_columns: dict[str, tuple],
              legacy_columns: dict[str, tuple], sample_size: int) -> TableResult:
    """Count persisting differences (one per target row) and pick samples in both vocabularies."""
    r = TableResult(table)
    merged = merge_table(diffs)
    for d in merged:
        r.counts[d.kind] = r.counts.get(d.kind, 0) + 1
        for c in d.columns:
            r.columns[c] = r.columns.get(c, 0) + 1
        bucket = r.samples.setdefault(d.kind, [])
        if len(bucket) < sample_size:
            bucket.append(sample(d, key_columns.get(d.contributor, ()), legacy_columns.get(d.source_table, ())))
    for k, n in overflow.items():
        r.counts[k] = r.counts.get(k, 0) + n
    return r


def sample(d: Difference, key_cols: tuple, legacy_cols: tuple) -> dict:
    new = dict(zip(key_cols, d.key.split("\x1e"))) if d.key else None
    legacy = None
    if d.legacy_key is not None:
        legacy = {"table": d.source_table, "key": {c: _jsonable(v) for c, v in zip(legacy_cols, d.legacy_key)}}
    out = {"new": new, "legacy": legacy, "contributor": d.contributor}
    if d.columns:
        out["columns"] = list(d.columns)
    if d.detail:
        out["detail"] = d.detail
    if d.read_pos:
        out["source_position"] = list(d.read_pos)
    if d.target_pos is not None:
        out["target_position"] = list(d.target_pos)
    if d.hot:
        out["hot"] = d.hot
    return out


@dataclass
class RunResult:
    tables: list[TableResult] = field(default_factory=list)
    started_at: float = field(default_factory=time.time)
    finished_at: float | None = None
    error: str | None = None
    incomplete: bool = False
    repair: bool = False

    @property
    def exit_code(self) -> int:
        if self.error or self.incomplete or any(not t.complete or t.error for t in self.tables):
            return 2
        return 1 if any(t.differences for t in self.tables) else 0

    def to_json(self) -> dict:
        return {"started_at": _iso(self.started_at), "finished_at": _iso(self.finished_at),
                "exit_code": self.exit_code, "clean": self.exit_code == 0, "error": self.error,
                "incomplete": self.incomplete, "repair": self.repair,
                "tables": [t.to_json() for t in self.tables]}


def _iso(ts: float | None) -> str | None:
    return None if ts is None else dt.datetime.fromtimestamp(ts, dt.timezone.utc).isoformat()


def to_json_text(run: RunResult) -> str:
    return json.dumps(run.to_json(), indent=2, default=_jsonable)


def to_markdown(run: RunResult) -> str:
    verdict = {0: "CLEAN", 1: "DIFFERENCES", 2: "COULD NOT COMPLETE"}[run.exit_code]
    lines = [f"# Reconcile report: {verdict}", "",
             f"Started {_iso(run.started_at)}, finished {_iso(run.finished_at)}." + (" With --repair." if run.repair else ""),
             ""]
    if run.error:
        lines += [f"**Error:** {run.error}", ""]
    if run.incomplete:
        lines += ["**Incomplete:** stopped before every chunk was compared; run again to resume.", ""]
    lines += ["| target table | rows checked | missing | extra | different | unmappable | cleared in flight | orphaned | seconds |",
              "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for t in run.tables:
        c = t.counts
        lines.append(f"| {t.table}{'' if t.complete else ' (incomplete)'} | {t.rows_checked:,} | {c['missing']:,} | "
                     f"{c['extra']:,} | {c['different']:,} | {c['unmappable']:,} | {t.in_flight_cleared:,} | "
                     f"{c['orphaned']:,} | {t.seconds:.1f} |")
    for t in run.tables:
        if t.clean and not t.samples:
            continue
        lines += ["", f"## {t.table}", ""]
        if t.error:
            lines += [f"Error: {t.error}", ""]
        if t.columns:
            lines.append("Columns that differ: " + ", ".join(f"`{c}` ({n})" for c, n in sorted(t.columns.items())))
            lines.append("")
        for kind, items in sorted(t.samples.items()):
            lines.append(f"**{kind}** (sample of {len(items)}):")
            lines.append("")
            for s in items:
                legacy = (f"{s['legacy']['table']} " + ", ".join(f"{k}={v}" for k, v in s["legacy"]["key"].items())
                          if s.get("legacy") else "legacy key unknown")
                new = ", ".join(f"{k}={v}" for k, v in (s.get("new") or {}).items()) or "-"
                extra = f"; columns {', '.join(s['columns'])}" if s.get("columns") else ""
                extra += f"; {s['detail']}" if s.get("detail") else ""
                lines.append(f"- legacy: {legacy} / new: {new}{extra}")
            lines.append("")
        if t.repair:
            lines.append(f"Repair: {json.dumps(t.repair)}")
    return "\n".join(lines) + "\n"


class Progress:
    """A progress bar with ETA on a terminal (stderr); plain lines every few seconds otherwise."""

    def __init__(self, total: int, stream: TextIO | None = None, enabled: bool = True, every: float = 5.0) -> None:
        self.total = max(total, 1)
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.tty = enabled and hasattr(self.stream, "isatty") and self.stream.isatty()
        self.done = 0
        self.started = time.monotonic()
        self.last = 0.0
        self.every = every
        self.label = ""

    def advance(self, rows: int, label: str = "") -> None:
        self.done += rows
        self.label = label or self.label
        self._draw()

    def message(self, text: str) -> None:
        if not self.enabled:
            return
        if self.tty:
            self.stream.write("\r\x1b[K")
        self.stream.write(text + "\n")
        self.stream.flush()

    def line(self) -> str:
        el = time.monotonic() - self.started
        rate = self.done / el if el > 0 else 0.0
        frac = min(self.done / self.total, 1.0)
        eta = (self.total - self.done) / rate if rate > 0 and self.done < self.total else 0.0
        bar = "#" * int(frac * 30) + "." * (30 - int(frac * 30))
        return (f"[{bar}] {frac * 100:5.1f}% {self.done:,}/{self.total:,} rows {rate:,.0f} rows/s "
                f"ETA {int(eta) // 60:02d}:{int(eta) % 60:02d} {self.label}")

    def _draw(self, force: bool = False) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if self.tty:
            if force or now - self.last >= 0.1:
                self.stream.write("\r\x1b[K" + self.line())
                self.stream.flush()
                self.last = now
        elif force or now - self.last >= self.every:
            self.stream.write(self.line() + "\n")
            self.stream.flush()
            self.last = now

    def close(self) -> None:
        if self.enabled:
            self._draw(force=True)
            if self.tty:
                self.stream.write("\n")
            self.stream.flush()


__all__ = ["KINDS", "Progress", "RunResult", "TableResult", "sample", "summarise", "to_json_text", "to_markdown"]
