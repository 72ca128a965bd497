"""Secrets never reach logs or error messages: a password in the configuration is absent
from everything the replicator prints, and the stack's own passwords are absent from the
Debezium worker's log."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from replicator.stack.manager import REPO_ROOT

PASSWORD = "Tr0ub4dor-and-3-horses"


def run_cli(args: list[str], env: dict[str, str], seconds: float | None = None) -> str:
    full_env = {**os.environ, "REPLICATOR_LOG_FORMAT": "json", "REPLICATOR_METRICS_PORT": "0", **env}
    proc = subprocess.Popen([sys.executable, "-m", "replicator.cli", *args], env=full_env, cwd=REPO_ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if seconds is not None:
        time.sleep(seconds)
        proc.send_signal(signal.SIGTERM)
    try:
        out, _ = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
    return out


def test_password_in_target_dsn_never_printed_while_retrying():
    out = run_cli(["run"], {"REPLICATOR_TARGET_DSN": f"postgresql://app:{PASSWORD}@127.0.0.1:1/target",
                            "REPLICATOR_KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1"}, seconds=4)
    assert "replicator.retry" in out, out[-2000:]  # it did log the failing connection...
    assert PASSWORD not in out  # ...without the password


def test_password_absent_from_settings_errors():
    out = run_cli(["run"], {"REPLICATOR_TARGET_DSN": f"postgresql://app:{PASSWORD}@127.0.0.1:1/target",
                            "REPLICATOR_BATCH_MAX_EVENTS": "many"})
    assert "invalid settings" in out and "batch_max_events" in out
    assert PASSWORD not in out


def test_password_in_source_dsn_absent_from_validate_errors():
    out = run_cli(["mapping", "validate"], {
        "REPLICATOR_SOURCE_LEGACY_MAIN_DSN": f"mysql://replicator:{PASSWORD}@127.0.0.1:1/legacy_main",
        "REPLICATOR_TARGET_DSN": f"postgresql://app:{PASSWORD}@127.0.0.1:1/target"})
    assert "mapping validate:" in out
    assert PASSWORD not in out


@pytest.mark.stack
def test_stack_passwords_absent_from_the_connect_worker_log(stack):
    log = stack.connect.log.read_text(errors="replace")
    assert log, "the worker should have logged something"
    for user in ("debezium", "replicator"):
        assert stack.mariadb.password(user) not in log


def test_cutover_check_with_nothing_reachable_is_unknown_and_never_prints_the_password():
    out = run_cli(["cutover", "check", "--reconciled-within", "60"],
                  {"REPLICATOR_TARGET_DSN": f"postgresql://app:{PASSWORD}@127.0.0.1:1/target",
                   "REPLICATOR_KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1"})
    assert "VERDICT: UNKNOWN" in out and "UNKNOWN  consumer_lag" in out and "UNKNOWN  parked_writes" in out, out
    assert PASSWORD not in out
