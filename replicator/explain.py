"""`replicator explain`: what the mapping makes of one source row or Debezium event."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from replicator.events import decode_message
from replicator.mapping.engine import MappingSet, TargetOp


def _jsonable(v: Any) -> Any:
    if isinstance(v, (str, int, float, bool)) or v is None:
        return v
    obj = getattr(v, "obj", None)  # psycopg Jsonb wrapper
    if obj is not None:
        return obj
    if isinstance(v, bytes):
        return "\\x" + v.hex()
    return str(v)


def describe(op: TargetOp) -> dict[str, Any]:
    return {"table": op.table, "kind": op.kind, "contributor": op.contributor,
            "key": [_jsonable(k) for k in op.key], "legacy_key": list(op.legacy_key),
            "values": {k: _jsonable(v) for k, v in op.values.items()}, "position": list(op.position)}


def explain_row(ms: MappingSet, source_table: str, *, row_json: str | None = None,
                event_file: Path | None = None, op: str = "c") -> str:
    if event_file is not None:
        raw = event_file.read_bytes()
        ev = decode_message("explain", 0, 0, None, raw)
        ops = ms.map_event(ev)
    else:
        if row_json is None:
            raise ValueError("give --row or --event")
        tm = ms.tables.get(source_table)
        if tm is None:
            raise ValueError(f"no mapping for {source_table}; mapped: {', '.join(sorted(ms.tables))}")
        row = json.loads(row_json)
        tm.check_drift(row)
        ops = tm.map_row(op, row)
    return json.dumps([describe(o) for o in ops], indent=2)
