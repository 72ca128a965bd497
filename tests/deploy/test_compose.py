"""docker-compose.yml: the services exist, run official images (only the replicator is
built, from deploy/Dockerfile), publish ports on 127.0.0.1 only, and are wired to each other:
the replicator reads Kafka's internal listener and writes the postgres service, the connect
worker resolves every ${env:...} of config/connectors/*.properties and uses the local worker's
converters, and Prometheus scrapes the replicator's metrics port."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from tests.deploy._util import COMPOSE_FILE, DEPLOY, PROMETHEUS, REPO, load_module, metrics_port_default

props = load_module(DEPLOY / "connector_props.py", "connector_props")

REQUIRED_SERVICES = {"mysql", "kafka", "connect", "postgres", "prometheus", "grafana", "replicator"}
# vendors' own images: Docker Official Images, or the project's own repository
OFFICIAL_IMAGES = {
    "mysql": "mysql",
    "kafka": "apache/kafka",
    "connect": "quay.io/debezium/connect",
    "register-connectors": "python",
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
    assert set(env) <= fields, f"not settings: {sorted(set(env) - fields)}"
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


def test_connect_resolves_every_placeholder_of_the_connector_files():
    env = env_of("connect")
    needed = {v for c in props.load_connectors(REPO / "config" / "connectors") for v in c.env_vars}
    assert needed <= set(env), f"connect lacks {sorted(needed - set(env))}"
    assert env["KAFKA_BOOTSTRAP_SERVERS"] == kafka_internal_bootstrap()
    assert env["BOOTSTRAP_SERVERS"] == kafka_internal_bootstrap()
    mysql = env_of("mysql")
    assert env["LEGACY_MAIN_MYSQL_HOST"] == "mysql"
    assert env["LEGACY_MAIN_MYSQL_PORT"] == "3306"
    assert env["LEGACY_MAIN_MYSQL_USER"] == mysql["DEBEZIUM_USER"]
    assert env["LEGACY_MAIN_MYSQL_PASSWORD"] == mysql["DEBEZIUM_PASSWORD"]
    assert re.fullmatch(env["LEGACY_MAIN_DATABASES"], mysql["MYSQL_DATABASE"])


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


def test_mysql_writes_a_full_row_binlog():
    cmd = " ".join(services()["mysql"]["command"])
    for flag in ("--server-id=", "--log-bin", "--binlog-format=ROW", "--binlog-row-image=FULL",
                 "--binlog-row-metadata=FULL"):
        assert flag in cmd, flag
    server_id = re.search(r"--server-id=(\d+)", cmd).group(1)
    assert server_id != env_of("connect")["LEGACY_MAIN_SERVER_ID"], "Debezium's server id must differ from MySQL's"


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


@pytest.mark.parametrize("script", ["mysql-init/00-legacy.sh", "postgres-init/00-target.sh"])
def test_init_scripts_are_executable_bash(script):
    path = DEPLOY / "compose" / script
    assert path.read_text().startswith("#!/bin/bash")
    assert path.stat().st_mode & 0o111, f"{script} must be executable"
