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
PENDING_METRICS: frozenset[str] = frozenset()

# PromQL names that are not the replicator's own metrics
PROMETHEUS_BUILTIN_SERIES = frozenset({"up"})

CONNECTOR_DIR = REPO / "config" / "connectors"
# the mappings the deployed replicator runs (compose service, k8s ConfigMap)
CHIPP_MAPPINGS = REPO / "config" / "chipp" / "mappings"

# ${NAME} / ${NAME:-default} in a mapping file (replicator/mapping/loader.py)
_MAPPING_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-[^}]*)?\}")
_CONNECTOR_ENV = re.compile(r"\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}")
_CONNECTOR_KINDS = {"io.debezium.connector.mysql.MySqlConnector": "mysql",
                    "io.debezium.connector.postgresql.PostgresConnector": "postgresql"}


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


# --- mappings vs connectors ------------------------------------------------------------------

def mapping_placeholders(paths) -> set[str]:
    """The ${NAME} variables the mapping files (files or directories) read."""
    from replicator.mapping.loader import mapping_files

    return {m for f in mapping_files([Path(p) for p in paths]) for m in _MAPPING_VAR.findall(f.read_text())}


def resolve_connectors(connectors, env: dict[str, str]) -> dict[str, dict[str, str]]:
    """Each connector's REST config with its ${env:VAR} placeholders replaced from `env`
    (what the worker's EnvVarConfigProvider would do); a missing variable fails."""
    out = {}
    for c in connectors:
        def sub(m, c=c):
            assert m.group(1) in env, f"{c.name}: ${{env:{m.group(1)}}} has no value"
            return env[m.group(1)]
        out[c.name] = {k: _CONNECTOR_ENV.sub(sub, v) for k, v in c.rest_config().items()}
    return out


def check_mappings_match_connectors(mapping_set, resolved: dict[str, dict[str, str]]) -> None:
    """Every source of the mappings is read by exactly one connector: same topic prefix and
    kind, a database the connector captures (MySQL: database.include.list, a comma-separated
    list of regular expressions matched against the whole name; PostgreSQL: database.dbname,
    since its topics do not carry the database and the engine checks it per event) and, for
    PostgreSQL, the schema in schema.include.list. Topic prefixes are distinct."""
    prefixes = [cfg["topic.prefix"] for cfg in resolved.values()]
    assert len(prefixes) == len(set(prefixes)), f"two connectors share a topic.prefix: {sorted(prefixes)}"
    for name, src in mapping_set.sources.items():
        readers = [(n, cfg) for n, cfg in resolved.items() if cfg["topic.prefix"] == src.topic_prefix]
        assert len(readers) == 1, f"source {name}: no connector has topic.prefix {src.topic_prefix!r}"
        cname, cfg = readers[0]
        assert _CONNECTOR_KINDS.get(cfg["connector.class"]) == src.kind, (
            f"source {name} is {src.kind}, connector {cname} is {cfg['connector.class']}")
        if src.kind == "mysql":
            patterns = [p.strip() for p in cfg["database.include.list"].split(",")]
            assert any(re.fullmatch(p, src.database) for p in patterns), (
                f"source {name}: database {src.database!r} is not in {cname}'s database.include.list {patterns}")
        else:
            assert cfg["database.dbname"] == src.database, (
                f"source {name}: database {src.database!r}, {cname} reads {cfg['database.dbname']!r}")
            schemas = [p.strip() for p in cfg.get("schema.include.list", src.schema_ or "").split(",")]
            assert any(re.fullmatch(p, src.schema_ or "public") for p in schemas), (
                f"source {name}: schema {src.schema_!r} not captured by {cname}")
