"""Helpers shared by the deploy/ checks: paths, YAML loading, metric names, PromQL names."""

from __future__ import annotations

import importlib.util
import re
import sys
from functools import cache
from pathlib import Path
from types import ModuleType

import yaml

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
K8S = DEPLOY / "k8s"
STRIMZI = DEPLOY / "strimzi"
PROMETHEUS = DEPLOY / "prometheus"
GRAFANA = DEPLOY / "grafana"
COMPOSE_FILE = REPO / "docker-compose.yml"
DOCKERFILE = DEPLOY / "Dockerfile"
OPERATIONS_MD = REPO / "docs" / "operations.md"
SCHEMAS = Path(__file__).resolve().parent / "schemas"

# Metrics the alerts and the dashboard already use but replicator/metrics.py does not define
# yet (the reconcile job is being written). Remove each name from here once it exists there.
PENDING_METRICS = frozenset({
    "replicator_reconcile_rows_checked_total",        # counter, label table
    "replicator_reconcile_differences",               # gauge, labels table, kind
    "replicator_reconcile_last_clean_timestamp_seconds",  # gauge, label table
})

# PromQL names that are not the replicator's own metrics
PROMETHEUS_BUILTIN_SERIES = frozenset({"up"})


def load_yaml_docs(path: Path) -> list:
    """Every non-empty YAML document of a file."""
    with path.open(encoding="utf-8") as f:
        return [d for d in yaml.safe_load_all(f) if d is not None]


def load_module(path: Path, name: str) -> ModuleType:
    """Import a script that is not in a package (deploy/ holds scripts, not a package)."""
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


@cache
def exposed_metric_names() -> frozenset[str]:
    """The sample names replicator/metrics.py exposes on /metrics: a counter `x` as
    `x_total` (and `x_created`), a histogram as `_bucket`, `_sum`, `_count`, a gauge as is."""
    import replicator.metrics  # noqa: F401 - registers the metrics
    from prometheus_client import REGISTRY

    names: set[str] = set()
    for family in REGISTRY.collect():
        if not family.name.startswith("replicator_"):
            continue
        if family.type == "counter":
            names |= {f"{family.name}_total", f"{family.name}_created"}
        elif family.type == "histogram":
            names |= {f"{family.name}{s}" for s in ("_bucket", "_sum", "_count", "_created")}
        elif family.type == "summary":
            names |= {family.name, f"{family.name}_sum", f"{family.name}_count", f"{family.name}_created"}
        else:
            names.add(family.name)
    return frozenset(names)


@cache
def documented_metric_names() -> tuple[str, ...]:
    """One name per metric of replicator/metrics.py, as a PromQL user types it (counters
    with _total, histograms by their base name)."""
    import replicator.metrics  # noqa: F401
    from prometheus_client import REGISTRY

    out = []
    for family in REGISTRY.collect():
        if family.name.startswith("replicator_"):
            out.append(f"{family.name}_total" if family.type == "counter" else family.name)
    return tuple(sorted(out))


_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')
_IDENT = re.compile(r"(?<![A-Za-z0-9_:])([a-zA-Z_:][a-zA-Z0-9_:]*)")


def promql_metric_names(expr: str) -> set[str]:
    """The replicator_* series names a PromQL expression reads (string literals, where label
    values live, are ignored)."""
    bare = _STRING.sub('""', expr)
    return {m for m in _IDENT.findall(bare) if m.startswith("replicator_")}


def github_anchor(heading: str) -> str:
    """The anchor GitHub gives a Markdown heading."""
    s = heading.strip().lower()
    s = re.sub(r"[^\w\- ]", "", s)
    return s.replace(" ", "-")


def markdown_anchors(text: str) -> set[str]:
    anchors = set()
    in_code = False
    for line in text.splitlines():
        if line.startswith("```"):
            in_code = not in_code
            continue
        m = None if in_code else re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if m:
            anchors.add(github_anchor(m.group(1)))
    return anchors


def dockerfile_instructions(path: Path = DOCKERFILE) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of a Dockerfile, continuation lines joined, comments dropped."""
    out: list[tuple[str, str]] = []
    buf = ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not buf and (not line or line.startswith("#")):
            continue
        if buf and line.startswith("#"):
            continue
        if line.endswith("\\"):
            buf += line[:-1] + " "
            continue
        buf += line
        instr, _, args = buf.partition(" ")
        out.append((instr.upper(), args.strip()))
        buf = ""
    return out


def dockerfile_user_uid() -> int:
    users = [a for i, a in dockerfile_instructions() if i == "USER"]
    assert users, "the Dockerfile has no USER line"
    user = users[-1].split(":")[0]
    assert user.isdigit(), f"USER {users[-1]}: use a numeric uid so runAsNonRoot can verify it"
    return int(user)


def dockerfile_exposed_ports() -> set[int]:
    ports = set()
    for instr, args in dockerfile_instructions():
        if instr == "EXPOSE":
            ports |= {int(p.split("/")[0]) for p in args.split()}
    return ports


def metrics_port_default() -> int:
    from replicator.config import Settings

    return Settings.model_fields["metrics_port"].default
