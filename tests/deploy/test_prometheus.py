"""deploy/prometheus: promtool accepts the rules and the compose scrape config, the rules'
unit tests pass, every alert has a runbook section, and every series they read exists."""

from __future__ import annotations

import shutil
import subprocess

import pytest
import yaml

from tests.deploy._util import (
    OPERATIONS_MD,
    PENDING_METRICS,
    PROMETHEUS,
    PROMETHEUS_BUILTIN_SERIES,
    exposed_metric_names,
    markdown_anchors,
    promql_metric_names,
)

ALERTS = PROMETHEUS / "alerts.yml"
ALERT_TESTS = PROMETHEUS / "alerts_test.yml"
SCRAPE_CONFIG = PROMETHEUS / "prometheus.yml"

REQUIRED_ALERTS = {
    "ReplicatorLagHigh", "ReplicatorDLQNotEmpty", "ReplicatorNoProgress", "ReplicatorSchemaDrift",
    "ReplicatorReconcileDifferences", "ReplicatorReconcileStale",
}


def promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        pytest.fail("promtool not found: install Debian's prometheus package "
                    "(apt-get install -y prometheus), which provides /usr/bin/promtool")
    return path


def run_promtool(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([promtool(), *args], capture_output=True, text=True, timeout=120, cwd=PROMETHEUS)


def rules() -> list[dict]:
    doc = yaml.safe_load(ALERTS.read_text())
    return [r for g in doc["groups"] for r in g["rules"]]


def test_promtool_check_rules():
    r = run_promtool("check", "rules", ALERTS.name)
    assert r.returncode == 0, r.stdout + r.stderr


def test_promtool_unit_tests_of_the_alerts():
    r = run_promtool("test", "rules", ALERT_TESTS.name)
    assert r.returncode == 0, r.stdout + r.stderr


def test_unit_tests_cover_dlq_and_lag_alerts():
    doc = yaml.safe_load(ALERT_TESTS.read_text())
    tested = {t["alertname"] for case in doc["tests"] for t in case.get("alert_rule_test", [])
              if t.get("exp_alerts")}
    assert {"ReplicatorDLQNotEmpty", "ReplicatorLagHigh"} <= tested, tested


def test_promtool_check_compose_scrape_config():
    r = run_promtool("check", "config", SCRAPE_CONFIG.name)
    assert r.returncode == 0, r.stdout + r.stderr


def test_required_alerts_exist_with_annotations():
    by_name = {r["alert"]: r for r in rules() if "alert" in r}
    assert REQUIRED_ALERTS <= set(by_name), REQUIRED_ALERTS - set(by_name)
    for name, rule in by_name.items():
        ann = rule.get("annotations", {})
        for key in ("summary", "description", "runbook_url"):
            assert ann.get(key), f"{name}: annotation {key} missing"
        assert rule.get("labels", {}).get("severity") in {"info", "warning", "critical"}, name


def test_specified_thresholds():
    by_name = {r["alert"]: r for r in rules() if "alert" in r}
    lag = by_name["ReplicatorLagHigh"]
    assert "max by (source_table) (replicator_lag_seconds) > 300" in lag["expr"] and lag["for"] == "10m"
    for name, counter in (("ReplicatorDLQNotEmpty", "replicator_dlq_events_total"),
                          ("ReplicatorSchemaDrift", "replicator_schema_drift_total")):
        expr = " ".join(by_name[name]["expr"].split())
        assert f"increase({counter}[15m])" in expr and expr.endswith("> 0"), expr
    assert "replicator_reconcile_differences" in by_name["ReplicatorReconcileDifferences"]["expr"]
    stale = by_name["ReplicatorReconcileStale"]["expr"]
    assert "time() -" in stale and "replicator_reconcile_last_clean_timestamp_seconds" in stale and "86400" in stale
    stuck = by_name["ReplicatorNoProgress"]["expr"]
    assert "rate(replicator_events_total[10m])" in stuck and "replicator_lag_messages" in stuck


def test_runbook_urls_point_at_sections_of_operations_md():
    anchors = markdown_anchors(OPERATIONS_MD.read_text())
    for rule in rules():
        if "alert" not in rule:
            continue
        url = rule["annotations"]["runbook_url"]
        path, _, anchor = url.partition("#")
        assert path.endswith("docs/operations.md"), url
        assert anchor == rule["alert"].lower(), url
        assert anchor in anchors, f"{rule['alert']}: no heading with anchor #{anchor} in docs/operations.md"


def test_alert_expressions_use_only_existing_metrics():
    known = exposed_metric_names() | PENDING_METRICS | PROMETHEUS_BUILTIN_SERIES
    for rule in rules():
        unknown = promql_metric_names(rule["expr"]) - known
        assert not unknown, f"{rule.get('alert') or rule.get('record')}: unknown metric(s) {sorted(unknown)}"


def test_compose_scrape_config_targets_replicator_metrics_port():
    from replicator.config import Settings

    cfg = yaml.safe_load(SCRAPE_CONFIG.read_text())
    assert "alerts.yml" in cfg["rule_files"]
    job = next(j for j in cfg["scrape_configs"] if j["job_name"] == "replicator")
    assert job.get("metrics_path", "/metrics") == "/metrics"
    targets = [t for sc in job["static_configs"] for t in sc["targets"]]
    assert f"replicator:{Settings.model_fields['metrics_port'].default}" in targets
