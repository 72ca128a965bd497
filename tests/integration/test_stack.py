"""The stack's own contract: idempotent `up`, loopback only, and a part that cannot start
fails loudly with its name and log tail (so tests that need it fail, never skip)."""

from __future__ import annotations

import socket

import psutil
import pytest

from replicator.stack.manager import Stack
from replicator.stack.parts import MariaDB, PartFailed

pytestmark = pytest.mark.stack


def test_up_is_idempotent_and_status_reports_every_part(stack):
    before = {p.name: p.pid() for p in stack.parts}
    lines: list[str] = []
    stack.up(echo=lines.append)
    assert all("already up" in line for line in lines), lines
    assert {p.name: p.pid() for p in stack.parts} == before, "a second `up` must not restart anything"
    assert [(name, state) for name, state, _ in stack.status()] == [
        ("mariadb", "up"), ("postgres", "up"), ("broker", "up"), ("connect", "up")]


def test_every_part_listens_on_loopback_only(stack):
    pids = set()
    for part in stack.parts:
        proc = psutil.Process(part.pid())
        pids |= {proc.pid} | {c.pid for c in proc.children(recursive=True)}
    listening = [c for c in psutil.net_connections("inet") if c.status == psutil.CONN_LISTEN and c.pid in pids]
    assert listening, "the stack's parts should be listening"
    assert all(c.laddr.ip in ("127.0.0.1", "::1") for c in listening), listening


def test_a_part_that_cannot_start_fails_with_its_name_and_log(tmp_path):
    # occupy a port, then ask MariaDB to listen on it
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        part = MariaDB("mariadb", tmp_path, port)
        with pytest.raises(PartFailed) as info:
            part.start()
        part.stop()
    text = str(info.value)
    assert text.startswith("mariadb:")
    assert "last lines of" in text and "mariadb.log" in text


def test_stack_status_says_down_for_a_stack_that_was_never_started(tmp_path):
    s = Stack(root=tmp_path, mysql_port=1, postgres_port=2, kafka_port=3)
    assert {state for _, state, _ in s.status()} == {"down"}
