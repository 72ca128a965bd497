"""deploy/grafana: the dashboard loads, reads only metrics replicator/metrics.py exposes (or
the pending reconcile ones), shows what an operator needs, and the provisioning files point
at the compose stack's Prometheus and at where compose mounts the dashboards."""

from __future__ import annotations

import json

import yaml

from tests.deploy._util import (
    COMPOSE_FILE,
    GRAFANA,
    PENDING_METRICS,
    PROMETHEUS_BUILTIN_SERIES,
    exposed_metric_names,
    promql_metric_names,
)

DASHBOARD = GRAFANA / "dashboards" / "replicator.json"
DATASOURCES = GRAFANA / "provisioning" / "datasources" / "prometheus.yml"
PROVIDERS = GRAFANA / "provisioning" / "dashboards" / "replicator.yml"

# what the dashboard must show, as the series its queries read
REQUIRED_SERIES = {
    "replicator_lag_seconds",                      # lag seconds per source table
    "replicator_lag_messages",                     # lag messages per topic/partition
    "replicator_events_total",                     # events/s by outcome
    "replicator_rows_applied_total",               # rows applied/s
    "replicator_apply_duration_seconds_bucket",    # apply duration p50/p99
    "replicator_batch_events_bucket",              # batch size
    "replicator_dlq_events_total",
    "replicator_retries_total",
    "replicator_schema_drift_total",
    "replicator_reconcile_differences",
    "replicator_reconcile_last_clean_timestamp_seconds",
}


def dashboard() -> dict:
    return json.loads(DASHBOARD.read_text())


def panels() -> list[dict]:
    out = []
    for p in dashboard()["panels"]:
        out.append(p)
        out.extend(p.get("panels", []))  # collapsed rows keep their panels inside
    return out


def expressions() -> list[tuple[str, str]]:
    return [(p["title"], t["expr"]) for p in panels() for t in p.get("targets", []) if t.get("expr")]


def test_dashboard_loads_with_unique_ids():
    d = dashboard()
    assert d["uid"] == "replicator" and d["title"]
    ids = [p["id"] for p in panels()]
    assert len(ids) == len(set(ids))
    for p in panels():
        if p["type"] != "row":
            assert p.get("targets"), f"panel {p['title']} has no query"


def test_panels_do_not_overlap():
    cells = {}
    for p in panels():
        g = p["gridPos"]
        assert 0 <= g["x"] and g["x"] + g["w"] <= 24, p["title"]
        for x in range(g["x"], g["x"] + g["w"]):
            for y in range(g["y"], g["y"] + g["h"]):
                assert (x, y) not in cells, f"{p['title']} overlaps {cells[(x, y)]}"
                cells[(x, y)] = p["title"]


def test_queries_use_the_datasource_variable():
    names = {v["name"] for v in dashboard()["templating"]["list"] if v["type"] == "datasource"}
    assert names == {"datasource"}
    for p in panels():
        if p["type"] == "row":
            continue
        assert p["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, p["title"]


def test_every_metric_in_the_dashboard_exists():
    known = exposed_metric_names() | PENDING_METRICS | PROMETHEUS_BUILTIN_SERIES
    for title, expr in expressions():
        unknown = promql_metric_names(expr) - known
        assert not unknown, f"panel {title!r}: unknown metric(s) {sorted(unknown)} in {expr}"


def test_dashboard_shows_what_operators_need():
    used = set().union(*(promql_metric_names(e) for _, e in expressions()))
    assert REQUIRED_SERIES <= used, sorted(REQUIRED_SERIES - used)
    exprs = " ".join(e for _, e in expressions())
    for q in ("0.5", "0.99"):
        assert f"histogram_quantile({q}, sum by (le) (rate(replicator_apply_duration_seconds_bucket" in exprs


def test_provisioning_points_at_compose_prometheus_and_dashboard_mount():
    ds = yaml.safe_load(DATASOURCES.read_text())
    (prom,) = ds["datasources"]
    assert prom["type"] == "prometheus" and prom["url"] == "http://prometheus:9090"
    providers = yaml.safe_load(PROVIDERS.read_text())["providers"]
    compose = yaml.safe_load(COMPOSE_FILE.read_text())
    mounts = dict(v.rsplit(":", 1)[0].split(":", 1) for v in compose["services"]["grafana"]["volumes"]
                  if v.startswith("./"))
    assert mounts["./deploy/grafana/dashboards"] == providers[0]["options"]["path"]
    assert mounts["./deploy/grafana/provisioning"] == "/etc/grafana/provisioning"
