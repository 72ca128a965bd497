"""The HTTP endpoints of a running replicator: /metrics, /healthz and /readyz."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest


def serve_metrics(host: str, port: int, runner, stall_after_s: float = 300.0) -> ThreadingHTTPServer:
    """Serve in a daemon thread. /healthz: the process answers. /readyz: `runner.readiness`
    (connected, partitions assigned, not stuck: nothing applied for `stall_after_s` while
    messages wait)."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's naming
            if self.path == "/metrics":
                body, ctype, code = generate_latest(), CONTENT_TYPE_LATEST, 200
            elif self.path == "/healthz":
                body, ctype, code = b"ok\n", "text/plain", 200
            elif self.path == "/readyz":
                ok, why = runner.readiness(stall_after_s)
                body, ctype, code = (why + "\n").encode(), "text/plain", 200 if ok else 503
            else:
                body, ctype, code = b"not found\n", "text/plain", 404
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):  # scrapes are not worth a log line each
            pass

    server = ThreadingHTTPServer((host, port), Handler)
    threading.Thread(target=server.serve_forever, name="metrics-http", daemon=True).start()
    return server
