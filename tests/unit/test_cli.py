"""The command line's pure commands: help, explain (row and event file), keys."""

from __future__ import annotations

import json

from click.testing import CliRunner

from replicator.cli import main
from replicator.keys import remap_key
from replicator.stack.manager import REPO_ROOT

MAPPINGS = str(REPO_ROOT / "config" / "mappings")
ROW = {"id": 7, "email": " Ada@X.io", "name": "Ada", "pictureUrl": None, "username": "ada",
       "hasCompletedOnboarding": 1, "resetToken": "secret", "resetTokenExpiry": None, "magicLinkToken": None,
       "stripeCustomerId": None, "createdAt": 1709287200123, "updatedAt": 1709287200123}


def test_help_lists_every_command_one_line_each():
    out = CliRunner().invoke(main, ["--help"]).output
    for cmd in ("stack", "run", "explain", "mapping", "dlq", "keys", "target"):
        assert any(line.strip().startswith(cmd + " ") for line in out.splitlines()), cmd


def test_explain_a_row():
    r = CliRunner().invoke(main, ["explain", "legacy_main.Developer", "--mapping", MAPPINGS,
                                  "--row", json.dumps(ROW)])
    assert r.exit_code == 0, r.output
    [op] = json.loads(r.output)
    assert op["table"] == "app.users" and op["kind"] == "upsert"
    assert op["values"]["id"] == str(remap_key("legacy_main", "Developer", 7))
    assert op["values"]["email"] == "ada@x.io"
    assert op["values"]["created_at"].startswith("2024-03-01 10:00:00.123")
    assert "resetToken" not in json.dumps(op["values"]) and "secret" not in r.output


def test_explain_a_debezium_event_from_a_file(tmp_path):
    event = {"before": ROW, "after": None, "op": "d", "ts_ms": 1,
             "source": {"connector": "mysql", "name": "legacy_main", "db": "legacy_main", "table": "Developer",
                        "file": "binlog.000004", "pos": 1234, "row": 0, "ts_ms": 1, "snapshot": "false"}}
    f = tmp_path / "event.json"
    f.write_text(json.dumps(event))
    r = CliRunner().invoke(main, ["explain", "legacy_main.Developer", "--mapping", MAPPINGS, "--event", str(f)])
    assert r.exit_code == 0, r.output
    [op] = json.loads(r.output)
    assert op["kind"] == "delete" and op["position"] == [4, 1234, 0]


def test_explain_reports_drift():
    r = CliRunner().invoke(main, ["explain", "legacy_main.Developer", "--mapping", MAPPINGS,
                                  "--row", json.dumps({**ROW, "newColumn": 1})])
    assert r.exit_code == 1 and "newColumn" in r.output


def test_keys_remap_and_reverse_round_trip():
    r = CliRunner().invoke(main, ["keys", "remap", "legacy_main.Developer", "42", "--mapping", MAPPINGS])
    assert r.exit_code == 0
    new_id = r.output.strip()
    assert new_id == str(remap_key("legacy_main", "Developer", 42))
    r = CliRunner().invoke(main, ["keys", "reverse", new_id, "--mapping", MAPPINGS])
    assert r.exit_code == 0 and r.output.strip() == "legacy_main.Developer key=42"
