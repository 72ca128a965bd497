"""A concurrent writer on Chipp's three legacy databases, for the end-to-end test and the demo.

``ChippWriter`` is a thread that, until ``stop()``, performs a random (seeded) mix of
inserts, updates and deletes on the main MySQL, chat MySQL and embeddings PostgreSQL
databases at a limited rate, the way the Chipp application does:

* main: Developer (sign-up with Organization + Workspace + memberships, profile updates, hard
  deletes with their memberships and credentials), DeveloperCredentials (insert, update,
  hard delete), Organization (billing updates, soft delete: deletedAt), Workspace (insert,
  update, soft delete: isDeleted), OrganizationMember / WorkspaceMember (insert, role
  change, hard delete), Application (insert, update, soft delete: isDeleted), Consumer
  (anonymous sign-ups, credit decrements, soft delete: deletedAt), ApplicationAssistantFile
  (insert with its chunks, status updates, hard delete with its chunks), LeadGenerationForm
  (status changes, DELETED = soft delete), TokenUsage (a record per billed bot reply),
  UserMemory (insert).
* chat: ChatSession (insert, update, soft delete: isDeleted + deletedAt), Message (a user
  message and usually a bot reply, edits, hard deletes with their File rows), File
  (attachments).
* embeddings: textchunk (insert, update, hard delete), document_embeddings (upsert).

Soft and hard deletes follow config/chipp/mappings: a table whose mapping has a
``soft_delete`` (or a deletedAt column) is never hard-deleted, the others are. New children
reference live parents (new sessions belong to a live consumer and its application, new
chunks to an existing knowledge source); deletes keep references consistent: a developer is
deleted only when nothing but its memberships and credentials references it (those go in the
same transaction), a message only when no UserMemory / TokenUsage references it (its File
rows go with it), a knowledge source together with its chunks and summary.

Constraint violations (a duplicate key, a value too long) are caught and counted as
``skipped``; any other error is counted as ``error`` (the message kept in ``errors``) and the
writer goes on, reconnecting if the connection was lost. Nothing escapes the thread: a
failure to even start is kept in ``exception``.

``counts`` (use ``snapshot()`` from another thread) has, per statement that changed rows:
``insert`` / ``update`` / ``soft_delete`` / ``delete`` totals, the same per database
(``main.insert``, ``chat.delete``, ``embeddings.update`` ...) and per table
(``main.Consumer.update``), and ``ops`` (operations performed), ``skipped``, ``noop`` (nothing
to do: no candidate row, or zero rows affected) and ``error``.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import psycopg
import pymysql

from replicator.chipp.generate import (
    DIMENSIONS,
    EMBEDDING_MODEL,
    FIRST,
    MODELS,
    WORDS,
    cuid,
    resolve_connections,
    vector_text,
)

__all__ = ["ChippWriter"]

# operation -> relative weight of the random mix (roughly the production write mix: consumers
# and chat dominate, organizations and developers change rarely)
DEFAULT_WEIGHTS: dict[str, float] = {
    "consumer_insert": 10, "consumer_update": 12, "consumer_soft_delete": 1,
    "developer_signup": 1, "developer_update": 2, "developer_delete": 0.7,
    "credentials_insert": 0.5, "credentials_update": 0.5, "credentials_delete": 0.4,
    "org_update": 2, "org_soft_delete": 0.15,
    "workspace_insert": 0.5, "workspace_update": 0.5, "workspace_soft_delete": 0.15,
    "member_insert": 0.8, "member_update": 0.5, "member_delete": 0.6,
    "app_insert": 1, "app_update": 3, "app_soft_delete": 0.3,
    "source_insert": 2, "source_update": 1, "source_delete": 0.7,
    "lead_form_update": 0.3, "memory_insert": 0.7,
    "session_insert": 6, "session_update": 3, "session_soft_delete": 0.6,
    "message_insert": 12, "message_update": 2, "message_delete": 1.5, "file_insert": 0.5,
    "chunk_insert": 3, "chunk_update": 2, "chunk_delete": 1, "doc_upsert": 0.5,
}

# the first operations, one of each kind on each database, so that even a short run
# inserts, updates and deletes everywhere
WARMUP = ["consumer_insert", "session_insert", "chunk_insert", "consumer_update", "session_update",
          "chunk_update", "source_delete", "message_delete", "chunk_delete", "consumer_soft_delete",
          "session_soft_delete", "message_insert"]


def _now() -> datetime:
    t = datetime.now(timezone.utc).replace(tzinfo=None)
    return t.replace(microsecond=t.microsecond // 1000 * 1000)


class _Pool:
    """Known ids with a payload, O(1) add / remove / random pick."""

    def __init__(self) -> None:
        self.keys: list[Any] = []
        self.pos: dict[Any, int] = {}
        self.info: dict[Any, Any] = {}

    def add(self, key: Any, info: Any = None) -> None:
        if key not in self.pos:
            self.pos[key] = len(self.keys)
            self.keys.append(key)
        self.info[key] = info

    def remove(self, key: Any) -> None:
        i = self.pos.pop(key, None)
        if i is None:
            return
        last = self.keys.pop()
        if i < len(self.keys):
            self.keys[i] = last
            self.pos[last] = i
        self.info.pop(key, None)

    def pick(self, rng: random.Random) -> Any:
        return rng.choice(self.keys) if self.keys else None

    def __len__(self) -> int:
        return len(self.keys)

    def __contains__(self, key: Any) -> bool:
        return key in self.pos


class _Skip(Exception):
    """A constraint violation or a transient conflict: counted as skipped."""


class ChippWriter(threading.Thread):
    """Random inserts, updates and deletes on the three legacy databases until stop().

    `target`: a Stack or a dict of pymysql connect kwargs (then `emb_dsn` is required), as
    for ``replicator.chipp.generate.load``. `rate`: operations per second (None: as fast as
    possible). `weights`: overrides of DEFAULT_WEIGHTS (0 disables an operation).
    `cache_limit`: how many existing ids per table are read at start to pick from.
    """

    def __init__(self, target: Any, *, main_db: str, chat_db: str, emb_dsn: str | None = None,
                 emb_db: str | None = None, seed: int = 1, rate: float | None = 50.0,
                 weights: dict[str, float] | None = None, warmup: bool = True,
                 cache_limit: int = 50_000, name: str = "chipp-writer") -> None:
        super().__init__(name=name, daemon=True)
        self.main_params, self.chat_params, self.emb_dsn = resolve_connections(
            target, main_db=main_db, chat_db=chat_db, emb_dsn=emb_dsn, emb_db=emb_db)
        self.rng = random.Random(seed)
        self.rate = rate
        w = {**DEFAULT_WEIGHTS, **(weights or {})}
        self._ops = [op for op, x in w.items() if x > 0]
        self._weights = [w[op] for op in self._ops]
        self._warmup = [op for op in WARMUP if w.get(op, 0) > 0] if warmup else []
        self.cache_limit = cache_limit
        self.counts: dict[str, int] = defaultdict(int)
        self.errors: list[str] = []
        self.exception: BaseException | None = None
        self._lock = threading.Lock()
        self._halt = threading.Event()
        self._buffer: list[str] | None = None
        self._counter = 0
        self._vectors: list[str] = []
        self.main: pymysql.Connection | None = None
        self.chat: pymysql.Connection | None = None
        self.pg: psycopg.Connection | None = None

    # ------------------------------------------------------------------------ public API
    def stop(self, timeout: float = 30.0) -> dict[str, int]:
        """Stop after the current operation; returns the final counts."""
        self._halt.set()
        if self.is_alive():
            self.join(timeout)
        return self.snapshot()

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self.counts)

    def run(self) -> None:
        try:
            self._connect()
            self._load_pools()
            rng = self.rng
            self._vectors = [vector_text(self._vector(rng)) for _ in range(8)]
            interval = 1.0 / self.rate if self.rate else 0.0
            next_t = time.monotonic()
            while not self._halt.is_set():
                op = self._warmup.pop(0) if self._warmup else rng.choices(self._ops, weights=self._weights)[0]
                self._perform(op)
                if interval:
                    next_t += interval
                    delay = next_t - time.monotonic()
                    if delay > 0:
                        self._halt.wait(delay)
                    elif delay < -1.0:  # fell behind: do not burst to catch up
                        next_t = time.monotonic()
        except BaseException as exc:  # noqa: BLE001 - nothing escapes the thread
            self.exception = exc
        finally:
            self._close()

    # ---------------------------------------------------------------------- machinery
    def _connect(self) -> None:
        self.main = pymysql.connect(**self.main_params, autocommit=True)
        self.chat = pymysql.connect(**self.chat_params, autocommit=True)
        for conn in (self.main, self.chat):
            with conn.cursor() as cur:
                cur.execute("SET time_zone = '+00:00'")
        self.pg = psycopg.connect(self.emb_dsn, autocommit=True)

    def _close(self) -> None:
        for conn in (self.main, self.chat, self.pg):
            try:
                if conn is not None:
                    conn.close()
            except Exception:  # noqa: BLE001
                pass

    def _bump(self, key: str, n: int = 1) -> None:
        with self._lock:
            self.counts[key] += n

    def _perform(self, op: str) -> None:
        try:
            getattr(self, "_op_" + op)()
        except (_Skip, pymysql.err.IntegrityError, pymysql.err.DataError, psycopg.errors.IntegrityError,
                psycopg.errors.DataError, psycopg.errors.SerializationFailure, psycopg.errors.DeadlockDetected):
            self._bump("skipped")
        except pymysql.err.OperationalError as exc:
            if exc.args and exc.args[0] in (1205, 1213):  # lock wait timeout, deadlock
                self._bump("skipped")
            else:
                self._failed(op, exc)
        except Exception as exc:  # noqa: BLE001 - count, remember, go on
            self._failed(op, exc)
        finally:
            self._buffer = None
        self._bump("ops")

    def _failed(self, op: str, exc: Exception) -> None:
        self._bump("error")
        if len(self.errors) < 50:
            self.errors.append(f"{op}: {type(exc).__name__}: {exc}")
        # a lost connection: open new ones (a failure here is counted on the next operation)
        try:
            for conn in (self.main, self.chat):
                conn.ping(reconnect=True)
                with conn.cursor() as cur:
                    cur.execute("SET time_zone = '+00:00'")
            if self.pg is None or self.pg.closed or self.pg.broken:
                self.pg = psycopg.connect(self.emb_dsn, autocommit=True)
        except Exception as again:  # noqa: BLE001
            if len(self.errors) < 50:
                self.errors.append(f"reconnect: {type(again).__name__}: {again}")

    def _count(self, db: str, table: str, kind: str, rowcount: int) -> None:
        keys = [kind, f"{db}.{kind}", f"{db}.{table}.{kind}"] if rowcount > 0 else ["noop"]
        if self._buffer is not None:
            self._buffer.extend(keys)
        else:
            for k in keys:
                self._bump(k)

    @contextmanager
    def _tx(self, conn: pymysql.Connection) -> Iterator[None]:
        """A MySQL transaction on an autocommit connection; counts apply only on commit."""
        self._buffer = []
        conn.begin()
        try:
            yield
            conn.commit()
        except BaseException:
            conn.rollback()
            raise
        buffered, self._buffer = self._buffer, None
        for k in buffered:
            self._bump(k)

    def _exec(self, db: str, table: str, kind: str, sql: str, args: tuple = ()) -> Any:
        """One statement; returns lastrowid (MySQL inserts) or the RETURNING row (PostgreSQL)."""
        if db == "embeddings":
            cur = self.pg.execute(sql, args)
            self._count(db, table, kind, cur.rowcount)
            return cur.fetchone() if cur.description else None
        conn = self.main if db == "main" else self.chat
        with conn.cursor() as cur:
            cur.execute(sql, args)
            self._count(db, table, kind, cur.rowcount)
            return cur.lastrowid

    def _query(self, db: str, sql: str, args: tuple = ()) -> list[tuple]:
        if db == "embeddings":
            return self.pg.execute(sql, args).fetchall()
        conn = self.main if db == "main" else self.chat
        with conn.cursor() as cur:
            cur.execute(sql, args)
            return list(cur.fetchall())

    def _noop(self) -> None:
        self._bump("noop")

    def _cuid(self, at: datetime) -> str:
        self._counter += 1
        return cuid(self.rng, at, self._counter, fingerprint="wr1t")

    @staticmethod
    def _vector(rng: random.Random) -> list[float]:
        v = [rng.gauss(0.0, 1.0) for _ in range(DIMENSIONS)]
        norm = sum(x * x for x in v) ** 0.5 or 1.0
        return [round(x / norm, 6) for x in v]

    def _load_pools(self) -> None:
        lim = int(self.cache_limit)
        q = self._query
        self.orgs, self.workspaces, self.devs, self.creds = _Pool(), _Pool(), _Pool(), _Pool()
        self.org_members, self.ws_members, self.apps, self.consumers = _Pool(), _Pool(), _Pool(), _Pool()
        self.sources, self.lead_forms, self.sessions, self.messages = _Pool(), _Pool(), _Pool(), _Pool()
        self.chunks = _Pool()
        for (i,) in q("main", f"SELECT id FROM Organization WHERE deletedAt IS NULL ORDER BY id DESC LIMIT {lim}"):
            self.orgs.add(i)
        for i, org in q("main", f"SELECT id, organizationId FROM Workspace WHERE isDeleted = 0 ORDER BY id DESC LIMIT {lim}"):
            self.workspaces.add(i, org)
        for (i,) in q("main", f"SELECT id FROM Developer ORDER BY id DESC LIMIT {lim}"):
            self.devs.add(i)
        for i, dev in q("main", f"SELECT id, developerId FROM DeveloperCredentials ORDER BY id DESC LIMIT {lim}"):
            self.creds.add(i, dev)
        for i, role in q("main", f"SELECT id, role FROM OrganizationMember ORDER BY id DESC LIMIT {lim}"):
            self.org_members.add(i, role)
        for i, role in q("main", f"SELECT id, role FROM WorkspaceMember ORDER BY id DESC LIMIT {lim}"):
            self.ws_members.add(i, role)
        for i, ws in q("main", f"SELECT id, workspaceId FROM Application WHERE isDeleted = 0 ORDER BY id DESC LIMIT {lim}"):
            self.apps.add(i, ws)
        for i, app in q("main", f"SELECT id, applicationId FROM Consumer WHERE deletedAt IS NULL ORDER BY id DESC LIMIT {lim}"):
            self.consumers.add(i, app)
        for i, app in q("main", f"SELECT id, applicationId FROM ApplicationAssistantFile ORDER BY id DESC LIMIT {lim}"):
            self.sources.add(i, app)
        for i, status in q("main", f"SELECT id, status FROM LeadGenerationForm ORDER BY id DESC LIMIT {lim}"):
            self.lead_forms.add(i, status)
        for i, app, consumer in q("chat", "SELECT id, applicationId, consumerId FROM ChatSession WHERE isDeleted = 0 "
                                          f"ORDER BY createdAt DESC LIMIT {lim}"):
            self.sessions.add(i, (app, consumer))
        for i, session, sender in q("chat", f"SELECT id, chatSessionId, senderType FROM Message ORDER BY createdAt DESC LIMIT {lim}"):
            self.messages.add(i, (session, sender))
        # messages that main-database rows point at are never hard-deleted
        self.referenced_messages = {m for (m,) in q(
            "main", "SELECT sourceMessageId FROM UserMemory WHERE sourceMessageId IS NOT NULL "
                    "UNION SELECT messageId FROM TokenUsage WHERE messageId IS NOT NULL")}
        for i, src in q("embeddings", f'SELECT id, "assistantFileId" FROM textchunk ORDER BY "createdAt" DESC LIMIT {lim}'):
            self.chunks.add(i, src)

    def _org_of_app(self, app_id: int) -> int | None:
        rows = self._query("main", "SELECT w.organizationId FROM Application a JOIN Workspace w ON w.id = a.workspaceId "
                                   "WHERE a.id = %s", (app_id,))
        return rows[0][0] if rows else None

    # ------------------------------------------------------------------------ main: consumers
    def _op_consumer_insert(self) -> None:
        app = self.apps.pick(self.rng)
        if app is None:
            return self._noop()
        rng, now = self.rng, _now()
        signed_up = rng.random() < 0.001  # almost all anonymous
        email = f"{rng.choice(FIRST)}{rng.getrandbits(40):x}@example.com" if signed_up else None
        cid = self._exec("main", "Consumer", "insert",
                         "INSERT INTO Consumer (applicationId, identifier, mode, credits, email, createdAt, updatedAt) "
                         "VALUES (%s, %s, %s, %s, %s, %s, %s)",
                         (app, email or f"anon_{rng.getrandbits(80):020x}", "TEST" if rng.random() < 0.03 else "LIVE",
                          rng.choice([5, 10, 25, 100]) if rng.random() < 0.97 else 0, email, now, now))
        self.consumers.add(cid, app)

    def _op_consumer_update(self) -> None:
        cid = self.consumers.pick(self.rng)
        if cid is None:
            return self._noop()
        if self.rng.random() < 0.95:  # a chat message costs a credit
            self._exec("main", "Consumer", "update",
                       "UPDATE Consumer SET credits = GREATEST(credits - 1, 0), updatedAt = %s WHERE id = %s", (_now(), cid))
        else:
            self._exec("main", "Consumer", "update",
                       "UPDATE Consumer SET credits = credits + %s, name = COALESCE(name, %s), updatedAt = %s WHERE id = %s",
                       (self.rng.choice([10, 50, 100]), self.rng.choice(FIRST).title(), _now(), cid))

    def _op_consumer_soft_delete(self) -> None:
        cid = self.consumers.pick(self.rng)
        if cid is None:
            return self._noop()
        now = _now()
        self._exec("main", "Consumer", "soft_delete",
                   "UPDATE Consumer SET deletedAt = %s, updatedAt = %s WHERE id = %s AND deletedAt IS NULL", (now, now, cid))
        self.consumers.remove(cid)

    # ----------------------------------------------------------------------- main: developers
    def _op_developer_signup(self) -> None:
        """A new developer: Developer, and either a personal Organization + Workspace (OWNER)
        or a membership (invited) in an existing organization and one of its workspaces."""
        rng, now = self.rng, _now()
        first = rng.choice(FIRST)
        tag = f"{rng.getrandbits(40):x}"
        own = rng.random() < 0.6 or not len(self.workspaces)
        with self._tx(self.main):
            did = self._exec("main", "Developer", "insert",
                             "INSERT INTO Developer (email, name, password, emailVerified, createdAt, updatedAt) "
                             "VALUES (%s, %s, %s, %s, %s, %s)",
                             (f"{first}.{tag}@example.com", first.title() if rng.random() < 0.8 else None,
                              "$2b$10$" + tag * 3 if rng.random() < 0.3 else None, int(rng.random() < 0.7), now, now))
            if own:
                org = self._exec("main", "Organization", "insert",
                                 "INSERT INTO Organization (name, slug, stripeCustomerId, usageBasedBillingEnabled, createdAt, updatedAt) "
                                 "VALUES (%s, %s, %s, 1, %s, %s)",
                                 (f"{first.title()}'s Workspace", f"{first}-{tag}", f"cus_w{tag}", now, now))
                ws = self._exec("main", "Workspace", "insert",
                                "INSERT INTO Workspace (organizationId, name, slug, createdAt, updatedAt) VALUES (%s, 'Default', 'default', %s, %s)",
                                (org, now, now))
                role, invited = "OWNER", 0
            else:
                ws = self.workspaces.pick(rng)
                org = self.workspaces.info[ws]
                role, invited = rng.choice(["EDITOR", "VIEWER"]), 1
            om = self._exec("main", "OrganizationMember", "insert",
                            "INSERT INTO OrganizationMember (organizationId, developerId, role, createdAt, updatedAt) "
                            "VALUES (%s, %s, %s, %s, %s)", (org, did, role, now, now))
            wm = self._exec("main", "WorkspaceMember", "insert",
                            "INSERT INTO WorkspaceMember (workspaceId, developerId, role, joinedViaInvite, createdAt, updatedAt) "
                            "VALUES (%s, %s, %s, %s, %s, %s)", (ws, did, role, invited, now, now))
            self._exec("main", "Developer", "update",
                       "UPDATE Developer SET activeWorkspaceId = %s, hasCompletedOnboarding = 1, updatedAt = %s WHERE id = %s",
                       (ws, now, did))
        self.devs.add(did)
        if own:
            self.orgs.add(org)
            self.workspaces.add(ws, org)
        self.org_members.add(om, role)
        self.ws_members.add(wm, role)

    def _op_developer_update(self) -> None:
        did = self.devs.pick(self.rng)
        if did is None:
            return self._noop()
        rng = self.rng
        col, val = rng.choice([
            ("name", f"{rng.choice(FIRST).title()} {rng.choice(FIRST).title()}"),
            ("pictureUrl", f"https://lh3.googleusercontent.com/a/{rng.getrandbits(64):x}"),
            ("hasSeenBuilderTour", 1), ("emailVerified", 1),
            ("acquisitionSource", rng.choice(["google", "youtube", "friend"])),
            ("stripeAccountId", f"acct_w{rng.getrandbits(48):x}" if rng.random() < 0.3 else None),
        ])
        self._exec("main", "Developer", "update", f"UPDATE Developer SET `{col}` = %s, updatedAt = %s WHERE id = %s",
                   (val, _now(), did))

    def _op_developer_delete(self) -> None:
        """Hard delete (Developer's mapping: on_delete hard), only when nothing but its own
        memberships and credentials references it; those go in the same transaction."""
        did = self.devs.pick(self.rng)
        if did is None:
            return self._noop()
        refs = self._query("main", (
            "SELECT (SELECT COUNT(*) FROM Application WHERE developerId = %s) + (SELECT COUNT(*) FROM Collection WHERE developerId = %s)"
            " + (SELECT COUNT(*) FROM ActionCollection WHERE developerId = %s OR reviewedById = %s)"
            " + (SELECT COUNT(*) FROM TokenUsage WHERE developerId = %s)"
            " + (SELECT COUNT(*) FROM OrganizationMember WHERE developerId = %s AND role = 'OWNER')"), (did,) * 6)[0][0]
        if refs:
            return self._noop()
        om = self._query("main", "SELECT id FROM OrganizationMember WHERE developerId = %s", (did,))
        wm = self._query("main", "SELECT id FROM WorkspaceMember WHERE developerId = %s", (did,))
        cr = self._query("main", "SELECT id FROM DeveloperCredentials WHERE developerId = %s", (did,))
        with self._tx(self.main):
            self._exec("main", "WorkspaceMember", "delete", "DELETE FROM WorkspaceMember WHERE developerId = %s", (did,))
            self._exec("main", "OrganizationMember", "delete", "DELETE FROM OrganizationMember WHERE developerId = %s", (did,))
            self._exec("main", "DeveloperCredentials", "delete", "DELETE FROM DeveloperCredentials WHERE developerId = %s", (did,))
            self._exec("main", "Developer", "delete", "DELETE FROM Developer WHERE id = %s", (did,))
        self.devs.remove(did)
        for (i,) in om:
            self.org_members.remove(i)
        for (i,) in wm:
            self.ws_members.remove(i)
        for (i,) in cr:
            self.creds.remove(i)

    def _op_credentials_insert(self) -> None:
        did = self.devs.pick(self.rng)
        if did is None:
            return self._noop()
        now = _now()
        # a developer that already has credentials: unique key violation -> skipped
        cid = self._exec("main", "DeveloperCredentials", "insert",
                         "INSERT INTO DeveloperCredentials (developerId, otpCode, otpCodeExpiry, createdAt, updatedAt) "
                         "VALUES (%s, %s, %s, %s, %s)",
                         (did, f"{self.rng.randint(0, 999999):06d}", now + timedelta(minutes=5), now, now))
        self.creds.add(cid, did)

    def _op_credentials_update(self) -> None:
        cid = self.creds.pick(self.rng)
        if cid is None:
            return self._noop()
        if self.rng.random() < 0.3:
            sql, args = "UPDATE DeveloperCredentials SET isSuperAdmin = 1 - isSuperAdmin, updatedAt = %s WHERE id = %s", (_now(), cid)
        else:
            now = _now()
            sql = "UPDATE DeveloperCredentials SET otpCode = %s, otpCodeExpiry = %s, updatedAt = %s WHERE id = %s"
            args = (f"{self.rng.randint(0, 999999):06d}", now + timedelta(minutes=5), now, cid)
        self._exec("main", "DeveloperCredentials", "update", sql, args)

    def _op_credentials_delete(self) -> None:
        cid = self.creds.pick(self.rng)
        if cid is None:
            return self._noop()
        self._exec("main", "DeveloperCredentials", "delete", "DELETE FROM DeveloperCredentials WHERE id = %s", (cid,))
        self.creds.remove(cid)

    # ------------------------------------------------------------ main: organizations, members
    def _op_org_update(self) -> None:
        oid = self.orgs.pick(self.rng)
        if oid is None:
            return self._noop()
        rng, now = self.rng, _now()
        choice = rng.random()
        if choice < 0.7:  # usage billed against the credit balance
            cost = Decimal(rng.randint(1, 500)).scaleb(-2)
            sql = ("UPDATE Organization SET creditBalanceUsd = GREATEST(creditBalanceUsd - %s, 0), "
                   "lifetimeUsageUsd = lifetimeUsageUsd + %s, creditsExhausted = (creditBalanceUsd <= 0), updatedAt = %s WHERE id = %s")
            args: tuple = (cost, cost, now, oid)
        elif choice < 0.9:  # a top-up
            sql = "UPDATE Organization SET creditBalanceUsd = creditBalanceUsd + %s, creditsExhausted = 0, updatedAt = %s WHERE id = %s"
            args = (Decimal(rng.choice([10, 25, 100])), now, oid)
        else:  # a plan change
            tier = rng.choice(["FREE", "PRO", "TEAM", "BUSINESS"])
            sql = ("UPDATE Organization SET subscriptionTier = %s, subscriptionStatus = %s, stripeSubscriptionId = %s, "
                   "currentPeriodStart = %s, currentPeriodEnd = %s, featureFlags = %s, updatedAt = %s WHERE id = %s")
            paying = tier != "FREE"
            args = (tier, "ACTIVE" if paying else None, f"sub_w{rng.getrandbits(56):x}" if paying else None,
                    now if paying else None, now + timedelta(days=30) if paying else None,
                    json.dumps({"voice": rng.random() < 0.5}), now, oid)
        self._exec("main", "Organization", "update", sql, args)

    def _op_org_soft_delete(self) -> None:
        oid = self.orgs.pick(self.rng)
        if oid is None or len(self.orgs) < 5:
            return self._noop()
        now = _now()
        self._exec("main", "Organization", "soft_delete",
                   "UPDATE Organization SET deletedAt = %s, updatedAt = %s WHERE id = %s AND deletedAt IS NULL", (now, now, oid))
        self.orgs.remove(oid)

    def _op_workspace_insert(self) -> None:
        oid = self.orgs.pick(self.rng)
        if oid is None:
            return self._noop()
        owner = self._query("main", "SELECT developerId FROM OrganizationMember WHERE organizationId = %s ORDER BY role = 'OWNER' DESC LIMIT 1", (oid,))
        now, tag = _now(), f"{self.rng.getrandbits(32):x}"
        with self._tx(self.main):
            ws = self._exec("main", "Workspace", "insert",
                            "INSERT INTO Workspace (organizationId, name, slug, visibility, createdAt, updatedAt) VALUES (%s, %s, %s, %s, %s, %s)",
                            (oid, f"Project {tag}", f"project-{tag}", "PUBLIC" if self.rng.random() < 0.1 else "PRIVATE", now, now))
            wm = None
            if owner:
                wm = self._exec("main", "WorkspaceMember", "insert",
                                "INSERT INTO WorkspaceMember (workspaceId, developerId, role, createdAt, updatedAt) VALUES (%s, %s, 'OWNER', %s, %s)",
                                (ws, owner[0][0], now, now))
        self.workspaces.add(ws, oid)
        if wm:
            self.ws_members.add(wm, "OWNER")

    def _op_workspace_update(self) -> None:
        ws = self.workspaces.pick(self.rng)
        if ws is None:
            return self._noop()
        self._exec("main", "Workspace", "update",
                   "UPDATE Workspace SET name = %s, maxSeats = %s, updatedAt = %s WHERE id = %s",
                   (f"{self.rng.choice(WORDS).title()} Projects", self.rng.choice([None, 5, 10]), _now(), ws))

    def _op_workspace_soft_delete(self) -> None:
        ws = self.workspaces.pick(self.rng)
        if ws is None or len(self.workspaces) < 5:
            return self._noop()
        self._exec("main", "Workspace", "soft_delete", "UPDATE Workspace SET isDeleted = 1, updatedAt = %s WHERE id = %s AND isDeleted = 0",
                   (_now(), ws))
        self.workspaces.remove(ws)

    def _op_member_insert(self) -> None:
        did = self.devs.pick(self.rng)
        now, role = _now(), self.rng.choice(["EDITOR", "VIEWER"])
        if did is None:
            return self._noop()
        if self.rng.random() < 0.5:
            oid = self.orgs.pick(self.rng)
            if oid is None:
                return self._noop()
            i = self._exec("main", "OrganizationMember", "insert",  # duplicate pair -> skipped
                           "INSERT INTO OrganizationMember (organizationId, developerId, role, createdAt, updatedAt) VALUES (%s, %s, %s, %s, %s)",
                           (oid, did, role, now, now))
            self.org_members.add(i, role)
        else:
            ws = self.workspaces.pick(self.rng)
            if ws is None:
                return self._noop()
            i = self._exec("main", "WorkspaceMember", "insert",
                           "INSERT INTO WorkspaceMember (workspaceId, developerId, role, joinedViaInvite, createdAt, updatedAt) "
                           "VALUES (%s, %s, %s, 1, %s, %s)", (ws, did, role, now, now))
            self.ws_members.add(i, role)

    def _member_pool(self) -> tuple[str, _Pool]:
        return ("OrganizationMember", self.org_members) if self.rng.random() < 0.5 else ("WorkspaceMember", self.ws_members)

    def _op_member_update(self) -> None:
        table, pool = self._member_pool()
        mid = pool.pick(self.rng)
        if mid is None or pool.info.get(mid) == "OWNER":
            return self._noop()
        role = "EDITOR" if pool.info.get(mid) == "VIEWER" else "VIEWER"
        self._exec("main", table, "update", f"UPDATE `{table}` SET role = %s, updatedAt = %s WHERE id = %s AND role <> 'OWNER'",
                   (role, _now(), mid))
        pool.info[mid] = role

    def _op_member_delete(self) -> None:
        table, pool = self._member_pool()
        mid = pool.pick(self.rng)
        if mid is None or pool.info.get(mid) == "OWNER":
            return self._noop()
        self._exec("main", table, "delete", f"DELETE FROM `{table}` WHERE id = %s AND role <> 'OWNER'", (mid,))
        pool.remove(mid)

    # ---------------------------------------------------------------------- main: applications
    def _op_app_insert(self) -> None:
        ws = self.workspaces.pick(self.rng)
        if ws is None:
            return self._noop()
        owner = self._query("main", "SELECT developerId FROM WorkspaceMember WHERE workspaceId = %s ORDER BY role = 'OWNER' DESC LIMIT 1", (ws,))
        if not owner:
            return self._noop()
        rng, now, tag = self.rng, _now(), f"{self.rng.getrandbits(32):x}"
        name = f"{rng.choice(WORDS).title()} {rng.choice(['Assistant', 'Bot', 'Coach', 'Helper'])}"
        aid = self._exec("main", "Application", "insert",
                         "INSERT INTO Application (workspaceId, developerId, name, slug, description, chatType, createdAt, updatedAt) "
                         "VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                         (ws, owner[0][0], name, f"{name.lower().replace(' ', '-')}-{tag}",
                          f"{rng.choice(WORDS)} {rng.choice(WORDS)}" if rng.random() < 0.4 else None,
                          "ChippHosted" if rng.random() < 0.9 else "Prompt", now, now))
        self.apps.add(aid, ws)

    def _op_app_update(self) -> None:
        aid = self.apps.pick(self.rng)
        if aid is None:
            return self._noop()
        rng, now = self.rng, _now()
        col, val = rng.choice([
            ("name", f"{rng.choice(WORDS).title()} Assistant"),
            ("description", " ".join(rng.choices(WORDS, k=8))),
            ("startingMessage", "Hi! Ask me about " + rng.choice(WORDS)),
            ("brandStyles", json.dumps({"primaryColor": f"#{rng.getrandbits(24):06x}"})),
            ("ragMaxChunks", rng.choice([None, 5, 10, 20])),
            ("publishState", rng.choice(["ONLY_ME", "WITH_LINK", "ECOSYSTEM"])),
        ])
        extra = ", lastPublishedAt = %s" if col == "publishState" else ""
        args = (val, now, now, aid) if extra else (val, now, aid)
        self._exec("main", "Application", "update", f"UPDATE Application SET `{col}` = %s{extra}, updatedAt = %s WHERE id = %s", args)

    def _op_app_soft_delete(self) -> None:
        aid = self.apps.pick(self.rng)
        if aid is None or len(self.apps) < 10:
            return self._noop()
        self._exec("main", "Application", "soft_delete", "UPDATE Application SET isDeleted = 1, updatedAt = %s WHERE id = %s AND isDeleted = 0",
                   (_now(), aid))
        self.apps.remove(aid)

    # ------------------------------------------------------- main + embeddings: knowledge sources
    def _insert_chunk(self, source: int, app: int | None) -> None:
        rng = self.rng
        row = self._exec("embeddings", "textchunk", "insert",
                         'INSERT INTO textchunk ("assistantFileId", "applicationId", "text", "embedding", "embeddingModel", '
                         '"chunkIndex", "metadata", "createdAt") VALUES (%s, %s, %s, %s::vector, %s, '
                         '(SELECT COALESCE(MAX("chunkIndex") + 1, 0) FROM textchunk WHERE "assistantFileId" = %s), %s, %s) RETURNING id',
                         (source, app, " ".join(rng.choices(WORDS, k=rng.randint(40, 120))), rng.choice(self._vectors),
                          EMBEDDING_MODEL if rng.random() < 0.7 else None, source,
                          json.dumps({"page": rng.randint(1, 20)}) if rng.random() < 0.2 else None, _now()))
        self.chunks.add(row[0], source)

    def _op_source_insert(self) -> None:
        """A new knowledge source (98 % URL), processed: its chunks in the embeddings database."""
        aid = self.apps.pick(self.rng)
        if aid is None:
            return self._noop()
        rng, now = self.rng, _now()
        kind = rng.choices(["URL", "FILE", "YOUTUBE"], weights=[98, 1.7, 0.3])[0]
        url = {"URL": f"https://docs.site{aid}.com/{rng.choice(WORDS)}/{rng.getrandbits(32):x}",
               "FILE": f"https://storage.googleapis.com/chipp-uploads/{rng.getrandbits(64):x}/doc.pdf",
               "YOUTUBE": f"https://www.youtube.com/watch?v={rng.getrandbits(44):x}"}[kind]
        sid = self._exec("main", "ApplicationAssistantFile", "insert",
                         "INSERT INTO ApplicationAssistantFile (applicationId, name, type, url, size, status, createdAt, updatedAt) "
                         "VALUES (%s, %s, %s, %s, %s, 'COMPLETE', %s, %s)",
                         (aid, url if kind != "FILE" else "doc.pdf", kind, url, rng.randint(10_000, 5_000_000) if kind == "FILE" else None, now, now))
        self.sources.add(sid, aid)
        for _ in range(rng.randint(1, 3)):
            self._insert_chunk(sid, aid)

    def _op_source_update(self) -> None:
        sid = self.sources.pick(self.rng)
        if sid is None:
            return self._noop()
        now = _now()
        if self.rng.random() < 0.5:
            sql, args = "UPDATE ApplicationAssistantFile SET lastRefreshedAt = %s, refreshIntervalHours = 24, updatedAt = %s WHERE id = %s", (now, now, sid)
        else:
            sql, args = ("UPDATE ApplicationAssistantFile SET status = %s, displayName = %s, updatedAt = %s WHERE id = %s",
                         (self.rng.choice(["COMPLETE", "COMPLETE", "PROCESSING", "ERROR"]), f"{self.rng.choice(WORDS).title()} docs", now, sid))
        self._exec("main", "ApplicationAssistantFile", "update", sql, args)

    def _op_source_delete(self) -> None:
        """Hard delete of a knowledge source: its chunks and summary first (embeddings), its
        stale FileTextchunk copies with it (main)."""
        sid = self.sources.pick(self.rng)
        if sid is None:
            return self._noop()
        chunk_ids = [r[0] for r in self._query("embeddings", 'SELECT id FROM textchunk WHERE "assistantFileId" = %s', (sid,))]
        with self.pg.transaction():
            self._buffer = []
            self._exec("embeddings", "textchunk", "delete", 'DELETE FROM textchunk WHERE "assistantFileId" = %s', (sid,))
            self._exec("embeddings", "document_embeddings", "delete", 'DELETE FROM document_embeddings WHERE "assistantFileId" = %s', (sid,))
        for k in self._buffer:
            self._bump(k)
        self._buffer = None
        for c in chunk_ids:
            self.chunks.remove(c)
        with self._tx(self.main):
            self._exec("main", "FileTextchunk", "delete", "DELETE FROM FileTextchunk WHERE assistantFileId = %s", (sid,))
            self._exec("main", "ApplicationAssistantFile", "delete", "DELETE FROM ApplicationAssistantFile WHERE id = %s", (sid,))
        self.sources.remove(sid)

    # ------------------------------------------------------------------------- main: other
    def _op_lead_form_update(self) -> None:
        fid = self.lead_forms.pick(self.rng)
        if fid is None:
            return self._noop()
        status = self.rng.choice(["ACTIVE", "PAUSED", "DELETED"])
        kind = "soft_delete" if status == "DELETED" and self.lead_forms.info.get(fid) != "DELETED" else "update"
        self._exec("main", "LeadGenerationForm", kind, "UPDATE LeadGenerationForm SET status = %s, updatedAt = %s WHERE id = %s",
                   (status, _now(), fid))
        self.lead_forms.info[fid] = status

    def _op_memory_insert(self) -> None:
        sid = self.sessions.pick(self.rng)
        if sid is None:
            return self._noop()
        app, consumer = self.sessions.info[sid]
        if consumer is None:
            return self._noop()
        now = _now()
        self._exec("main", "UserMemory", "insert",
                   "INSERT INTO UserMemory (id, applicationId, consumerId, category, content, confidence, sourceChatSessionId, createdAt, updatedAt) "
                   "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                   (self._cuid(now), app, consumer, self.rng.choice(["FACT", "PREFERENCE", "PERSONAL", "INSIGHT", "QUERY", "OTHER"]),
                    "The user " + " ".join(self.rng.choices(WORDS, k=6)) + ".", round(self.rng.uniform(0.5, 1), 3), sid, now, now))

    # ------------------------------------------------------------------------------- chat
    def _op_session_insert(self) -> None:
        rng = self.rng
        source = rng.choices(["APP", "API", "WHATSAPP"], weights=[98, 2, 0.03])[0]
        if source == "API" and rng.random() < 0.5:
            consumer, app = None, self.apps.pick(rng)
        else:
            consumer = self.consumers.pick(rng)
            app = self.consumers.info.get(consumer)
        if app is None:
            return self._noop()
        now = _now()
        sid = self._cuid(now)
        self._exec("chat", "ChatSession", "insert",
                   "INSERT INTO ChatSession (id, applicationId, consumerId, source, phoneNumber, createdAt, updatedAt) "
                   "VALUES (%s, %s, %s, %s, %s, %s, %s)",
                   (sid, app, consumer, source, f"+1555{rng.randint(1000000, 9999999)}" if source == "WHATSAPP" else None, now, now))
        self.sessions.add(sid, (app, consumer))

    def _op_session_update(self) -> None:
        sid = self.sessions.pick(self.rng)
        if sid is None:
            return self._noop()
        if self.rng.random() < 0.8:
            sql, args = "UPDATE ChatSession SET title = %s, updatedAt = %s WHERE id = %s", (" ".join(self.rng.choices(WORDS, k=4)).capitalize(), _now(), sid)
        else:
            sql, args = "UPDATE ChatSession SET isPublic = 1 - isPublic, updatedAt = %s WHERE id = %s", (_now(), sid)
        self._exec("chat", "ChatSession", "update", sql, args)

    def _op_session_soft_delete(self) -> None:
        sid = self.sessions.pick(self.rng)
        if sid is None:
            return self._noop()
        now = _now()
        self._exec("chat", "ChatSession", "soft_delete",
                   "UPDATE ChatSession SET isDeleted = 1, deletedAt = %s, updatedAt = %s WHERE id = %s AND isDeleted = 0", (now, now, sid))
        self.sessions.remove(sid)

    def _op_message_insert(self) -> None:
        """A user message, usually a bot reply (billed in TokenUsage), the session touched."""
        sid = self.sessions.pick(self.rng)
        if sid is None:
            return self._noop()
        rng = self.rng
        app, consumer = self.sessions.info[sid]
        t_user = _now()
        t_bot = t_user + timedelta(milliseconds=rng.randint(300, 5000))
        reply = rng.random() < 0.7
        model = rng.choice(MODELS)
        user_id, bot_id = self._cuid(t_user), self._cuid(t_bot)
        sql = ("INSERT INTO Message (id, chatSessionId, senderType, senderId, content, modelUsed, createdAt, updatedAt) "
               "VALUES (%s, %s, %s, %s, %s, %s, %s, %s)")
        with self._tx(self.chat):
            self._exec("chat", "Message", "insert", sql,
                       (user_id, sid, "USER", str(consumer) if consumer else None,
                        " ".join(rng.choices(WORDS, k=rng.randint(4, 14))).capitalize() + "?", None, t_user, t_user))
            if reply:
                self._exec("chat", "Message", "insert", sql,
                           (bot_id, sid, "BOT", "bot", " ".join(rng.choices(WORDS, k=rng.randint(12, 60))).capitalize() + ".",
                            model, t_bot, t_bot))
            self._exec("chat", "ChatSession", "update", "UPDATE ChatSession SET updatedAt = %s WHERE id = %s",
                       (t_bot if reply else t_user, sid))
        self.messages.add(user_id, (sid, "USER"))
        if reply:
            self.messages.add(bot_id, (sid, "BOT"))
            if rng.random() < 0.5:
                org = self._org_of_app(app)
                if org is not None:
                    inp, out = rng.randint(50, 4000), rng.randint(10, 1000)
                    self.referenced_messages.add(bot_id)
                    self._exec("main", "TokenUsage", "insert",
                               "INSERT INTO TokenUsage (organizationId, applicationId, chatSessionId, messageId, model, inputTokens, "
                               "outputTokens, totalTokens, costUsd, createdAt) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                               (org, app, sid, bot_id, model, inp, out, inp + out,
                                Decimal(inp * 250 + out * 1000).scaleb(-8), t_bot))

    def _op_message_update(self) -> None:
        mid = self.messages.pick(self.rng)
        if mid is None:
            return self._noop()
        if self.rng.random() < 0.6:
            sql = "UPDATE Message SET content = CONCAT(content, %s), updatedAt = %s WHERE id = %s"
            args: tuple = (" (edited)", _now(), mid)
        else:
            sql = "UPDATE Message SET metadata = %s, updatedAt = %s WHERE id = %s"
            args = (json.dumps({"feedback": self.rng.choice(["up", "down"])}), _now(), mid)
        self._exec("chat", "Message", "update", sql, args)

    def _op_message_delete(self) -> None:
        """Hard delete (Message has no soft delete) of a message no main-database row points
        at, with its attachments."""
        for _ in range(10):
            mid = self.messages.pick(self.rng)
            if mid is None:
                return self._noop()
            if mid not in self.referenced_messages:
                break
        else:
            return self._noop()
        with self._tx(self.chat):
            self._exec("chat", "File", "delete", "DELETE FROM File WHERE messageId = %s", (mid,))
            self._exec("chat", "Message", "delete", "DELETE FROM Message WHERE id = %s", (mid,))
        self.messages.remove(mid)

    def _op_file_insert(self) -> None:
        mid = self.messages.pick(self.rng)
        if mid is None or self.messages.info[mid][1] != "USER":
            return self._noop()
        now = _now()
        name = f"{self.rng.choice(WORDS)}.pdf"
        self._exec("chat", "File", "insert",
                   "INSERT INTO File (id, messageId, chatSessionId, name, type, size, persistentUrl, createdAt) "
                   "VALUES (%s, %s, %s, %s, 'application/pdf', %s, %s, %s)",
                   (self._cuid(now), mid, self.messages.info[mid][0], name, self.rng.randint(1000, 5_000_000),
                    f"gs://chipp-chat/{self.rng.getrandbits(64):x}/{name}", now))

    # ------------------------------------------------------------------------- embeddings
    def _op_chunk_insert(self) -> None:
        sid = self.sources.pick(self.rng)
        if sid is None:
            return self._noop()
        self._insert_chunk(sid, self.sources.info[sid])

    def _op_chunk_update(self) -> None:
        cid = self.chunks.pick(self.rng)
        if cid is None:
            return self._noop()
        if self.rng.random() < 0.5:
            self._exec("embeddings", "textchunk", "update", 'UPDATE textchunk SET "text" = %s, "metadata" = %s WHERE id = %s',
                       (" ".join(self.rng.choices(WORDS, k=50)), json.dumps({"reindexed": True}), cid))
        else:
            self._exec("embeddings", "textchunk", "update",
                       'UPDATE textchunk SET "embedding" = %s::vector, "embeddingModel" = %s WHERE id = %s',
                       (self.rng.choice(self._vectors), EMBEDDING_MODEL, cid))

    def _op_chunk_delete(self) -> None:
        cid = self.chunks.pick(self.rng)
        if cid is None:
            return self._noop()
        self._exec("embeddings", "textchunk", "delete", "DELETE FROM textchunk WHERE id = %s", (cid,))
        self.chunks.remove(cid)

    def _op_doc_upsert(self) -> None:
        sid = self.sources.pick(self.rng)
        if sid is None:
            return self._noop()
        now = _now()
        existed = self._query("embeddings", 'SELECT 1 FROM document_embeddings WHERE "assistantFileId" = %s', (sid,))
        self._exec("embeddings", "document_embeddings", "update" if existed else "insert",
                   'INSERT INTO document_embeddings ("assistantFileId", "summary", "embedding", "embeddingModel", "createdAt", "updatedAt") '
                   'VALUES (%s, %s, %s::vector, %s, %s, %s) ON CONFLICT ("assistantFileId") DO UPDATE SET '
                   '"summary" = EXCLUDED."summary", "embedding" = EXCLUDED."embedding", "updatedAt" = EXCLUDED."updatedAt"',
                   (sid, " ".join(self.rng.choices(WORDS, k=30)), self.rng.choice(self._vectors), EMBEDDING_MODEL, now, now))


def run_for(writer: ChippWriter, seconds: float) -> dict[str, int]:
    """Start `writer`, let it run for `seconds`, stop it; returns its counts."""
    writer.start()
    time.sleep(seconds)
    return writer.stop()

