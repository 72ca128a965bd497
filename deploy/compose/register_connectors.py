#!/usr/bin/env python3
"""Register every config/connectors/*.properties file with a Kafka Connect worker's REST API.

    python deploy/compose/register_connectors.py --connect-url http://connect:8083 config/connectors

Each file becomes PUT /connectors/<name>/config with the properties as the JSON body (create
or update, so running it again is harmless). `${env:...}` placeholders are sent unresolved:
the worker's EnvVarConfigProvider resolves them from its own environment, exactly as on the
local stack and under Strimzi. Then it waits until each connector and its tasks are RUNNING.

Standard library only: docker-compose.yml runs it in a bare python:3.11-slim container.
Exit codes: 0 registered and running; 1 the worker refused a config or a task FAILED;
2 the worker did not answer in time.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from connector_props import load_connectors  # noqa: E402


def _request(method: str, url: str, body: dict | None = None, timeout: float = 10.0):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"Content-Type": "application/json", "Accept": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        raw = resp.read()
        return resp.status, (json.loads(raw) if raw else None)


def wait_for_worker(base: str, deadline: float) -> None:
    while True:
        try:
            _request("GET", f"{base}/connectors")
            return
        except (urllib.error.URLError, OSError) as exc:
            if time.monotonic() > deadline:
                raise TimeoutError(f"Kafka Connect at {base} did not answer: {exc}") from exc
            time.sleep(2)


def wait_running(base: str, name: str, deadline: float) -> tuple[bool, str]:
    last = "no status yet"
    while time.monotonic() < deadline:
        try:
            _, st = _request("GET", f"{base}/connectors/{name}/status")
        except urllib.error.HTTPError as exc:
            last = f"HTTP {exc.code}"
        except (urllib.error.URLError, OSError) as exc:
            last = str(exc)
        else:
            tasks = st.get("tasks", [])
            failed = [t for t in tasks if t.get("state") == "FAILED"]
            if st["connector"]["state"] == "FAILED" or failed:
                trace = (failed[0] if failed else st["connector"]).get("trace", "")
                return False, f"FAILED\n{trace[:4000]}"
            last = f"connector {st['connector']['state']}, tasks {[t.get('state') for t in tasks]}"
            if st["connector"]["state"] == "RUNNING" and tasks and all(t.get("state") == "RUNNING" for t in tasks):
                return True, "RUNNING"
        time.sleep(2)
    return False, f"not RUNNING in time ({last})"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("connectors", type=Path, help="directory of *.properties files")
    ap.add_argument("--connect-url", default="http://connect:8083", help="Kafka Connect REST address")
    ap.add_argument("--wait", type=float, default=180.0, help="seconds to wait for the worker and for RUNNING")
    args = ap.parse_args(argv)
    base = args.connect_url.rstrip("/")

    connectors = load_connectors(args.connectors)
    try:
        wait_for_worker(base, time.monotonic() + args.wait)
    except TimeoutError as exc:
        print(exc, file=sys.stderr)
        return 2
    status = 0
    for c in connectors:
        try:
            code, _ = _request("PUT", f"{base}/connectors/{c.name}/config", c.rest_config(), timeout=60)
        except urllib.error.HTTPError as exc:
            print(f"{c.name}: refused ({exc.code}): {exc.read().decode(errors='replace')[:2000]}", file=sys.stderr)
            status = 1
            continue
        print(f"{c.name}: {'created' if code == 201 else 'updated'} from {c.path.name}", flush=True)
    for c in connectors:
        ok, what = wait_running(base, c.name, time.monotonic() + args.wait)
        print(f"{c.name}: {what}", file=sys.stdout if ok else sys.stderr, flush=True)
        if not ok:
            status = status or 1
    return status


if __name__ == "__main__":
    sys.exit(main())
