"""deploy/k8s and deploy/strimzi: every manifest validates offline (built-in kinds against
kubernetes-validate's schemas for a fixed Kubernetes version, CRDs and kustomizations against
the minimal schemas in tests/deploy/schemas), kustomizations reference only files that exist,
the mapping copies equal config/chipp/mappings (the Chipp mappings the production replicator
runs), `kubectl kustomize` renders valid output, and the Deployment agrees with the image,
the settings (the mappings' ${...} placeholders included) and the HTTP endpoints."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import jsonschema
import kubernetes_validate
import pytest
import yaml

from tests.deploy._util import (
    DEPLOY,
    K8S,
    REPO,
    SCHEMAS,
    STRIMZI,
    dockerfile_exposed_ports,
    dockerfile_user_uid,
    load_yaml_docs,
    mapping_placeholders,
    metrics_port_default,
)

# the oldest Kubernetes the manifests must work on (PodDisruptionBudget's
# unhealthyPodEvictionPolicy is GA in 1.31, beta and on by default since 1.27)
K8S_VERSION = "1.30.0"

BASE = K8S / "base"
OVERLAY = K8S / "overlays" / "production"
MAPPING_COPIES = BASE / "mappings"
SOURCE_MAPPINGS = REPO / "config" / "chipp" / "mappings"

CRD_SCHEMAS = {
    ("monitoring.coreos.com/v1", "ServiceMonitor"): "servicemonitor.json",
    ("kafka.strimzi.io/v1beta2", "KafkaConnect"): "kafkaconnect.json",
    ("kafka.strimzi.io/v1beta2", "KafkaConnector"): "kafkaconnector.json",
    ("kustomize.config.k8s.io/v1beta1", "Kustomization"): "kustomization.json",
}


def manifest_files() -> list[Path]:
    files = sorted(p for root in (K8S, STRIMZI) for p in root.rglob("*")
                   if p.suffix in (".yaml", ".yml") and MAPPING_COPIES not in p.parents)
    assert files
    return files


def kustomization_dirs() -> list[Path]:
    return sorted(p.parent for root in (K8S, STRIMZI) for p in root.rglob("kustomization.yaml"))


def validate_doc(doc: dict, where: str) -> None:
    assert isinstance(doc, dict) and doc.get("apiVersion") and doc.get("kind"), f"{where}: not a Kubernetes object"
    key = (doc["apiVersion"], doc["kind"])
    if key in CRD_SCHEMAS:
        schema = json.loads((SCHEMAS / CRD_SCHEMAS[key]).read_text())
        try:
            jsonschema.Draft202012Validator(schema).validate(doc)
        except jsonschema.ValidationError as exc:
            pytest.fail(f"{where}: {doc['kind']} {'.'.join(map(str, exc.absolute_path))}: {exc.message}")
        return
    try:
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
    except kubernetes_validate.ValidationError as exc:
        pytest.fail(f"{where}: {doc['kind']}/{doc.get('metadata', {}).get('name')} "
                    f"{'.'.join(map(str, exc.path))}: {exc.message}")
    except kubernetes_validate.SchemaNotFoundError as exc:
        pytest.fail(f"{where}: {exc.message} (add a schema to tests/deploy/schemas for a CRD)")


@pytest.mark.parametrize("path", manifest_files(), ids=lambda p: str(p.relative_to(DEPLOY)))
def test_manifest_validates(path: Path):
    docs = load_yaml_docs(path)
    assert docs, f"{path}: empty"
    for i, doc in enumerate(docs):
        validate_doc(doc, f"{path.relative_to(REPO)}[{i}]")


def _generator_sources(entry: dict) -> list[str]:
    # `files` entries may be `key=path`
    return [f.split("=", 1)[-1] for f in entry.get("files", [])] + list(entry.get("envs", []))


@pytest.mark.parametrize("kdir", kustomization_dirs(), ids=lambda p: str(p.relative_to(DEPLOY)))
def test_kustomization_references_existing_files(kdir: Path):
    k = yaml.safe_load((kdir / "kustomization.yaml").read_text())
    assert "secretGenerator" not in k, "no secret values in the repository: reference existing Secrets"
    used: set[Path] = set()
    for res in k.get("resources", []):
        target = (kdir / res).resolve()
        assert target.exists(), f"{kdir}: resource {res} does not exist"
        if target.is_dir():
            assert (target / "kustomization.yaml").exists(), f"{kdir}: {res} is a directory without kustomization.yaml"
        else:
            assert kdir.resolve() in target.parents, f"{kdir}: resource file {res} is outside the kustomization root"
            used.add(target)
    for gen in k.get("configMapGenerator", []):
        for src in _generator_sources(gen):
            target = (kdir / src).resolve()
            # kustomize's default load restrictor: generator inputs must be inside the root
            assert kdir.resolve() in target.parents, f"{kdir}: {src} is outside the kustomization root"
            assert target.is_file(), f"{kdir}: configMapGenerator {gen['name']}: {src} does not exist"
            used.add(target)
    for patch in k.get("patches", []):
        if "path" in patch:
            target = (kdir / patch["path"]).resolve()
            assert target.is_file(), f"{kdir}: patch {patch['path']} does not exist"
            used.add(target)
    # a manifest next to the kustomization that nobody lists is never applied
    for p in kdir.iterdir():
        if p.suffix in (".yaml", ".yml") and p.name != "kustomization.yaml":
            assert p.resolve() in used, f"{p.relative_to(REPO)} is not listed in {kdir.name}/kustomization.yaml"


def test_mapping_copies_equal_config_chipp_mappings():
    sources = {p.name: p.read_bytes() for p in sorted(SOURCE_MAPPINGS.glob("*.y*ml"))}
    copies = {p.name: p.read_bytes() for p in sorted(MAPPING_COPIES.glob("*.y*ml"))}
    assert sources, "config/chipp/mappings has no mapping file"
    assert sorted(copies) == sorted(sources), (
        "deploy/k8s/base/mappings/ must hold exactly config/chipp/mappings/*.yaml: "
        "cp config/chipp/mappings/*.yaml deploy/k8s/base/mappings/ (remove stale copies, and "
        "list new files in the replicator-mappings configMapGenerator)")
    for name, data in sources.items():
        assert copies[name] == data, (
            f"deploy/k8s/base/mappings/{name} differs from config/chipp/mappings/{name}: copy it again")
    k = yaml.safe_load((BASE / "kustomization.yaml").read_text())
    gen = next(g for g in k["configMapGenerator"] if g["name"] == "replicator-mappings")
    assert sorted(Path(f.split("=", 1)[-1]).name for f in gen["files"]) == sorted(sources)


# --- the rendered output ---------------------------------------------------------------------

def kustomize(kdir: Path) -> list[dict]:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.fail("kubectl not found: its built-in kustomize renders deploy/k8s and deploy/strimzi "
                    "(this machine image ships kubectl; elsewhere install kubectl >= 1.27)")
    r = subprocess.run([kubectl, "kustomize", str(kdir)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, f"kubectl kustomize {kdir.relative_to(REPO)} failed:\n{r.stderr}"
    return [d for d in yaml.safe_load_all(r.stdout) if d]


@pytest.mark.parametrize("kdir", kustomization_dirs(), ids=lambda p: str(p.relative_to(DEPLOY)))
def test_kustomize_renders_valid_objects(kdir: Path):
    docs = kustomize(kdir)
    assert docs
    for doc in docs:
        validate_doc(doc, f"kubectl kustomize {kdir.relative_to(REPO)}")
        assert doc["kind"] != "Secret", "a Secret was rendered: secrets are referenced, never committed"
    configmaps = {d["metadata"]["name"] for d in docs if d["kind"] == "ConfigMap"}
    for dep in (d for d in docs if d["kind"] == "Deployment"):
        pod = dep["spec"]["template"]["spec"]
        refs = [e["configMapRef"]["name"] for c in pod["containers"] for e in c.get("envFrom", []) if "configMapRef" in e]
        refs += [v["configMap"]["name"] for v in pod.get("volumes", []) if "configMap" in v]
        for ref in refs:
            assert ref in configmaps, f"{dep['metadata']['name']} references ConfigMap {ref}, not rendered"


def test_overlay_sets_the_image_and_keeps_the_base():
    docs = kustomize(OVERLAY)
    dep = next(d for d in docs if d["kind"] == "Deployment")
    image = dep["spec"]["template"]["spec"]["containers"][0]["image"]
    assert image.startswith("registry.example.com/") and ":" in image
    assert {d["kind"] for d in docs} >= {"Deployment", "Service", "ServiceMonitor", "PodDisruptionBudget", "ConfigMap"}


# --- what the Deployment says --------------------------------------------------------------

def base_objects() -> dict[str, dict]:
    objs = {}
    for p in BASE.glob("*.yaml"):
        for d in load_yaml_docs(p):
            if d.get("kind") != "Kustomization":
                objs[d["kind"]] = d
    return objs


def container() -> dict:
    return base_objects()["Deployment"]["spec"]["template"]["spec"]["containers"][0]


def test_metrics_port_agrees_everywhere():
    port = metrics_port_default()
    assert port == 9108
    c = container()
    ports = {p["name"]: p["containerPort"] for p in c["ports"]}
    assert ports == {"metrics": port}
    assert dockerfile_exposed_ports() == {port}
    svc = base_objects()["Service"]
    assert [(p["name"], p["port"], p["targetPort"]) for p in svc["spec"]["ports"]] == [("metrics", port, "metrics")]
    env = env_file()
    assert env["REPLICATOR_METRICS_PORT"] == str(port)
    assert env["REPLICATOR_METRICS_HOST"] == "0.0.0.0"


def test_probes_use_the_http_endpoints():
    c = container()
    assert c["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "metrics"}
    assert c["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "metrics"}
    http_src = (REPO / "replicator" / "http.py").read_text()
    for path in ("/healthz", "/readyz", "/metrics"):
        assert f'"{path}"' in http_src, f"replicator/http.py no longer serves {path}"


def test_deployment_shape():
    dep = base_objects()["Deployment"]
    spec = dep["spec"]
    pod = spec["template"]["spec"]
    assert spec["replicas"] == 2
    assert pod["terminationGracePeriodSeconds"] == 60
    assert spec["selector"]["matchLabels"].items() <= spec["template"]["metadata"]["labels"].items()
    c = container()
    assert c["resources"] == {"requests": {"cpu": "500m", "memory": "384Mi"}, "limits": {"cpu": "2", "memory": "512Mi"}}
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == dockerfile_user_uid()
    assert c["securityContext"]["readOnlyRootFilesystem"] is True
    assert c["securityContext"]["allowPrivilegeEscalation"] is False
    assert c.get("args", ["run"]) == ["run"]


def test_target_dsn_is_a_mounted_secret_file():
    pod = base_objects()["Deployment"]["spec"]["template"]["spec"]
    c = container()
    env = {e["name"]: e for e in c.get("env", [])}
    assert "REPLICATOR_TARGET_DSN" not in env and "REPLICATOR_TARGET_DSN" not in env_file()
    dsn_file = env["REPLICATOR_TARGET_DSN_FILE"]["value"]
    vols = {v["name"]: v for v in pod["volumes"]}
    secret_vols = [v for v in vols.values() if v.get("secret", {}).get("secretName") == "replicator-target"]
    assert len(secret_vols) == 1
    vol = secret_vols[0]
    item = next(i for i in vol["secret"]["items"] if i["key"] == "dsn")
    mount = next(m for m in c["volumeMounts"] if m["name"] == vol["name"])
    assert mount.get("readOnly") is True
    assert dsn_file == f"{mount['mountPath'].rstrip('/')}/{item['path']}"
    for e in c.get("env", []):  # no literal secret values
        sensitive = any(s in e["name"] for s in ("PASSWORD", "SECRET", "TOKEN", "DSN")) and not e["name"].endswith("_FILE")
        if sensitive:
            assert "secretKeyRef" in e.get("valueFrom", {}), f"{e['name']}: take it from a Secret"


def test_mappings_configmap_is_mounted_where_the_settings_look():
    pod = base_objects()["Deployment"]["spec"]["template"]["spec"]
    c = container()
    vol = next(v for v in pod["volumes"] if v.get("configMap", {}).get("name") == "replicator-mappings")
    mount = next(m for m in c["volumeMounts"] if m["name"] == vol["name"])
    assert json.loads(env_file()["REPLICATOR_MAPPING_PATHS"]) == [mount["mountPath"]]
    assert {"configMapRef": {"name": "replicator-env"}} in c["envFrom"]


def env_file() -> dict[str, str]:
    out = {}
    for line in (BASE / "replicator.env").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            k, _, v = line.partition("=")
            out[k.strip()] = v
    return out


def test_env_file_holds_valid_settings(monkeypatch, tmp_path):
    from replicator.config import Settings

    env = env_file()
    assert env["REPLICATOR_LOG_FORMAT"] == "json"
    fields = {f"REPLICATOR_{name.upper()}" for name in Settings.model_fields}
    unknown = set(env) - fields - mapping_placeholders([MAPPING_COPIES])
    assert not unknown, (f"deploy/k8s/base/replicator.env: neither settings of replicator/config.py "
                         f"nor placeholders of the mappings: {sorted(unknown)}")
    for k in list(os.environ):
        if k.startswith("REPLICATOR_"):
            monkeypatch.delenv(k)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    monkeypatch.chdir(tmp_path)  # no .env file
    s = Settings()
    assert s.metrics_host == "0.0.0.0" and s.log_format == "json"


def test_env_file_sets_every_mapping_placeholder():
    """The mappings' ${...} are set explicitly (the pods' values, not the files' defaults),
    and the mounted mappings load with them."""
    from replicator.mapping.loader import load_mappings

    needed = mapping_placeholders([MAPPING_COPIES])
    assert {"CHIPP_MAIN_DATABASE", "CHIPP_CHAT_DATABASE", "CHIPP_EMBEDDINGS_DATABASE"} <= needed
    env = env_file()
    assert needed <= set(env), f"deploy/k8s/base/replicator.env lacks {sorted(needed - set(env))}"
    ms = load_mappings([MAPPING_COPIES], env)
    assert ms.tables


def test_service_monitor_and_pdb_select_the_pods():
    objs = base_objects()
    pod_labels = objs["Deployment"]["spec"]["template"]["metadata"]["labels"]
    svc = objs["Service"]
    assert svc["spec"]["selector"].items() <= pod_labels.items()
    sm = objs["ServiceMonitor"]
    assert sm["spec"]["selector"]["matchLabels"].items() <= svc["metadata"]["labels"].items()
    assert [e["port"] for e in sm["spec"]["endpoints"]] == ["metrics"]
    assert sm["spec"]["endpoints"][0]["path"] == "/metrics"
    pdb = objs["PodDisruptionBudget"]
    assert pdb["spec"]["maxUnavailable"] == 1
    assert pdb["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()


def test_no_secret_objects_in_deploy():
    for p in DEPLOY.rglob("*.y*ml"):
        if MAPPING_COPIES in p.parents:
            continue
        for d in load_yaml_docs(p):
            assert not (isinstance(d, dict) and d.get("kind") == "Secret"), f"{p}: a Secret in the repository"


def test_the_jobs_run_real_commands_with_every_legacy_source_and_the_pods_settings():
    from click.testing import CliRunner

    from replicator.cli import main
    from replicator.mapping.loader import load_mappings

    jobs = {d["metadata"]["name"]: d for p in BASE.glob("*cronjob.yaml") for d in load_yaml_docs(p)}
    assert set(jobs) == {"replicator-reconcile", "replicator-cutover-check", "replicator-tombstones-prune"}
    assert jobs["replicator-cutover-check"]["spec"]["suspend"] is True, "the cutover gate runs on demand only"
    sources = load_mappings([REPO / "config" / "chipp" / "mappings"], env=env_file()).sources
    deployment_pod = base_objects()["Deployment"]["spec"]["template"]["spec"]
    for name, job in jobs.items():
        pod = job["spec"]["jobTemplate"]["spec"]["template"]["spec"]
        [c] = pod["containers"]
        assert CliRunner().invoke(main, [*c["args"], "--help"]).exit_code == 0, f"{name}: {c['args']} is not a command"
        env = {e["name"] for e in c["env"]}
        if name != "replicator-tombstones-prune":  # the broker and the target only
            assert {f"REPLICATOR_SOURCE_{s.upper()}_DSN" for s in sources} <= env, f"{name}: a legacy source has no DSN"
        assert "REPLICATOR_TARGET_DSN_FILE" in env and c["envFrom"] == deployment_pod["containers"][0]["envFrom"]
        assert pod["volumes"] == deployment_pod["volumes"] and pod["securityContext"] == deployment_pod["securityContext"]
        assert c["securityContext"]["readOnlyRootFilesystem"] is True and pod["restartPolicy"] == "Never"
