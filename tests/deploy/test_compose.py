"""docker-compose.yml: the services exist, run official images (only the replicator is
built, from deploy/Dockerfile), publish ports on 127.0.0.1 only, and are wired to each other:
the replicator reads Kafka's internal listener, runs the Chipp mappings and writes the
postgres service (whose init applies the Chipp target DDL); the connect worker resolves every
${env:...} of config/connectors/*.properties against the mysql and legacy-postgres services
and uses the local worker's converters; the mappings' sources are exactly what the
connectors publish; the init scripts load files that exist; Prometheus scrapes the
replicator's metrics port."""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from tests.deploy._util import (
    CHIPP_MAPPINGS,
    COMPOSE_FILE,
    CONNECTOR_DIR,
    DEPLOY,
    PROMETHEUS,
    REPO,
    check_mappings_match_connectors,
    load_module,
    mapping_placeholders,
    metrics_port_default,
    resolve_connectors,
)

props = load_module(DEPLOY / "connector_props.py", "connector_props")

REQUIRED_SERVICES = {"mysql", "legacy-postgres", "kafka", "connect", "register-connectors", "postgres",
                     "prometheus", "grafana", "replicator"}
# vendors' own images: Docker Official Images, or the project's own repository
OFFICIAL_IMAGES = {
    "mysql": "mysql",
    "kafka": "apache/kafka",
    "connect": "quay.io/debezium/connect",
    "register-connectors": "python",
    "legacy-postgres": "pgvector/pgvector",
    "postgres": "pgvector/pgvector",
    "prometheus": "prom/prometheus",
    "grafana": "grafana/grafana",
}


def compose() -> dict:
    return yaml.safe_load(COMPOSE_FILE.read_text())


def services() -> dict[str, dict]:
    return compose()["services"]


_VAR = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?-([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)")


def interpolate(value, env: dict[str, str] | None = None) -> str:
    """Compose's variable substitution with an empty shell environment: defaults apply."""
    env = env or {}

    def sub(m):
        if m.group(0) == "$$":
            return "$"
        name = m.group(1) or m.group(3)
        return env.get(name) or (m.group(2) or "")

    return _VAR.sub(sub, str(value))


def env_of(service: str) -> dict[str, str]:
    env = services()[service].get("environment", {})
    if isinstance(env, list):
        env = dict(e.split("=", 1) for e in env)
    return {k: interpolate(v) for k, v in env.items()}


def mounts_of(service: str) -> dict[str, str]:
    """Bind mounts of a service: container path -> repository path (./...)."""
    out = {}
    for vol in services()[service].get("volumes", []):
        if isinstance(vol, str) and vol.startswith("./"):
            src, dst = vol.split(":")[:2]
            out[dst] = src
    return out


def host_path(service: str, container_path: str) -> Path:
    """The repository path a service sees at container_path, through its bind mounts."""
    for dst, src in sorted(mounts_of(service).items(), key=lambda kv: -len(kv[0])):
        if container_path == dst or container_path.startswith(dst.rstrip("/") + "/"):
            return REPO / src / container_path[len(dst):].lstrip("/")
    raise AssertionError(f"{service}: nothing is mounted at {container_path}")


def connector_files():
    return props.load_connectors(CONNECTOR_DIR)


def image_repo(image: str) -> tuple[str, str]:
    repo, _, tag = image.rpartition(":") if ":" in image.split("/")[-1] else (image, "", "")
    return repo, tag


def kafka_internal_bootstrap() -> str:
    env = env_of("kafka")
    listener = env["KAFKA_INTER_BROKER_LISTENER_NAME"]
    advertised = dict(a.split("://", 1) for a in env["KAFKA_ADVERTISED_LISTENERS"].split(","))
    return advertised[listener]


def test_required_services_exist():
    assert REQUIRED_SERVICES <= set(services()), sorted(REQUIRED_SERVICES - set(services()))


def test_images_are_official_and_pinned_and_only_the_replicator_is_built():
    for name, svc in services().items():
        if name == "replicator":
            build = svc["build"]
            assert build["context"] == "." and build["dockerfile"] == "deploy/Dockerfile"
            continue
        assert "build" not in svc, f"{name}: use an official image, do not build"
        repo, tag = image_repo(svc["image"])
        assert OFFICIAL_IMAGES.get(name) == repo, f"{name}: image {svc['image']} is not the expected official one"
        assert tag and tag != "latest", f"{name}: pin a tag"


def test_published_ports_bind_loopback_only():
    for name, svc in services().items():
        for port in svc.get("ports", []):
            if isinstance(port, dict):
                assert port.get("host_ip") == "127.0.0.1", f"{name}: {port}"
            else:
                assert str(port).startswith("127.0.0.1:") and str(port).count(":") == 2, f"{name}: {port}"
        assert svc.get("network_mode") != "host", name


def test_bind_mounts_exist_in_the_repository():
    for name, svc in services().items():
        for vol in svc.get("volumes", []):
            if isinstance(vol, str) and vol.startswith("./"):
                src = vol.split(":", 1)[0]
                assert (REPO / src).exists(), f"{name}: mounts {src}, which does not exist"


def test_replicator_reads_kafka_internal_listener_and_writes_postgres():
    from replicator.config import Settings

    env = env_of("replicator")
    fields = {f"REPLICATOR_{n.upper()}" for n in Settings.model_fields}
    extra = set(env) - fields
    assert extra <= replicator_mapping_placeholders(), f"neither settings nor mapping placeholders: {sorted(extra)}"
    assert env["REPLICATOR_KAFKA_BOOTSTRAP_SERVERS"] == kafka_internal_bootstrap() == "kafka:29092"
    dsn = urlsplit(env["REPLICATOR_TARGET_DSN"])
    pg = env_of("postgres")
    assert dsn.scheme in ("postgresql", "postgres")
    assert dsn.hostname == "postgres" and (dsn.port or 5432) == 5432
    assert dsn.path.lstrip("/") == pg["POSTGRES_DB"]
    assert dsn.username == pg["POSTGRES_USER"] and dsn.password == pg["POSTGRES_PASSWORD"]
    assert env["REPLICATOR_METRICS_HOST"] == "0.0.0.0"
    assert env.get("REPLICATOR_METRICS_PORT", str(metrics_port_default())) == str(metrics_port_default())
    deps = services()["replicator"]["depends_on"]
    assert deps["register-connectors"]["condition"] == "service_completed_successfully"


def replicator_mapping_paths() -> list[Path]:
    """REPLICATOR_MAPPING_PATHS of the replicator service, as repository paths."""
    paths = json.loads(env_of("replicator")["REPLICATOR_MAPPING_PATHS"])
    return [host_path("replicator", p) for p in paths]


def replicator_mapping_placeholders() -> set[str]:
    return mapping_placeholders(replicator_mapping_paths())


def mysql_databases() -> set[str]:
    """The databases the mysql service creates: MYSQL_DATABASE and every *_DATABASE its init
    scripts read."""
    env = env_of("mysql")
    scripts = " ".join(p.read_text() for p in host_path("mysql", "/docker-entrypoint-initdb.d").glob("*.sh"))
    dbs = {env["MYSQL_DATABASE"]}
    for k, v in env.items():
        if k.endswith("_DATABASE") and k != "MYSQL_DATABASE":
            assert "${" + k in scripts, f"mysql: {k} is set but no init script creates it"
            dbs.add(v)
    return dbs


def test_connect_resolves_every_placeholder_of_the_connector_files():
    env = env_of("connect")
    needed = {v for c in connector_files() for v in c.env_vars}
    assert needed <= set(env), f"connect lacks {sorted(needed - set(env))}"
    assert env["KAFKA_BOOTSTRAP_SERVERS"] == kafka_internal_bootstrap()
    assert env["BOOTSTRAP_SERVERS"] == kafka_internal_bootstrap()


def test_connectors_reach_the_legacy_services_with_their_debezium_accounts():
    """Each connector's host, port, user and password are the service's, and it captures a
    database that service creates."""
    resolved = resolve_connectors(connector_files(), env_of("connect"))
    mysql, pg = env_of("mysql"), env_of("legacy-postgres")
    kinds = set()
    for name, cfg in resolved.items():
        if cfg["connector.class"].endswith("MySqlConnector"):
            kinds.add("mysql")
            assert (cfg["database.hostname"], cfg["database.port"]) == ("mysql", "3306"), name
            assert cfg["database.user"] == mysql["DEBEZIUM_USER"], name
            assert cfg["database.password"] == mysql["DEBEZIUM_PASSWORD"], name
            patterns = cfg["database.include.list"].split(",")
            captured = {db for db in mysql_databases() if any(re.fullmatch(p.strip(), db) for p in patterns)}
            assert captured, f"{name}: database.include.list {patterns} matches no database of the mysql service"
        else:
            kinds.add("postgresql")
            assert cfg["connector.class"].endswith("PostgresConnector"), name
            assert (cfg["database.hostname"], cfg["database.port"]) == ("legacy-postgres", "5432"), name
            assert cfg["database.user"] == pg["DEBEZIUM_USER"], name
            assert cfg["database.password"] == pg["DEBEZIUM_PASSWORD"], name
            assert cfg["database.dbname"] == pg["POSTGRES_DB"], name
            assert cfg["plugin.name"] == "pgoutput", name
            # slot and publication names: lower-case letters, digits, underscores
            for key in ("slot.name", "publication.name"):
                assert re.fullmatch(r"[a-z0-9_]{1,63}", cfg[key]), f"{name}: {key}={cfg[key]!r}"
    assert kinds == {"mysql", "postgresql"}
    deps = services()["connect"]["depends_on"]
    assert deps["mysql"]["condition"] == deps["legacy-postgres"]["condition"] == "service_healthy"


def test_replicator_runs_the_chipp_mappings_against_what_the_connectors_publish():
    from replicator.mapping.loader import load_mappings

    paths = replicator_mapping_paths()
    assert paths == [CHIPP_MAPPINGS], f"the replicator should run config/chipp/mappings, not {paths}"
    env = env_of("replicator")
    placeholders = replicator_mapping_placeholders()
    assert placeholders, "the Chipp mappings read no ${...}?"
    # set explicitly, not left to the files' defaults: the values must agree with the services
    assert placeholders <= set(env), f"replicator env lacks {sorted(placeholders - set(env))}"
    ms = load_mappings(paths, env)
    check_mappings_match_connectors(ms, resolve_connectors(connector_files(), env_of("connect")))
    for name, src in ms.sources.items():
        if src.kind == "mysql":
            assert src.database in mysql_databases(), f"source {name}: the mysql service has no {src.database}"
        else:
            assert src.database == env_of("legacy-postgres")["POSTGRES_DB"], name


def connect_worker_settings() -> dict[str, str]:
    """Worker properties the Debezium image derives from its environment: KEY_CONVERTER and
    VALUE_CONVERTER, and CONNECT_A_B_C -> a.b.c (its docker-entrypoint.sh)."""
    env = env_of("connect")
    out = {"key.converter": env.get("KEY_CONVERTER", "org.apache.kafka.connect.json.JsonConverter"),
           "value.converter": env.get("VALUE_CONVERTER", "org.apache.kafka.connect.json.JsonConverter")}
    for k, v in env.items():
        if k.startswith("CONNECT_"):
            out[k[len("CONNECT_"):].lower().replace("_", ".")] = v
    return out


def test_connect_uses_the_local_workers_converters(tmp_path):
    from tests.deploy.test_strimzi import WORKER_KEYS, local_worker_settings

    ours = {k: v for k, v in connect_worker_settings().items() if WORKER_KEYS.match(k)}
    assert ours == local_worker_settings(tmp_path)


def test_connect_image_is_the_local_stacks_debezium():
    from tests.deploy.test_strimzi import debezium_version

    _, tag = image_repo(services()["connect"]["image"])
    assert tag.startswith(debezium_version()), f"connect image {tag} vs Debezium {debezium_version()} of the local stack"


def test_register_connectors_runs_the_script_on_the_connector_files():
    svc = services()["register-connectors"]
    mounts = dict(v.rsplit(":", 1)[0].split(":", 1) for v in svc["volumes"])
    cmd = svc["command"]
    script = cmd[cmd.index("python") + 1]
    assert script.startswith(mounts["./deploy"] + "/")
    assert (DEPLOY / Path(script).relative_to(mounts["./deploy"])).is_file()
    assert mounts["./config/connectors"] in cmd
    assert "http://connect:8083" in cmd
    assert svc["depends_on"]["connect"]["condition"] == "service_healthy"


def command_of(service: str) -> str:
    cmd = services()[service]["command"]
    return cmd if isinstance(cmd, str) else " ".join(cmd)


def test_mysql_writes_a_full_row_binlog():
    cmd = command_of("mysql")
    for flag in ("--server-id=", "--log-bin", "--binlog-format=ROW", "--binlog-row-image=FULL",
                 "--binlog-row-metadata=FULL"):
        assert flag in cmd, flag
    server_id = re.search(r"--server-id=(\d+)", cmd).group(1)
    resolved = resolve_connectors(connector_files(), env_of("connect"))
    ids = [cfg["database.server.id"] for cfg in resolved.values() if "database.server.id" in cfg]
    assert len(ids) >= 3, ids
    # every binlog client of one server needs its own id, none equal to the server's
    assert len(set(ids)) == len(ids) and server_id not in ids, f"server ids: MySQL {server_id}, connectors {ids}"


def test_legacy_postgres_has_logical_decoding():
    cmd = command_of("legacy-postgres").split()
    assert cmd[0] == "postgres"
    settings = [cmd[i + 1] for i, a in enumerate(cmd[:-1]) if a == "-c"]
    assert "wal_level=logical" in settings, cmd
    sql = " ".join(p.read_text() for p in host_path("legacy-postgres", "/docker-entrypoint-initdb.d").glob("*.sh"))
    # the Debezium login may open a replication connection and read the tables
    assert "REPLICATION" in sql and "GRANT SELECT" in sql


def test_target_postgres_applies_the_chipp_target_ddl():
    target = host_path("postgres", "/target-sql")
    assert target == REPO / "config" / "chipp" / "target"
    script = (host_path("postgres", "/docker-entrypoint-initdb.d") / "00-target.sh").read_text()
    assert "/target-sql/0*.sql" in script
    assert [p.name[:2] for p in sorted(target.glob("0*.sql"))] == ["01", "02", "03", "04"]


INIT_DIRS = {"mysql": "mysql-init", "legacy-postgres": "legacy-postgres-init", "postgres": "postgres-init"}
_SQL_PATH = re.compile(r"(?<![\w./-])(/[A-Za-z0-9_.-]+(?:/[A-Za-z0-9_.*-]+)*\.sql)\b")


@pytest.mark.parametrize("service", sorted(INIT_DIRS))
def test_init_scripts_load_files_that_are_mounted(service):
    init = host_path(service, "/docker-entrypoint-initdb.d")
    assert init == DEPLOY / "compose" / INIT_DIRS[service]
    scripts = sorted(init.glob("*.sh"))
    assert scripts
    for script in scripts:
        code = "\n".join(ln for ln in script.read_text().splitlines() if not ln.lstrip().startswith("#"))
        paths = _SQL_PATH.findall(code)
        assert paths, f"{script.name} loads no SQL file?"
        for path in paths:
            if not path.startswith("/docker-entrypoint"):
                resolved = host_path(service, path)
                assert sorted(resolved.parent.glob(resolved.name)), f"{script.name}: {path} -> {resolved}: no such file"


def test_prometheus_scrapes_the_replicator_service():
    svc = services()["prometheus"]
    mounts = dict(v.rsplit(":", 1)[0].split(":", 1) for v in svc["volumes"] if v.startswith("./"))
    assert mounts["./deploy/prometheus"] == "/etc/prometheus"
    assert "--config.file=/etc/prometheus/prometheus.yml" in svc["command"]
    cfg = yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text())
    targets = [t for j in cfg["scrape_configs"] if j["job_name"] == "replicator"
               for sc in j["static_configs"] for t in sc["targets"]]
    port = env_of("replicator").get("REPLICATOR_METRICS_PORT", str(metrics_port_default()))
    assert targets == [f"replicator:{port}"]


INIT_SCRIPTS = sorted(p.relative_to(DEPLOY / "compose").as_posix() for p in (DEPLOY / "compose").glob("*-init/*"))


def test_init_script_set():
    assert {"mysql-init/00-legacy.sh", "mysql-init/10-chipp.sh", "legacy-postgres-init/00-embeddings.sh",
            "postgres-init/00-target.sh", "postgres-init/10-slice.sh"} <= set(INIT_SCRIPTS), INIT_SCRIPTS


@pytest.mark.parametrize("script", INIT_SCRIPTS)
def test_init_scripts_are_executable_bash(script):
    path = DEPLOY / "compose" / script
    assert path.suffix == ".sh", f"{script}: the entrypoint runs *.sh (and *.sql, *.sql.gz) only"
    assert path.read_text().startswith("#!/bin/bash")
    assert path.stat().st_mode & 0o111, f"{script} must be executable"
