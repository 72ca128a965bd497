"""docs/operations.md: describes every metric of replicator/metrics.py (and the pending
reconcile ones), every alert, the HTTP endpoints, and says that the deploy files were not run."""

from __future__ import annotations

import yaml

from tests.deploy._util import OPERATIONS_MD, PENDING_METRICS, PROMETHEUS, documented_metric_names, markdown_anchors


def text() -> str:
    return OPERATIONS_MD.read_text()


def test_every_metric_is_described():
    doc = text()
    missing = [m for m in (*documented_metric_names(), *sorted(PENDING_METRICS)) if f"`{m}`" not in doc]
    assert not missing, f"docs/operations.md does not describe {missing}"


def test_every_alert_has_a_section():
    alerts = [r["alert"] for g in yaml.safe_load((PROMETHEUS / "alerts.yml").read_text())["groups"]
              for r in g["rules"] if "alert" in r]
    anchors = markdown_anchors(text())
    assert all(a.lower() in anchors for a in alerts), [a for a in alerts if a.lower() not in anchors]


def test_endpoints_and_secret_files_are_explained():
    doc = text()
    for s in ("`/metrics`", "`/healthz`", "`/readyz`", "REPLICATOR_TARGET_DSN_FILE", "replicator-target"):
        assert s in doc, s


def test_every_connector_is_described():
    from tests.deploy._util import CONNECTOR_DIR, DEPLOY, load_module

    props = load_module(DEPLOY / "connector_props.py", "connector_props")
    doc = text()
    missing = [c.name for c in props.load_connectors(CONNECTOR_DIR) if f"| `{c.name}` |" not in doc]
    assert not missing, f"docs/operations.md has no row for connector(s) {missing} in 'The connectors'"


def test_postgres_slot_cleanup_is_explained():
    doc = text()
    assert "the-replication-slot-of-chipp-embeddings" in markdown_anchors(doc)
    for s in ("pg_drop_replication_slot", "pg_replication_slots", "wal_level=logical", "DROP PUBLICATION"):
        assert s in doc, s


def test_says_plainly_that_nothing_was_run():
    assert "have not been run" in text()


def test_internal_links_resolve():
    import re

    doc = text()
    anchors = markdown_anchors(doc)
    for target in re.findall(r"\]\(#([^)]+)\)", doc):
        assert target in anchors, f"link to #{target} has no heading"
