"""Starting, watching and stopping the stack's daemon processes by PID."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path


def start_daemon(argv: Sequence[str], log_path: Path, pid_path: Path, *,
                 env: Mapping[str, str] | None = None, user: str | None = None,
                 cwd: Path | None = None) -> int:
    """Start `argv` detached from this process (own session), output to `log_path`.

    The PID goes to `pid_path` so `down` can stop exactly what `up` started.
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            list(argv), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True, env=dict(env) if env is not None else None, user=user,
            cwd=str(cwd) if cwd else None,
        )
    pid_path.write_text(str(proc.pid))
    return proc.pid


def read_pid(pid_path: Path) -> int | None:
    try:
        return int(pid_path.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None


def pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie child of ours still answers kill(0); reap it if we are its parent
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return False
    except ChildProcessError:
        pass
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ", 1)[1][0] != "Z"
    except (FileNotFoundError, IndexError):
        return False


def stop_pid(pid: int | None, *, timeout: float = 20.0, sig: int = signal.SIGTERM) -> bool:
    """Send `sig`, wait up to `timeout`, then SIGKILL. Returns True if it was running."""
    if not pid_alive(pid):
        return False
    assert pid is not None
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        return False
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            return True
        time.sleep(0.1)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    while pid_alive(pid):
        time.sleep(0.05)
    return True


def wait_until(check: Callable[[], bool], timeout: float, interval: float = 0.2,
               alive: Callable[[], bool] | None = None) -> bool:
    """Poll `check` until it is true; give up at `timeout` or as soon as `alive` says no."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return True
        except Exception:  # noqa: BLE001 - a check that raises just means "not yet"
            pass
        if alive is not None and not alive():
            return False
        time.sleep(interval)
    return False


def tail(path: Path, lines: int = 30) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - 64 * 1024))
            data = f.read().decode("utf-8", "replace")
    except FileNotFoundError:
        return f"(no log at {path})"
    return "\n".join(data.splitlines()[-lines:])
