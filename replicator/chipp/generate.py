"""Realistic data for Chipp's three legacy databases (config/chipp/legacy/, seed 000).

``generate(scale, seed=...)`` is pure: it returns every row of every legacy table as a dict
(column name -> value, all columns of the fixture DDL, in its order), deterministic for a
seed. ``load(...)`` bulk-inserts a ``ChippData`` into empty databases created from the
fixture DDL (``create_legacy_databases`` does that on the local stack).

The shapes follow the seed's "Production Data Analysis (December 2025)":

* Consumers: anonymous (identifier + credits) for all but a handful; credits on 97 percent,
  email 0.05, password 0.03, stripeCustomerId 0.003, subscriptionActive 0.0008 percent,
  customInstructions almost never.
* Developers: password 30, stripeAccountId 3.7, stripeCustomerId 3.2, stripeSubscriptionId
  1.8, magicLinkToken 1.7, resetToken 0.4 percent; DeveloperCredentials for 3.7 percent of
  them ("mostly empty duplicate").
* Organizations: stripeCustomerId 99.99, usageBasedBillingEnabled 98.8 percent.
* Applications: publishState ECOSYSTEM 3 percent, customCss never, customComponents,
  phoneNumber and collectionId almost never.
* Knowledge sources (ApplicationAssistantFile.type): URL 98, FILE 1.7, YOUTUBE 0.2,
  SPREADSHEET 0.007, API 0.001 percent.
* Chat sessions (ChatSession.source): APP 98, API 2, WHATSAPP 0.03, SLACK 0.005, EMAIL
  0.0007 percent; about 1.1 messages per session (11.2M / 10.2M).
* WhatsAppConfig: the main database copy is stale (0 active, isActive=0, a duplicate of a
  chat database configuration), the chat database copy is the active one.

Rates are applied exactly (rounded), not drawn, so the shares hold at every scale, and a
rate above zero gives at least one row, so every optional column carries a non-NULL value
somewhere even at scale 1 (a 0.0008 percent rate over 4,000 consumers is one row, not
0.03). Nullable columns the seed gives no rate for are sparse by assumption (documented at
each table below). Enum values are always labels of the fixture's ENUMs.

Soft deletes as the fixtures and mappings use them: Organization.deletedAt (2 percent),
Workspace.isDeleted (3), Application.isDeleted (8), Consumer.deletedAt (1),
ChatSession.isDeleted (2; most with deletedAt, some without, as legacy rows have it),
LeadGenerationForm.status DELETED (10).

References are consistent: every FK-like column (``REFERENCES``) holds an id that exists
in its parent table, also across databases (chat sessions reference main Application and
Consumer ids, UserMemory and TokenUsage reference chat sessions and messages, Message.tagIds
holds main MessageTag ids, textchunk / document_embeddings reference main
ApplicationAssistantFile ids). Children are created after their parents (createdAt), and a
chat session belongs to its consumer's application.

Keys: INT ids 1..n for the AUTO_INCREMENT tables, Prisma cuids (``c`` + 24 lowercase
base36 characters: timestamp, counter, fingerprint, random) for the cuid tables, UUIDs for
textchunk and document_embeddings, SERIAL ids for the chipp_issue tables (sequences are
moved past them by ``load``).

Values: DATETIME(3) / TIMESTAMP(3) as naive UTC ``datetime`` with millisecond precision,
DECIMAL as ``Decimal``, TINYINT(1) as 0/1, JSON columns as JSON text, embeddings as a tuple
of exactly 3072 floats (unit vectors, components around +-0.02; a pool of 64 distinct
vectors is shared round-robin to keep generation and loading cheap).

Rows per table at scale 1 (scale N multiplies every count by N, rounded, at least 1) and
the ratio to production:

=========================  ========  ===========  ==============
table                      scale 1   production   1 row per
=========================  ========  ===========  ==============
main.Organization               40       19,485   ~490
main.Workspace                  44      ~20,000   ~450
main.Developer                  40       19,480   ~490
main.DeveloperCredentials        2          639   ~320
main.OrganizationMember         44       19,794   ~450
main.WorkspaceMember            52       23,673   ~455
main.Application               200       99,248   ~500
main.Consumer                4,000          78M   ~19,500
main.ApplicationAssistantFile  500         5.9M   ~11,800
main.TokenUsage                300         1.5M   ~5,000
main.UserDefinedTool             8        1,309   ~160
main.LeadGenerationForm         10        1,542   ~150
main.MessageTag                  6          218   ~36
main.VideoGenerationJob          4          263   ~66
main.ActionCollection            2           10   5
main.ActionTemplate              6           91   ~15
main.ApplicationIntegration      3          174   ~58
main.SlackInstallation           2           48   24
main.Collection                  1           59   59
main.WhitelabelTenant            1        0 act.  -
main.WhatsAppConfig              1        0 act.  -
main.UserMemory                 40            ?   -
main.FileTextchunk               5            ?   -
chat.ChatSession             2,000        10.2M   ~5,100
chat.Message                 2,200        11.2M   ~5,100
chat.File                       40            ?   -
chat.WhatsAppConfig              2           28   14
embeddings.textchunk            50         9.9M   ~198,000
embeddings.document_embeddings  10            ?   -
embeddings.chipp_issue          20        1,690   ~85
embeddings.chipp_issue_comment  30            ?   -
=========================  ========  ===========  ==============

The big tables cannot keep production's ratios to each other at this size (78M consumers
for 99K applications would be 786 consumers per application): scale 1 is a few thousand
rows in the big tables and 50 embedding chunks (each 3072 floats): on two cores it generates
in about 0.25 s and loads in about 0.4 s (scale 10: 1.5 s and 2.5 s).
"""

from __future__ import annotations

import json
import math
import random
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

__all__ = [
    "BASE_COUNTS",
    "ChippData",
    "DIMENSIONS",
    "LEGACY_DIR",
    "LoadReport",
    "REFERENCES",
    "Reference",
    "create_legacy_databases",
    "count_for",
    "cuid",
    "drop_legacy_databases",
    "generate",
    "iter_tables",
    "load",
    "mysql_statements",
    "resolve_connections",
    "vector_text",
]

LEGACY_DIR = Path(__file__).resolve().parents[2] / "config" / "chipp" / "legacy"
DIMENSIONS = 3072
EMBEDDING_MODEL = "text-embedding-3-large"

# the generated history: createdAt values fall in [START, END]; nothing reads the clock
START = datetime(2023, 3, 1)
END = datetime(2025, 12, 1)

# rows per table at scale 1 (database, table) -> count; see the module docstring
BASE_COUNTS: dict[tuple[str, str], int] = {
    ("main", "WhitelabelTenant"): 1,
    ("main", "Organization"): 40,
    ("main", "Workspace"): 44,
    ("main", "Developer"): 40,
    ("main", "DeveloperCredentials"): 2,
    ("main", "OrganizationMember"): 44,
    ("main", "WorkspaceMember"): 52,
    ("main", "Collection"): 1,
    ("main", "Application"): 200,
    ("main", "Consumer"): 4000,
    ("main", "UserMemory"): 40,
    ("main", "ApplicationAssistantFile"): 500,
    ("main", "FileTextchunk"): 5,
    ("main", "TokenUsage"): 300,
    ("main", "ActionCollection"): 2,
    ("main", "ActionTemplate"): 6,
    ("main", "UserDefinedTool"): 8,
    ("main", "ApplicationIntegration"): 3,
    ("main", "WhatsAppConfig"): 1,
    ("main", "SlackInstallation"): 2,
    ("main", "LeadGenerationForm"): 10,
    ("main", "MessageTag"): 6,
    ("main", "VideoGenerationJob"): 4,
    ("chat", "ChatSession"): 2000,
    ("chat", "Message"): 2200,
    ("chat", "File"): 40,
    ("chat", "WhatsAppConfig"): 2,
    ("embeddings", "textchunk"): 50,
    ("embeddings", "document_embeddings"): 10,
    ("embeddings", "chipp_issue"): 20,
    ("embeddings", "chipp_issue_comment"): 30,
}

# table order = insertion order (parents first)
TABLE_ORDER: dict[str, list[str]] = {
    "main": [t for d, t in BASE_COUNTS if d == "main"],
    "chat": [t for d, t in BASE_COUNTS if d == "chat"],
    "embeddings": [t for d, t in BASE_COUNTS if d == "embeddings"],
}


@dataclass(frozen=True)
class Reference:
    """A FK-like column: db.table.column holds ids of parent_db.parent_table.id (no FOREIGN
    KEY in the legacy schema, except chipp_issue_comment). ``json_array``: the column is a
    JSON array of ids (Message.tagIds)."""

    db: str
    table: str
    column: str
    parent_db: str
    parent_table: str
    json_array: bool = False


def _refs(db: str, table: str, *pairs: tuple[str, str]) -> list[Reference]:
    out = []
    for column, parent in pairs:
        pdb, _, ptable = parent.rpartition(".")
        out.append(Reference(db, table, column, pdb or db, ptable))
    return out


REFERENCES: list[Reference] = [
    *_refs("main", "Organization", ("whitelabelTenantId", "WhitelabelTenant")),
    *_refs("main", "Workspace", ("organizationId", "Organization")),
    *_refs("main", "Developer", ("activeWorkspaceId", "Workspace")),
    *_refs("main", "DeveloperCredentials", ("developerId", "Developer")),
    *_refs("main", "OrganizationMember", ("organizationId", "Organization"), ("developerId", "Developer")),
    *_refs("main", "WorkspaceMember", ("workspaceId", "Workspace"), ("developerId", "Developer")),
    *_refs("main", "Collection", ("developerId", "Developer")),
    *_refs("main", "Application", ("workspaceId", "Workspace"), ("developerId", "Developer"),
           ("collectionId", "Collection")),
    *_refs("main", "Consumer", ("applicationId", "Application"), ("collectionId", "Collection")),
    *_refs("main", "UserMemory", ("applicationId", "Application"), ("consumerId", "Consumer"),
           ("sourceChatSessionId", "chat.ChatSession"), ("sourceMessageId", "chat.Message")),
    *_refs("main", "ApplicationAssistantFile", ("applicationId", "Application")),
    *_refs("main", "FileTextchunk", ("assistantFileId", "ApplicationAssistantFile")),
    *_refs("main", "TokenUsage", ("organizationId", "Organization"), ("applicationId", "Application"),
           ("developerId", "Developer"), ("chatSessionId", "chat.ChatSession"), ("messageId", "chat.Message")),
    *_refs("main", "ActionCollection", ("workspaceId", "Workspace"), ("developerId", "Developer"),
           ("reviewedById", "Developer")),
    *_refs("main", "ActionTemplate", ("collectionId", "ActionCollection")),
    *_refs("main", "UserDefinedTool", ("applicationId", "Application"), ("actionTemplateId", "ActionTemplate")),
    *_refs("main", "ApplicationIntegration", ("applicationId", "Application")),
    *_refs("main", "WhatsAppConfig", ("applicationId", "Application")),
    *_refs("main", "SlackInstallation", ("applicationId", "Application")),
    *_refs("main", "LeadGenerationForm", ("applicationId", "Application")),
    *_refs("main", "MessageTag", ("applicationId", "Application")),
    *_refs("main", "VideoGenerationJob", ("applicationId", "Application"), ("consumerId", "Consumer")),
    *_refs("chat", "ChatSession", ("applicationId", "main.Application"), ("consumerId", "main.Consumer")),
    *_refs("chat", "Message", ("chatSessionId", "ChatSession")),
    Reference("chat", "Message", "tagIds", "main", "MessageTag", json_array=True),
    *_refs("chat", "File", ("messageId", "Message"), ("chatSessionId", "ChatSession")),
    *_refs("chat", "WhatsAppConfig", ("applicationId", "main.Application")),
    *_refs("embeddings", "textchunk", ("assistantFileId", "main.ApplicationAssistantFile"),
           ("applicationId", "main.Application")),
    *_refs("embeddings", "document_embeddings", ("assistantFileId", "main.ApplicationAssistantFile")),
    *_refs("embeddings", "chipp_issue", ("applicationId", "main.Application")),
    *_refs("embeddings", "chipp_issue_comment", ("issueId", "chipp_issue")),
]


# --- the result ------------------------------------------------------------------------------

Rows = list[dict[str, Any]]


@dataclass
class ChippData:
    """Rows per table of the three legacy databases (dicts keyed by column, DDL order)."""

    seed: int
    scale: float
    main: dict[str, Rows] = field(default_factory=dict)
    chat: dict[str, Rows] = field(default_factory=dict)
    embeddings: dict[str, Rows] = field(default_factory=dict)

    @property
    def databases(self) -> dict[str, dict[str, Rows]]:
        return {"main": self.main, "chat": self.chat, "embeddings": self.embeddings}

    def rows(self, db: str, table: str) -> Rows:
        return self.databases[db][table]

    def counts(self) -> dict[tuple[str, str], int]:
        return {(db, t): len(rows) for db, tables in self.databases.items() for t, rows in tables.items()}

    def total(self) -> int:
        return sum(self.counts().values())


def count_for(db: str, table: str, scale: float) -> int:
    """The row count of a table at a scale: BASE_COUNTS times scale, rounded, at least 1."""
    return max(1, round(BASE_COUNTS[(db, table)] * scale))


# --- small deterministic helpers --------------------------------------------------------------

_B36 = "0123456789abcdefghijklmnopqrstuvwxyz"
WORDS = ("assistant answer billing chat context customer data document email file guide help "
         "how invoice knowledge learn model order plan pricing product question refund report "
         "request search service setup support team time topic update upload user value video "
         "website what when where why workflow account access agent api app brand build course "
         "deploy domain export feature form import integration lead limit memory message note "
         "onboarding page policy prompt recipe schedule session slack source summary tool").split()
FIRST = "ada alan barbara claude dennis edsger frances grace hedy ken linus margaret niklaus radia sophie tim".split()
LAST = "lovelace turing liskov shannon ritchie dijkstra allen hopper lamarr thompson torvalds hamilton wirth perlman wilson lee".split()
DOMAINS = "gmail.com outlook.com example.com acme.io contoso.com fastmail.com yahoo.com proton.me".split()
MODELS = ["gpt-4o", "gpt-4o-mini", "gpt-4.1", "gpt-4.1-mini", "claude-3-5-sonnet", "gemini-1.5-pro"]


def _b36(n: int, width: int) -> str:
    out = []
    for _ in range(width):
        n, r = divmod(n, 36)
        out.append(_B36[r])
    return "".join(reversed(out))


def cuid(rng: random.Random, at: datetime, counter: int, fingerprint: str = "k3v9") -> str:
    """A Prisma-style cuid (v1 layout): 'c' + timestamp(8) + counter(4) + fingerprint(4) +
    random(8), all lowercase base36: 25 characters, deterministic for the rng state."""
    ms = int((at - datetime(1970, 1, 1)).total_seconds() * 1000)
    return "c" + _b36(ms, 8) + _b36(counter, 4) + fingerprint[:4] + _b36(rng.getrandbits(42), 8)


def _ms(dt: datetime) -> datetime:
    return dt.replace(microsecond=dt.microsecond // 1000 * 1000)


def _between(rng: random.Random, a: datetime, b: datetime) -> datetime:
    span = max(0, int((b - a).total_seconds() * 1000))
    return _ms(a + timedelta(milliseconds=rng.randint(0, span)))


def _after(rng: random.Random, t: datetime, *, within: timedelta | None = None) -> datetime:
    end = END if within is None else min(END, t + within)
    return _between(rng, t, max(t, end))


def _flags(rng: random.Random, n: int, rate: float, *, min_one: bool = True) -> list[bool]:
    """Exactly round(n * rate) True values (at least one when rate > 0), at random places."""
    k = round(n * rate)
    if rate > 0 and k == 0 and min_one and n > 0:
        k = 1
    k = min(max(k, 0), n)
    out = [False] * n
    for i in rng.sample(range(n), k):
        out[i] = True
    return out


def _labels(rng: random.Random, n: int, shares: Mapping[str, float]) -> list[str]:
    """n labels with the given shares, exactly (rounded; each share > 0 gets at least one row
    when there is room; the largest share takes the remainder), shuffled."""
    items = [(k, v) for k, v in shares.items() if v > 0]
    main_label = max(items, key=lambda kv: kv[1])[0]
    counts = {}
    for k, v in items:
        if k != main_label:
            counts[k] = max(1, round(n * v)) if n >= len(items) else 0
    while sum(counts.values()) > n:  # tiny n: take from the biggest minor label
        counts[max(counts, key=counts.get)] -= 1
    counts[main_label] = n - sum(counts.values())
    out = [k for k, c in counts.items() for _ in range(c)]
    if n < len(items):
        out = rng.choices([k for k, _ in items], weights=[v for _, v in items], k=n)
    rng.shuffle(out)
    return out


def _skewed(rng: random.Random, population: Sequence[Any], k: int, s: float = 1.1) -> list[Any]:
    """k picks with replacement, Zipf-like: a few popular items get most of the picks (the
    popular ones are random, not the first ones)."""
    if not population or k <= 0:
        return []
    order = list(range(len(population)))
    rng.shuffle(order)
    weights = [0.0] * len(population)
    for rank, i in enumerate(order):
        weights[i] = 1.0 / (rank + 1) ** s
    return rng.choices(population, weights=weights, k=k)


def _words(rng: random.Random, lo: int, hi: int) -> str:
    return " ".join(rng.choices(WORDS, k=rng.randint(lo, hi)))


def _sentence(rng: random.Random, lo: int = 4, hi: int = 12) -> str:
    s = _words(rng, lo, hi)
    return s[:1].upper() + s[1:] + "."


def _token(rng: random.Random, n: int = 24) -> str:
    return "".join(rng.choices("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", k=n))


def _hex(rng: random.Random, n: int) -> str:
    return f"{rng.getrandbits(4 * n):0{n}x}"


def _uuid(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(int=rng.getrandbits(128), version=4)


def _j(value: Any) -> str:
    return json.dumps(value, separators=(", ", ": "))


def _money(rng: random.Random, lo_cents: int, hi_cents: int, places: int = 2) -> Decimal:
    return Decimal(rng.randint(lo_cents, hi_cents)).scaleb(-2).quantize(Decimal(1).scaleb(-places))


def _vector(rng: random.Random) -> tuple[float, ...]:
    v = [rng.gauss(0.0, 1.0) for _ in range(DIMENSIONS)]
    norm = math.sqrt(sum(x * x for x in v)) or 1.0
    return tuple(round(x / norm, 6) for x in v)


def vector_text(vec: Sequence[float]) -> str:
    """pgvector's text form: '[0.1,-0.2,...]'."""
    return "[" + ",".join(repr(x) for x in vec) + "]"


def _slug(text: str, i: int) -> str:
    return "-".join(text.lower().split()[:3]) + f"-{i}"


# --- the generator ---------------------------------------------------------------------------

class _Gen:
    def __init__(self, scale: float, seed: int) -> None:
        if scale <= 0:
            raise ValueError(f"scale must be > 0, got {scale}")
        self.scale, self.seed = scale, seed
        self.data = ChippData(seed=seed, scale=scale)
        self.cuid_counter = 0
        self.pool: list[tuple[float, ...]] = []

    def rng(self, table: str) -> random.Random:
        # one stream per table: changing one table's generation leaves the others as they are
        return random.Random(f"chipp:{self.seed}:{table}")

    def n(self, db: str, table: str) -> int:
        return count_for(db, table, self.scale)

    def cuid(self, rng: random.Random, at: datetime) -> str:
        self.cuid_counter += 1
        return cuid(rng, at, self.cuid_counter)

    def vec(self, i: int) -> tuple[float, ...]:
        return self.pool[i % len(self.pool)]

    # ---------------------------------------------------------------------------- main
    def run(self) -> ChippData:
        rng = self.rng("vectors")
        need = self.n("embeddings", "textchunk") + self.n("embeddings", "document_embeddings") + self.n("main", "FileTextchunk")
        self.pool = [_vector(rng) for _ in range(min(64, need))]
        self.tenants()
        self.organizations()
        self.workspaces()
        self.developers()
        self.members()
        self.credentials()
        self.collections()
        self.applications()
        self.consumers()
        self.knowledge_sources()
        self.message_tags()
        self.chat_sessions()
        self.messages()
        self.files()
        self.whatsapp()
        self.user_memories()
        self.token_usage()
        self.actions()
        self.integrations()
        self.lead_forms()
        self.video_jobs()
        self.file_textchunks()
        self.chunks()
        self.document_embeddings()
        self.issues()
        d = self.data
        d.main = {t: d.main[t] for t in TABLE_ORDER["main"]}
        d.chat = {t: d.chat[t] for t in TABLE_ORDER["chat"]}
        d.embeddings = {t: d.embeddings[t] for t in TABLE_ORDER["embeddings"]}
        return d

    def tenants(self) -> None:
        # not launched yet: a configured tenant nobody uses (0 active)
        rng, n = self.rng("WhitelabelTenant"), self.n("main", "WhitelabelTenant")
        rows = []
        for i in range(1, n + 1):
            created = _between(rng, START, END)
            rows.append({
                "id": i, "name": f"Partner {i}", "domain": f"ai.partner{i}.example.com" if rng.random() < 0.8 else None,
                "config": _j({"logo": f"https://cdn.example.com/wl/{i}.png", "primaryColor": "#3344ff"})
                if rng.random() < 0.7 else None,
                "createdAt": created, "updatedAt": _after(rng, created),
            })
        self.data.main["WhitelabelTenant"] = rows

    def organizations(self) -> None:
        # stripeCustomerId 99.99 %, usageBasedBillingEnabled 98.8 % (seed); tiers, statuses,
        # feature flags (10 %), low-balance warnings (5 %), whitelabel (1 %): assumptions
        rng, n = self.rng("Organization"), self.n("main", "Organization")
        stripe = _flags(rng, n, 0.9999)
        usage = _flags(rng, n, 0.988)
        tiers = _labels(rng, n, {"FREE": 0.70, "PRO": 0.18, "TEAM": 0.07, "BUSINESS": 0.04, "ENTERPRISE": 0.01})
        deleted = _flags(rng, n, 0.02)
        flags = _flags(rng, n, 0.10)
        warned = _flags(rng, n, 0.05)
        tenant = _flags(rng, n, 0.01)
        slugless = _flags(rng, n, 0.05)
        n_tenants = len(self.data.main["WhitelabelTenant"])
        rows = []
        for i in range(n):
            oid = i + 1
            created = _between(rng, START, END - timedelta(days=30))
            tier = tiers[i]
            paying = tier != "FREE"
            status = None
            if paying:
                status = rng.choices(["ACTIVE", "TRIALING", "PAST_DUE", "UNPAID", "INCOMPLETE", "INCOMPLETE_EXPIRED", "CANCELED"],
                                     weights=[85, 5, 4, 1, 1, 1, 3])[0]
            elif rng.random() < 0.05:
                status = "CANCELED"
            period_start = _between(rng, max(created, END - timedelta(days=30)), END) if status else None
            period = rng.choice(["MONTHLY", "MONTHLY", "MONTHLY", "YEARLY"])
            name = f"{rng.choice(FIRST).title()}'s {rng.choice(['Studio', 'Agency', 'Labs', 'Team', 'Co', 'Workspace'])}"
            rows.append({
                "id": oid, "name": name,
                "slug": None if slugless[i] else _slug(name.replace("'", ""), oid),
                "pictureUrl": f"https://cdn.example.com/org/{oid}.png" if rng.random() < 0.2 else None,
                "stripeCustomerId": f"cus_{_token(rng, 14)}{oid}" if stripe[i] else None,
                "stripeSubscriptionId": f"sub_{_token(rng, 14)}{oid}" if status else None,
                "subscriptionTier": tier, "subscriptionPeriod": period, "subscriptionStatus": status,
                "trialEndsAt": _after(rng, created, within=timedelta(days=14)) if status == "TRIALING" else None,
                "currentPeriodStart": period_start,
                "currentPeriodEnd": period_start + timedelta(days=365 if period == "YEARLY" else 30) if period_start else None,
                "canceledAt": _after(rng, created) if status in ("CANCELED", "INCOMPLETE_EXPIRED") else None,
                "usageBasedBillingEnabled": int(usage[i]),
                "creditsExhausted": int(rng.random() < 0.03),
                "creditBalanceUsd": _money(rng, 0, 50_000),
                "lifetimeUsageUsd": _money(rng, 0, 2_000_000, 4),
                "lastLowBalanceWarningAt": _after(rng, created) if warned[i] else None,
                "featureFlags": _j({"voice": rng.random() < 0.5, "betaRag": rng.random() < 0.2}) if flags[i] else None,
                "whitelabelTenantId": rng.randint(1, n_tenants) if tenant[i] and n_tenants else None,
                "deletedAt": _after(rng, created) if deleted[i] else None,
                "createdAt": created, "updatedAt": _after(rng, created),
            })
        self.data.main["Organization"] = rows

    def workspaces(self) -> None:
        # one workspace per organization, the rest in random organizations; PUBLIC 10 %,
        # maxSeats 10 %, isDeleted 3 % (assumptions)
        rng, n = self.rng("Workspace"), self.n("main", "Workspace")
        orgs = self.data.main["Organization"]
        deleted = _flags(rng, n, 0.03)
        rows = []
        for i in range(n):
            org = orgs[i] if i < len(orgs) else rng.choice(orgs)
            created = _after(rng, org["createdAt"], within=timedelta(days=60))
            wid = i + 1
            rows.append({
                "id": wid, "organizationId": org["id"], "name": "Default" if i < len(orgs) else f"Project {wid}",
                "slug": "default" if i < len(orgs) else f"project-{wid}",
                "pictureUrl": f"https://cdn.example.com/ws/{wid}.png" if rng.random() < 0.05 else None,
                "visibility": "PUBLIC" if rng.random() < 0.1 else "PRIVATE",
                "tier": rng.choices(["FREE", "PRO", "TEAM"], weights=[80, 15, 5])[0],
                "maxSeats": rng.choice([3, 5, 10, 25]) if rng.random() < 0.1 else None,
                "isDeleted": int(deleted[i]),
                "createdAt": created, "updatedAt": _after(rng, created),
            })
        self.data.main["Workspace"] = rows
        self.ws_by_org: dict[int, list[dict]] = defaultdict(list)
        for w in rows:
            self.ws_by_org[w["organizationId"]].append(w)

    def developers(self) -> None:
        # seed rates: password 30 %, stripeAccountId 3.7, stripeCustomerId 3.2,
        # stripeSubscriptionId 1.8, magicLinkToken 1.7, resetToken 0.4 %
        rng, n = self.rng("Developer"), self.n("main", "Developer")
        password = _flags(rng, n, 0.30)
        account = _flags(rng, n, 0.037)
        customer = _flags(rng, n, 0.032)
        subscription = _flags(rng, n, 0.018)
        magic = _flags(rng, n, 0.017)
        reset = _flags(rng, n, 0.004)
        rows = []
        for i in range(n):
            did = i + 1
            first, last = rng.choice(FIRST), rng.choice(LAST)
            created = _between(rng, START, END - timedelta(days=30))
            rows.append({
                "id": did, "email": f"{first}.{last}{did}@{rng.choice(DOMAINS)}",
                "name": f"{first.title()} {last.title()}" if rng.random() < 0.8 else None,
                "pictureUrl": f"https://lh3.googleusercontent.com/a/{_token(rng, 20)}" if rng.random() < 0.5 else None,
                "username": f"{first}{did}" if rng.random() < 0.4 else None,
                "password": "$2b$10$" + _token(rng, 53) if password[i] else None,
                "emailVerified": int(rng.random() < 0.7),
                "resetToken": _hex(rng, 40) if reset[i] else None,
                "resetTokenExpiry": _after(rng, created, within=timedelta(hours=1)) if reset[i] else None,
                "magicLinkToken": _hex(rng, 40) if magic[i] else None,
                "magicLinkTokenExpiry": _after(rng, created, within=timedelta(minutes=15)) if magic[i] else None,
                "stripeCustomerId": f"cus_{_token(rng, 14)}" if customer[i] else None,
                "stripeSubscriptionId": f"sub_{_token(rng, 14)}" if subscription[i] else None,
                "stripeAccountId": f"acct_{_token(rng, 16)}" if account[i] else None,
                "stripeOnboardingComplete": int(account[i] and rng.random() < 0.6),
                "subscriptionTier": rng.choice(["PRO", "TEAM", "BUSINESS"]) if subscription[i] else None,
                "subscriptionPeriod": rng.choice(["MONTHLY", "YEARLY"]) if subscription[i] else None,
                "isUsageBasedSubscription": int(subscription[i] and rng.random() < 0.5),
                "acquisitionSource": rng.choice(["google", "youtube", "twitter", "friend", "producthunt"]) if rng.random() < 0.2 else None,
                "acquisitionReferrerUrl": f"https://www.{rng.choice(['google', 'youtube', 'reddit'])}.com/{_token(rng, 8)}" if rng.random() < 0.1 else None,
                "hasCompletedOnboarding": int(rng.random() < 0.6),
                "hasSeenBuilderTour": int(rng.random() < 0.5),
                "activeWorkspaceId": None,  # set by members()
                "createdAt": created, "updatedAt": _after(rng, created),
            })
        self.data.main["Developer"] = rows

    def members(self) -> None:
        # each developer owns an organization (the one with its index), each workspace has its
        # organization's owner as OWNER; the rest are EDITOR/VIEWER members
        rng = self.rng("members")
        devs, orgs, wss = self.data.main["Developer"], self.data.main["Organization"], self.data.main["Workspace"]
        self.owner_of: dict[int, int] = {o["id"]: devs[i % len(devs)]["id"] for i, o in enumerate(orgs)}
        n_om, n_wm = self.n("main", "OrganizationMember"), self.n("main", "WorkspaceMember")

        org_pairs: dict[tuple[int, int], str] = {}
        for o in orgs[:n_om]:
            org_pairs[(o["id"], self.owner_of[o["id"]])] = "OWNER"
        target = min(n_om, len(orgs) * len(devs))
        while len(org_pairs) < target:
            org_pairs.setdefault((rng.choice(orgs)["id"], rng.choice(devs)["id"]), rng.choice(["EDITOR", "VIEWER"]))
        org_by_id = {o["id"]: o for o in orgs}
        rows = []
        for i, ((oid, did), role) in enumerate(org_pairs.items()):
            created = _after(rng, org_by_id[oid]["createdAt"], within=timedelta(days=90))
            rows.append({"id": i + 1, "organizationId": oid, "developerId": did, "role": role,
                         "createdAt": created, "updatedAt": _after(rng, created)})
        self.data.main["OrganizationMember"] = rows

        ws_pairs: dict[tuple[int, int], tuple[str, int]] = {}
        for w in wss[:n_wm]:
            ws_pairs[(w["id"], self.owner_of[w["organizationId"]])] = ("OWNER", 0)
        target = min(n_wm, len(wss) * len(devs))
        while len(ws_pairs) < target:
            ws_pairs.setdefault((rng.choice(wss)["id"], rng.choice(devs)["id"]), (rng.choice(["EDITOR", "VIEWER"]), 1))
        ws_by_id = {w["id"]: w for w in wss}
        rows = []
        self.ws_of_dev: dict[int, list[int]] = defaultdict(list)
        for i, ((wid, did), (role, invited)) in enumerate(ws_pairs.items()):
            created = _after(rng, ws_by_id[wid]["createdAt"], within=timedelta(days=90))
            rows.append({"id": i + 1, "workspaceId": wid, "developerId": did, "role": role,
                         "joinedViaInvite": int(invited and rng.random() < 0.7),
                         "createdAt": created, "updatedAt": _after(rng, created)})
            self.ws_of_dev[did].append(wid)
        self.data.main["WorkspaceMember"] = rows
        for d in devs:  # activeWorkspaceId: 70 % (assumption), one of its workspaces
            if self.ws_of_dev.get(d["id"]) and rng.random() < 0.7:
                d["activeWorkspaceId"] = rng.choice(self.ws_of_dev[d["id"]])

    def credentials(self) -> None:
        # 3.7 % of developers, "mostly empty duplicate": one super admin, rare tokens
        rng, n = self.rng("DeveloperCredentials"), self.n("main", "DeveloperCredentials")
        devs = rng.sample(self.data.main["Developer"], min(n, len(self.data.main["Developer"])))
        zapier = _flags(rng, len(devs), 0.2)
        otp = _flags(rng, len(devs), 0.1)
        rows = []
        for i, d in enumerate(devs):
            created = _after(rng, d["createdAt"])
            rows.append({
                "id": i + 1, "developerId": d["id"], "password": None, "isSuperAdmin": int(i == 0),
                "zapierAccessToken": _token(rng, 32) if zapier[i] else None,
                "otpCode": f"{rng.randint(0, 999999):06d}" if otp[i] else None,
                "otpCodeExpiry": _after(rng, created, within=timedelta(minutes=5)) if otp[i] else None,
                "stripeCustomerId": None, "stripeSubscriptionId": None, "subscriptionTier": None,
                "createdAt": created, "updatedAt": _after(rng, created),
            })
        self.super_admin = devs[0]["id"] if devs else None
        self.data.main["DeveloperCredentials"] = rows

    def collections(self) -> None:
        rng, n = self.rng("Collection"), self.n("main", "Collection")
        devs = self.data.main["Developer"]
        rows = []
        for i in range(n):
            d = rng.choice(devs)
            created = _after(rng, d["createdAt"])
            rows.append({"id": i + 1, "developerId": d["id"], "name": f"Collection {i + 1}",
                         "slug": f"collection-{i + 1}" if rng.random() < 0.8 else None,
                         "description": _sentence(rng) if rng.random() < 0.5 else None,
                         "brandStyles": _j({"primaryColor": "#112233"}) if rng.random() < 0.3 else None,
                         "createdAt": created, "updatedAt": _after(rng, created)})
        self.data.main["Collection"] = rows

    def applications(self) -> None:
        # seed: ECOSYSTEM 3 %, customCss 0, customComponents 3 of 99K, phoneNumber 36 of 99K,
        # collectionId ~217 of 99K. Assumptions: WITH_LINK 45 %, AssistantAPI 5 %, Prompt 5 %,
        # non-English 15 %, RAG overrides 5 %, brand styles 15 %, custom domain 0.5 %,
        # isDeleted 8 %, slug NULL 2 %
        rng, n = self.rng("Application"), self.n("main", "Application")
        wss = self.data.main["Workspace"]
        publish = _labels(rng, n, {"ONLY_ME": 0.52, "WITH_LINK": 0.45, "ECOSYSTEM": 0.03})
        chat_type = _labels(rng, n, {"ChippHosted": 0.90, "AssistantAPI": 0.05, "Prompt": 0.05})
        language = _labels(rng, n, {"EN": 0.85, "ES": 0.04, "FR": 0.02, "DE": 0.02, "PT": 0.03, "ZH": 0.01,
                                    "JA": 0.01, "KO": 0.005, "AR": 0.005, "HI": 0.01})
        currency = _labels(rng, n, {"USD": 0.90, "EUR": 0.05, "GBP": 0.02, "BRL": 0.02, "INR": 0.01})
        deleted = _flags(rng, n, 0.08)
        phone = _flags(rng, n, 36 / 99_248)
        components = _flags(rng, n, 3 / 99_248)
        collection = _flags(rng, n, 217 / 99_248)
        domain = _flags(rng, n, 0.005)
        styles = _flags(rng, n, 0.15)
        rag = [_flags(rng, n, 0.05) for _ in range(4)]
        slugless = _flags(rng, n, 0.02)
        n_coll = len(self.data.main["Collection"])
        ws_pick = _skewed(rng, wss, n, s=0.8)
        devs_of_ws: dict[int, list[int]] = defaultdict(list)
        for d, ws in self.ws_of_dev.items():
            for wid in ws:
                devs_of_ws[wid].append(d)
        rows = []
        for i in range(n):
            aid = i + 1
            w = ws_pick[i]
            members = devs_of_ws.get(w["id"])
            owner = rng.choice(members) if members and rng.random() < 0.3 else self.owner_of[w["organizationId"]]
            created = _after(rng, w["createdAt"], within=timedelta(days=365))
            name = _words(rng, 1, 3).title() + " " + rng.choice(["Assistant", "Bot", "Coach", "Helper", "GPT", "Tutor"])
            published = publish[i] != "ONLY_ME"
            rows.append({
                "id": aid, "workspaceId": w["id"], "developerId": owner,
                "collectionId": rng.randint(1, n_coll) if collection[i] and n_coll else None,
                "name": name,
                "description": _sentence(rng, 6, 20) if rng.random() < 0.4 else None,
                "slug": None if slugless[i] else _slug(name, aid),
                "startingMessage": "Hi! " + _sentence(rng) if rng.random() < 0.3 else None,
                "inputPlaceholder": "Ask me anything about " + rng.choice(WORDS) if rng.random() < 0.1 else None,
                "disclaimerText": "AI can make mistakes. " + _sentence(rng) if rng.random() < 0.02 else None,
                "publishState": publish[i], "chatType": chat_type[i], "language": language[i],
                "textDirection": "RTL" if language[i] == "AR" else "LTR", "currency": currency[i],
                "ragRelevanceThreshold": Decimal(rng.randint(300, 950)).scaleb(-3) if rag[0][i] else None,
                "ragMaxChunks": rng.choice([5, 8, 15, 20]) if rag[1][i] else None,
                "ragUseHybridSearch": rng.randint(0, 1) if rag[2][i] else None,
                "ragDocumentWeight": Decimal(rng.randint(100, 900)).scaleb(-3) if rag[3][i] else None,
                "phoneNumber": f"+1555{rng.randint(1000000, 9999999)}" if phone[i] else None,
                "defaultInteractionMethod": "VOICE" if phone[i] and rng.random() < 0.5 else "CHAT",
                "lastPublishedAt": _after(rng, created) if published else None,
                "authDisabledForPlayground": int(rng.random() < 0.05),
                "monetizationEnabled": int(rng.random() < 0.03),
                "brandStyles": _j({"primaryColor": f"#{_hex(rng, 6)}", "fontFamily": rng.choice(["Inter", "Roboto"]),
                                   "logoUrl": f"https://cdn.example.com/logo/{aid}.png"}) if styles[i] else None,
                "customDomain": f"chat{aid}.{rng.choice(['acme.io', 'contoso.com', 'example.org'])}" if domain[i] else None,
                "customDomainSSLVerified": int(domain[i] and rng.random() < 0.8),
                "customCss": None,
                "customComponents": _j([{"type": "banner", "text": "Welcome"}]) if components[i] else None,
                "isDeleted": int(deleted[i]),
                "createdAt": created, "updatedAt": _after(rng, created),
            })
        self.data.main["Application"] = rows
        self.app_by_id = {a["id"]: a for a in rows}
        self.org_of_ws = {w["id"]: w["organizationId"] for w in wss}

    def consumers(self) -> None:
        # seed: credits 97 %, email 0.05 %, password 0.03 %, stripeCustomerId 0.003 %,
        # subscriptionActive 0.0008 %, customInstructions ~0 (19 of 78M). Assumptions: TEST
        # mode 3 %, deletedAt 1 %, name/picture only with an email
        rng, n = self.rng("Consumer"), self.n("main", "Consumer")
        apps = _skewed(rng, self.data.main["Application"], n)
        credits = _flags(rng, n, 0.97)
        email = _flags(rng, n, 0.0005)
        # password users are a subset of the email users (local auth needs an email)
        with_email = [i for i in range(n) if email[i]]
        password = [False] * n
        for i in rng.sample(with_email, min(len(with_email), max(1, round(n * 0.0003)))):
            password[i] = True
        stripe = _flags(rng, n, 0.00003)
        active = _flags(rng, n, 0.000008)
        instructions = _flags(rng, n, 19 / 78_000_000)
        reset = _flags(rng, n, 0.0001)
        magic = _flags(rng, n, 0.0002)
        deleted = _flags(rng, n, 0.01)
        test_mode = _flags(rng, n, 0.03)
        n_coll = len(self.data.main["Collection"])
        rows = []
        for i in range(n):
            cid = i + 1
            app = apps[i]
            created = _after(rng, app["createdAt"])
            mail = f"{rng.choice(FIRST)}{cid}@{rng.choice(DOMAINS)}" if email[i] else None
            rows.append({
                "id": cid, "applicationId": app["id"],
                "collectionId": app["collectionId"] if app["collectionId"] and n_coll else None,
                "identifier": mail or f"anon_{_hex(rng, 20)}",
                "mode": "TEST" if test_mode[i] else "LIVE",
                "credits": rng.choice([3, 5, 10, 10, 20, 25, 50, 100, 500]) if credits[i] else 0,
                "name": rng.choice(FIRST).title() if mail and (i == with_email[0] or rng.random() < 0.8) else None,
                "email": mail,
                "pictureUrl": f"https://lh3.googleusercontent.com/a/{_token(rng, 20)}"
                if mail and (i == with_email[0] or rng.random() < 0.3) else None,
                "password": "$2b$10$" + _token(rng, 53) if password[i] else None,
                "emailVerified": int(bool(mail) and rng.random() < 0.6),
                "resetToken": _hex(rng, 40) if reset[i] else None,
                "resetTokenExpiry": _after(rng, created, within=timedelta(hours=1)) if reset[i] else None,
                "magicLinkToken": _hex(rng, 40) if magic[i] else None,
                "magicLinkTokenExpiry": _after(rng, created, within=timedelta(minutes=15)) if magic[i] else None,
                "subscriptionActive": int(active[i]),
                "stripeCustomerId": f"cus_{_token(rng, 14)}" if stripe[i] else None,
                "customInstructions": "Answer briefly. " + _sentence(rng) if instructions[i] else None,
                "deletedAt": _after(rng, created) if deleted[i] else None,
                "createdAt": created, "updatedAt": _after(rng, created),
            })
        if n_coll and not any(r["collectionId"] for r in rows):  # deprecated, but present somewhere
            rows[rng.randrange(n)]["collectionId"] = rng.randint(1, n_coll)
        self.data.main["Consumer"] = rows
        self.consumers_of_app: dict[int, list[dict]] = defaultdict(list)
        for c in rows:
            self.consumers_of_app[c["applicationId"]].append(c)

    def knowledge_sources(self) -> None:
        # seed: URL 98 %, FILE 1.7, YOUTUBE 0.2, SPREADSHEET 0.007, API 0.001 %. Assumptions:
        # COMPLETE 95 %, CHUNKS 95 %, displayName 20 %, metadata 10 %, openaiFileId 2 %,
        # periodic refresh of URLs 3 %
        rng, n = self.rng("ApplicationAssistantFile"), self.n("main", "ApplicationAssistantFile")
        apps = _skewed(rng, self.data.main["Application"], n)
        types = _labels(rng, n, {"URL": 0.98, "FILE": 0.017, "YOUTUBE": 0.002, "SPREADSHEET": 0.00007, "API": 0.00001})
        status = _labels(rng, n, {"COMPLETE": 0.95, "ERROR": 0.02, "PENDING": 0.02, "PROCESSING": 0.01})
        mode = _labels(rng, n, {"CHUNKS": 0.95, "HYBRID": 0.03, "SUMMARY": 0.02})
        refresh = _flags(rng, n, 0.03)
        openai = _flags(rng, n, 0.02)
        meta = _flags(rng, n, 0.10)
        rows = []
        for i in range(n):
            app, t = apps[i], types[i]
            created = _after(rng, app["createdAt"])
            if t == "URL":
                host = rng.choice(["docs", "www", "help", "blog"]) + f".site{app['id']}.com"
                name = url = f"https://{host}/{rng.choice(WORDS)}/{rng.choice(WORDS)}-{i}"
                size = None
            elif t == "YOUTUBE":
                name = url = f"https://www.youtube.com/watch?v={_token(rng, 11)}"
                size = None
            elif t == "API":
                name, url, size = f"API source {i}", f"https://api.site{app['id']}.com/v1/{rng.choice(WORDS)}", None
            else:
                ext = "pdf" if t == "FILE" else "xlsx"
                name = f"{rng.choice(WORDS)}-{rng.choice(WORDS)}-{i}.{ext}"
                url = f"https://storage.googleapis.com/chipp-uploads/{_hex(rng, 16)}/{name}"
                size = rng.randint(10_000, 20_000_000)
            rows.append({
                "id": i + 1, "applicationId": app["id"], "name": name,
                "displayName": _words(rng, 2, 4).title() if rng.random() < 0.2 else None,
                "type": t, "url": url, "size": size, "status": status[i], "ragMode": mode[i],
                "lastRefreshedAt": _after(rng, created) if refresh[i] else None,
                "refreshIntervalHours": rng.choice([24, 168]) if refresh[i] else None,
                "metadata": _j({"title": _words(rng, 2, 6), "pages": rng.randint(1, 40)}) if meta[i] else None,
                "openaiFileId": f"file-{_token(rng, 24)}" if openai[i] else None,
                "createdAt": created, "updatedAt": _after(rng, created, within=timedelta(days=2)),
            })
        self.data.main["ApplicationAssistantFile"] = rows

    def message_tags(self) -> None:
        # on applications that have users: picked through a random consumer
        rng, n = self.rng("MessageTag"), self.n("main", "MessageTag")
        consumers = self.data.main["Consumer"]
        apps = [self.app_by_id[rng.choice(consumers)["applicationId"]] for _ in range(n)]
        rows, seen = [], set()
        names = ["lead", "complaint", "refund", "bug", "praise", "pricing", "urgent", "feature-request"]
        for i in range(n):
            app = apps[i]
            name = next((x for x in names if (app["id"], x) not in seen), f"tag-{i}")
            seen.add((app["id"], name))
            created = _after(rng, app["createdAt"])
            rows.append({"id": i + 1, "applicationId": app["id"], "name": name,
                         "description": _sentence(rng) if rng.random() < 0.5 else None,
                         "color": f"#{_hex(rng, 6)}" if rng.random() < 0.7 else None,
                         "isEnabled": int(rng.random() < 0.9),
                         "createdAt": created, "updatedAt": _after(rng, created)})
        self.data.main["MessageTag"] = rows
        self.tags_of_app: dict[int, list[int]] = defaultdict(list)
        for t in rows:
            self.tags_of_app[t["applicationId"]].append(t["id"])

    # ---------------------------------------------------------------------------- chat
    def chat_sessions(self) -> None:
        # seed: APP 98 %, API 2, WHATSAPP 0.03, SLACK 0.005, EMAIL 0.0007 %. Assumptions:
        # title 35 %, isPublic 1 %, isDeleted 2 % (a fifth of them without deletedAt),
        # API sessions without a consumer half of the time, threadId for AssistantAPI apps
        rng, n = self.rng("ChatSession"), self.n("chat", "ChatSession")
        consumers = self.data.main["Consumer"]
        apps = self.data.main["Application"]
        sources = _labels(rng, n, {"APP": 0.98, "API": 0.02, "WHATSAPP": 0.0003, "SLACK": 0.00005, "EMAIL": 0.000007})
        deleted = _flags(rng, n, 0.02)
        public = _flags(rng, n, 0.01)
        titled = _flags(rng, n, 0.35)
        picks = _skewed(rng, consumers, n, s=0.3)
        rows = []
        self.sessions_of_consumer: dict[int, list[dict]] = defaultdict(list)
        for i in range(n):
            src = sources[i]
            consumer = picks[i]
            if src == "API" and rng.random() < 0.5:
                consumer = None
                app = _skewed(rng, apps, 1)[0]
            else:
                app = self.app_by_id[consumer["applicationId"]]
            created = _after(rng, (consumer or app)["createdAt"])
            sid = self.cuid(rng, created)
            rows.append({
                "id": sid, "applicationId": app["id"], "consumerId": consumer["id"] if consumer else None,
                "source": src,
                "phoneNumber": f"+{rng.randint(10, 99)}{rng.randint(100000000, 999999999)}" if src == "WHATSAPP" else None,
                "title": _words(rng, 2, 6).capitalize() if titled[i] else None,
                "isPublic": int(public[i]),
                "threadId": f"thread_{_token(rng, 24)}" if app["chatType"] == "AssistantAPI" else None,
                "isDeleted": int(deleted[i]),
                "deletedAt": None,  # set below, after updatedAt
                "createdAt": created, "updatedAt": created,
            })
            if consumer:
                self.sessions_of_consumer[consumer["id"]].append(rows[-1])
        for i, s in enumerate(rows):
            if deleted[i] and rng.random() < 0.8:
                s["deletedAt"] = _after(rng, s["createdAt"])
        self.data.chat["ChatSession"] = rows

    def messages(self) -> None:
        # ~1.1 messages per session (11.2M / 10.2M): most sessions have one or none, a few are
        # long conversations. USER/BOT alternate, SYSTEM 1 %; TEXT 98 %; tagIds 1 %,
        # metadata 10 %, modelUsed on bot messages (assumptions)
        rng, n = self.rng("Message"), self.n("chat", "Message")
        sessions = self.data.chat["ChatSession"]
        picks = rng.choices(range(len(sessions)), weights=[rng.expovariate(1.0) ** 3 for _ in sessions], k=n)
        per_session: dict[int, int] = defaultdict(int)
        for p in picks:
            per_session[p] += 1
        ctype = _labels(rng, n, {"TEXT": 0.98, "IMAGE": 0.01, "FILE": 0.007, "AUDIO": 0.002, "VIDEO": 0.001})
        meta = _flags(rng, n, 0.10)
        system = _flags(rng, n, 0.01)
        rows = []
        k = 0
        for si in sorted(per_session):
            s = sessions[si]
            t = s["createdAt"]
            for pos in range(per_session[si]):
                t = _ms(t + timedelta(seconds=rng.randint(2, 600)))
                sender = "SYSTEM" if system[k] else ("USER" if pos % 2 == 0 else "BOT")
                rows.append({
                    "id": self.cuid(rng, t), "chatSessionId": s["id"], "senderType": sender,
                    "senderId": (str(s["consumerId"]) if s["consumerId"] else None) if sender == "USER"
                    else ("bot" if sender == "BOT" and rng.random() < 0.5 else None),
                    "content": (_sentence(rng, 5, 15).rstrip(".") + "?") if sender == "USER" else _sentence(rng, 12, 60),
                    "contentType": ctype[k],
                    "modelUsed": rng.choice(MODELS) if sender == "BOT" else None,
                    "tagIds": None,  # set below
                    "metadata": _j({"latencyMs": rng.randint(200, 9000), "tokens": rng.randint(10, 2000)}) if meta[k] else None,
                    "createdAt": t, "updatedAt": t,
                })
                k += 1
            s["updatedAt"] = max(s["updatedAt"], t)
            if s["deletedAt"] is not None and s["deletedAt"] < s["updatedAt"]:
                s["deletedAt"] = _after(rng, s["updatedAt"], within=timedelta(days=30))
        rows.sort(key=lambda m: m["createdAt"])
        # tagIds: 1 % of the messages, with tags of their own application
        app_of_session = {s["id"]: s["applicationId"] for s in sessions}
        eligible = [m for m in rows if m["senderType"] != "SYSTEM" and self.tags_of_app.get(app_of_session[m["chatSessionId"]])]
        for m in rng.sample(eligible, min(len(eligible), max(1, round(n * 0.01)))):
            tags = self.tags_of_app[app_of_session[m["chatSessionId"]]]
            m["tagIds"] = _j(rng.sample(tags, min(len(tags), rng.randint(1, 2))))
        self.data.chat["Message"] = rows
        self.messages_of_session: dict[str, list[dict]] = defaultdict(list)
        for m in rows:
            self.messages_of_session[m["chatSessionId"]].append(m)

    def files(self) -> None:
        # attachments: 90 % attached to a message, 10 % uploads not yet sent (messageId NULL);
        # a short-lived signed url on half of them, persistentUrl on 90 % (assumptions)
        rng, n = self.rng("File"), self.n("chat", "File")
        msgs = self.data.chat["Message"]
        media = [m for m in msgs if m["contentType"] != "TEXT" and m["senderType"] == "USER"] or msgs
        attached = _flags(rng, n, 0.9)
        sessions = self.data.chat["ChatSession"]
        rows = []
        for i in range(n):
            if attached[i] and msgs:
                m = media[i % len(media)] if i < len(media) else rng.choice(msgs)
                mid, sid, t = m["id"], m["chatSessionId"], m["createdAt"]
            else:
                s = rng.choice(sessions)
                mid, sid, t = None, s["id"], _after(rng, s["createdAt"], within=timedelta(hours=1))
            kind = rng.choice([("pdf", "application/pdf"), ("png", "image/png"), ("jpg", "image/jpeg"), ("docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document")])
            name = f"{rng.choice(WORDS)}-{i}.{kind[0]}"
            signed = rng.random() < 0.5
            rows.append({
                "id": self.cuid(rng, t), "messageId": mid, "chatSessionId": sid, "name": name,
                "type": kind[1] if rng.random() < 0.95 else None, "size": rng.randint(1_000, 10_000_000),
                "url": f"https://storage.googleapis.com/chipp-chat/{_hex(rng, 16)}?X-Goog-Signature={_hex(rng, 32)}" if signed else None,
                "persistentUrl": f"gs://chipp-chat/{_hex(rng, 16)}/{name}" if rng.random() < 0.9 else None,
                "expiresAt": _ms(t + timedelta(days=7)) if signed else None,
                "createdAt": t,
            })
        self.data.chat["File"] = rows

    def whatsapp(self) -> None:
        # the chat copy is the real one (28 active); the main copy (0 active) is a stale
        # duplicate of the first chat configuration
        rng = self.rng("WhatsAppConfig")
        n_chat, n_main = self.n("chat", "WhatsAppConfig"), self.n("main", "WhatsAppConfig")
        wa_apps = []
        for s in self.data.chat["ChatSession"]:
            if s["source"] == "WHATSAPP" and s["applicationId"] not in wa_apps:
                wa_apps.append(s["applicationId"])
        others = [a["id"] for a in self.data.main["Application"] if a["id"] not in wa_apps]
        rng.shuffle(others)
        apps = (wa_apps + others)[: max(n_chat, n_main)]
        rows = []
        for i, aid in enumerate(apps[:n_chat]):
            created = _after(rng, self.app_by_id[aid]["createdAt"])
            rows.append({
                "id": self.cuid(rng, created), "applicationId": aid,
                "phoneNumber": f"+1555{rng.randint(1000000, 9999999)}" if rng.random() < 0.9 else None,
                "phoneNumberId": str(100000000000000 + rng.randint(0, 899999999999999) * 10 + i % 10),
                "businessAccountId": str(rng.randint(10**14, 10**15)) if rng.random() < 0.8 else None,
                "accessToken": "EAAG" + _token(rng, 60),
                "webhookVerifyToken": _token(rng, 16) if rng.random() < 0.7 else None,
                "isActive": int(rng.random() < 0.9 or i == 0),
                "lastVerifiedAt": _after(rng, created) if rng.random() < 0.5 else None,
                "createdAt": created, "updatedAt": _after(rng, created),
            })
        self.data.chat["WhatsAppConfig"] = rows
        main_rows = []
        for i, aid in enumerate(apps[:n_main]):
            created = _after(rng, self.app_by_id[aid]["createdAt"])
            main_rows.append({
                "id": i + 1, "applicationId": aid, "phoneNumber": f"+1555{rng.randint(1000000, 9999999)}",
                "phoneNumberId": str(rng.randint(10**14, 10**15)), "businessAccountId": None,
                "accessToken": "EAAG" + _token(rng, 60) if rng.random() < 0.5 else None,
                "webhookVerifyToken": None, "isActive": 0,
                "createdAt": created, "updatedAt": _after(rng, created),
            })
        self.data.main["WhatsAppConfig"] = main_rows

    # ------------------------------------------------ main tables that reference the chat db
    def user_memories(self) -> None:
        # memories of consumers who chatted: source session 80 %, source message 70 % of those
        rng, n = self.rng("UserMemory"), self.n("main", "UserMemory")
        chatted = [c for c in self.data.main["Consumer"] if c["id"] in self.sessions_of_consumer]
        pool = chatted or self.data.main["Consumer"]
        cats = _labels(rng, n, {"FACT": 0.4, "PREFERENCE": 0.3, "PERSONAL": 0.15, "INSIGHT": 0.08, "QUERY": 0.05, "OTHER": 0.02})
        rows = []
        for i in range(n):
            c = rng.choice(pool)
            session = rng.choice(self.sessions_of_consumer[c["id"]]) if c["id"] in self.sessions_of_consumer and rng.random() < 0.8 else None
            msgs = [m for m in self.messages_of_session.get(session["id"], []) if m["senderType"] == "USER"] if session else []
            message = rng.choice(msgs) if msgs and rng.random() < 0.7 else None
            created = _after(rng, (message or session or c)["createdAt"], within=timedelta(minutes=5))
            rows.append({
                "id": self.cuid(rng, created), "applicationId": c["applicationId"], "consumerId": c["id"],
                "category": cats[i], "content": "The user " + _words(rng, 4, 12) + ".",
                "confidence": round(rng.uniform(0.5, 1.0), 3),
                "sourceChatSessionId": session["id"] if session else None,
                "sourceMessageId": message["id"] if message else None,
                "createdAt": created, "updatedAt": _after(rng, created),
            })
        self.data.main["UserMemory"] = rows

    def token_usage(self) -> None:
        # one record per billed bot message (85 %) or API call without a chat message (15 %);
        # applicationId NULL 3 %, developerId (legacy) 20 % (assumptions)
        rng, n = self.rng("TokenUsage"), self.n("main", "TokenUsage")
        sessions = {s["id"]: s for s in self.data.chat["ChatSession"]}
        bot = [m for m in self.data.chat["Message"] if m["senderType"] == "BOT"]
        linked = _flags(rng, n, 0.85)
        no_app = _flags(rng, n, 0.03)
        rows = []
        for i in range(n):
            if linked[i] and bot:
                m = rng.choice(bot)
                s = sessions[m["chatSessionId"]]
                app, sid, mid, created = self.app_by_id[s["applicationId"]], s["id"], m["id"], m["createdAt"]
            else:
                app = _skewed(rng, self.data.main["Application"], 1)[0]
                sid = mid = None
                created = _after(rng, app["createdAt"])
            inp, out = rng.randint(50, 8000), rng.randint(10, 2000)
            rows.append({
                "id": i + 1, "organizationId": self.org_of_ws[app["workspaceId"]],
                "applicationId": None if no_app[i] else app["id"],
                "developerId": app["developerId"] if rng.random() < 0.2 else None,
                "chatSessionId": sid, "messageId": mid,
                "model": m["modelUsed"] if sid and m["modelUsed"] else rng.choice(MODELS),
                "inputTokens": inp, "outputTokens": out, "totalTokens": inp + out,
                "costUsd": Decimal(inp * 250 + out * 1000).scaleb(-8).quantize(Decimal("1e-8")),
                "createdAt": _ms(created + timedelta(milliseconds=rng.randint(0, 2000))),
            })
        self.data.main["TokenUsage"] = rows

    def actions(self) -> None:
        rng = self.rng("actions")
        devs = self.data.main["Developer"]
        rows = []
        for i in range(self.n("main", "ActionCollection")):
            d = rng.choice(devs)
            scope = rng.choice(["PRIVATE", "WORKSPACE", "PUBLIC"])
            review = rng.choice(["PENDING", "APPROVED", "REJECTED"]) if scope == "PUBLIC" else "PENDING"
            created = _after(rng, d["createdAt"])
            ws = self.ws_of_dev.get(d["id"])
            rows.append({
                "id": i + 1, "workspaceId": rng.choice(ws) if ws and scope != "PUBLIC" else None,
                "developerId": d["id"], "name": f"{rng.choice(WORDS).title()} Toolkit", "slug": f"toolkit-{i + 1}",
                "description": _sentence(rng) if rng.random() < 0.7 else None, "sharingScope": scope,
                "icon": rng.choice(["wrench", "calendar", "mail", None]),
                "coverImage": f"https://cdn.example.com/cover/{i + 1}.png" if rng.random() < 0.3 else None,
                "tags": _j(rng.sample(["crm", "email", "calendar", "sales", "support"], 2)) if rng.random() < 0.6 else None,
                "installCount": rng.randint(0, 40), "reviewStatus": review,
                "reviewedAt": _after(rng, created) if review != "PENDING" else None,
                "reviewedById": (self.super_admin or d["id"]) if review != "PENDING" else None,
                "createdAt": created, "updatedAt": _after(rng, created),
            })
        self.data.main["ActionCollection"] = rows
        colls = rows
        rows = []
        for i in range(self.n("main", "ActionTemplate")):
            c = colls[i % len(colls)]
            created = _after(rng, c["createdAt"])
            word = rng.choice(WORDS)
            rows.append({
                "id": i + 1, "collectionId": c["id"], "name": f"Get {word}", "toolName": f"get_{word}_{i + 1}",
                "description": _sentence(rng) if rng.random() < 0.8 else None,
                "toolDescription": _sentence(rng) if rng.random() < 0.6 else None,
                "url": f"https://api.example.com/v1/{word}", "method": rng.choice(["GET", "GET", "POST", "PUT", "PATCH", "DELETE"]),
                "headers": _j({"Accept": "application/json"}) if rng.random() < 0.5 else None,
                "queryParams": _j([{"name": "q", "required": True}]) if rng.random() < 0.4 else None,
                "bodyParams": _j([{"name": "body", "type": "string"}]) if rng.random() < 0.3 else None,
                "pathParams": None,
                "requestSchema": _j({"type": "object"}) if rng.random() < 0.3 else None,
                "responseSchema": _j({"type": "object"}) if rng.random() < 0.2 else None,
                "authType": rng.choice(["NONE", "API_KEY", "OAUTH", "BASIC", "BEARER", "CUSTOM"]),
                "authConfig": _j({"header": "X-Api-Key"}) if rng.random() < 0.3 else None,
                "timeoutMs": rng.choice([10000, 30000, 60000]), "isClientSide": int(rng.random() < 0.1),
                "presentTenseVerb": f"Getting {word}" if rng.random() < 0.5 else None,
                "pastTenseVerb": f"Got {word}" if rng.random() < 0.5 else None,
                "ordinal": i % 5, "isActive": int(rng.random() < 0.9),
                "createdAt": created, "updatedAt": _after(rng, created),
            })
        self.data.main["ActionTemplate"] = rows
        templates = rows
        n = self.n("main", "UserDefinedTool")
        apps = _skewed(rng, self.data.main["Application"], n)
        installed = _flags(rng, n, 0.25)
        rows, pairs = [], set()
        for i in range(n):
            app = apps[i]
            tpl = rng.choice(templates) if installed[i] and templates else None
            if tpl and (app["id"], tpl["id"]) in pairs:
                tpl = None
            if tpl:
                pairs.add((app["id"], tpl["id"]))
            created = _after(rng, max(app["createdAt"], tpl["createdAt"]) if tpl else app["createdAt"])
            word = rng.choice(WORDS)
            rows.append({
                "id": i + 1, "applicationId": app["id"], "actionTemplateId": tpl["id"] if tpl else None,
                "name": None if tpl else f"Lookup {word}", "toolName": None if tpl else f"lookup_{word}",
                "description": None if tpl else _sentence(rng),
                "url": None if tpl else f"https://hooks.site{app['id']}.com/{word}",
                "method": None if tpl else rng.choice(["GET", "POST"]),
                "headers": None if tpl or rng.random() < 0.5 else _j({"Authorization": "Bearer {{token}}"}),
                "queryParams": None if tpl or rng.random() < 0.6 else _j([{"name": "id"}]),
                "bodyParams": None if tpl or rng.random() < 0.7 else _j([{"name": "text"}]),
                "variables": _j({"token": _token(rng, 12)}) if rng.random() < 0.3 else None,
                "isActive": int(rng.random() < 0.9), "ordinal": i % 4,
                "createdAt": created, "updatedAt": _after(rng, created),
            })
        self.data.main["UserDefinedTool"] = rows

    def integrations(self) -> None:
        rng = self.rng("integrations")
        apps = self.data.main["Application"]
        rows = []
        for i in range(self.n("main", "ApplicationIntegration")):
            app = _skewed(rng, apps, 1)[0]
            t = rng.choice(["MCP", "OAUTH", "API_KEY"])
            created = _after(rng, app["createdAt"])
            rows.append({"id": i + 1, "applicationId": app["id"], "type": t,
                         "name": {"MCP": "Zapier MCP", "OAUTH": "Google Calendar", "API_KEY": "HubSpot"}[t],
                         "config": _j({"url": f"https://mcp.example.com/{_hex(rng, 8)}"}) if rng.random() < 0.8 else None,
                         "isActive": int(rng.random() < 0.85),
                         "lastVerifiedAt": _after(rng, created) if rng.random() < 0.5 else None,
                         "createdAt": created, "updatedAt": _after(rng, created)})
        self.data.main["ApplicationIntegration"] = rows
        rows, pairs = [], set()
        slack_apps = [s["applicationId"] for s in self.data.chat["ChatSession"] if s["source"] == "SLACK"]
        for i in range(self.n("main", "SlackInstallation")):
            aid = slack_apps[i] if i < len(slack_apps) else _skewed(rng, apps, 1)[0]["id"]
            team = f"T{_token(rng, 10).upper()}"
            pairs.add((team, aid))
            created = _after(rng, self.app_by_id[aid]["createdAt"])
            rows.append({"id": i + 1, "applicationId": aid, "teamId": team,
                         "teamName": f"{rng.choice(LAST).title()} Inc" if rng.random() < 0.9 else None,
                         "botUserId": f"U{_token(rng, 10).upper()}" if rng.random() < 0.9 else None,
                         "botToken": f"xoxb-{rng.randint(10**11, 10**12)}-{_token(rng, 24)}",
                         "scope": "chat:write,app_mentions:read,im:history" if rng.random() < 0.8 else None,
                         "installedBySlackUserId": f"U{_token(rng, 10).upper()}" if rng.random() < 0.6 else None,
                         "createdAt": created, "updatedAt": _after(rng, created)})
        self.data.main["SlackInstallation"] = rows

    def lead_forms(self) -> None:
        # status DELETED (the legacy soft delete) 10 %, PAUSED 5 % (assumptions)
        rng, n = self.rng("LeadGenerationForm"), self.n("main", "LeadGenerationForm")
        apps = _skewed(rng, self.data.main["Application"], n)
        status = _labels(rng, n, {"ACTIVE": 0.85, "DELETED": 0.10, "PAUSED": 0.05})
        rows = []
        for i in range(n):
            created = _after(rng, apps[i]["createdAt"])
            fields = [{"name": "email", "type": "email", "required": True}]
            if rng.random() < 0.6:
                fields.append({"name": "name", "type": "text", "required": False})
            rows.append({"id": i + 1, "applicationId": apps[i]["id"], "title": "Before we start",
                         "description": _sentence(rng) if rng.random() < 0.5 else None, "fields": _j(fields),
                         "submitButtonText": rng.choice(["Start chatting", "Continue"]) if rng.random() < 0.4 else None,
                         "timing": "START", "status": status[i],
                         "createdAt": created, "updatedAt": _after(rng, created)})
        self.data.main["LeadGenerationForm"] = rows

    def video_jobs(self) -> None:
        rng, n = self.rng("VideoGenerationJob"), self.n("main", "VideoGenerationJob")
        apps = _skewed(rng, self.data.main["Application"], n)
        status = _labels(rng, n, {"COMPLETED": 0.7, "FAILED": 0.12, "QUEUED": 0.08, "PROCESSING": 0.06, "CANCELED": 0.04})
        rows = []
        for i in range(n):
            app = apps[i]
            cons = self.consumers_of_app.get(app["id"])
            consumer = rng.choice(cons) if cons and rng.random() < 0.5 else None
            created = _after(rng, (consumer or app)["createdAt"])
            st = status[i]
            rows.append({
                "id": self.cuid(rng, created), "applicationId": app["id"],
                "consumerId": consumer["id"] if consumer else None,
                "prompt": "A short video about " + _words(rng, 3, 8), "status": st,
                "provider": rng.choice(["runway", "sora", "veo"]) if st != "QUEUED" else None,
                "providerJobId": _hex(rng, 24) if st != "QUEUED" else None,
                "resultUrl": f"https://cdn.example.com/video/{_hex(rng, 16)}.mp4" if st == "COMPLETED" else None,
                "errorMessage": "Provider timeout" if st == "FAILED" else None,
                "createdAt": created, "updatedAt": _after(rng, created, within=timedelta(hours=2)),
            })
        self.data.main["VideoGenerationJob"] = rows

    def file_textchunks(self) -> None:
        # the stale MySQL copy of textchunk: JSON embeddings on a fifth of the rows
        rng, n = self.rng("FileTextchunk"), self.n("main", "FileTextchunk")
        srcs = self.data.main["ApplicationAssistantFile"]
        files = [s for s in srcs if s["type"] == "FILE"] or srcs
        with_embedding = _flags(rng, n, 0.2)
        rows = []
        for i in range(n):
            s = files[i % len(files)]
            rows.append({"id": i + 1, "assistantFileId": s["id"], "text": _sentence(rng, 30, 80),
                         "embedding": json.dumps(list(self.vec(i))) if with_embedding[i] else None,
                         "chunkIndex": i // len(files) if rng.random() < 0.9 else None,
                         "createdAt": _after(rng, s["createdAt"], within=timedelta(hours=1))})
        self.data.main["FileTextchunk"] = rows

    # ---------------------------------------------------------------------------- embeddings
    def chunks(self) -> None:
        # ~1.7 chunks per knowledge source (9.9M / 5.9M), over COMPLETE sources. Assumptions:
        # applicationId (denormalised) set on 90 %, embeddingModel 70 % (the rest NULL = the
        # default), metadata 20 %, embedding NULL 2 %
        rng, n = self.rng("textchunk"), self.n("embeddings", "textchunk")
        done = [s for s in self.data.main["ApplicationAssistantFile"] if s["status"] == "COMPLETE"] or self.data.main["ApplicationAssistantFile"]
        k = max(1, round(n / 1.7))
        sources = rng.sample(done, min(k, len(done)))
        picks = sources + rng.choices(sources, k=max(0, n - len(sources)))
        picks.sort(key=lambda s: s["id"])
        no_embedding = _flags(rng, n, 0.02, min_one=False)
        index: dict[int, int] = defaultdict(int)
        rows = []
        for i, s in enumerate(picks):
            rows.append({
                "id": _uuid(rng), "assistantFileId": s["id"],
                "applicationId": s["applicationId"] if rng.random() < 0.9 else None,
                "text": _sentence(rng, 40, 120), "embedding": None if no_embedding[i] else self.vec(i),
                "embeddingModel": EMBEDDING_MODEL if rng.random() < 0.7 else None,
                "chunkIndex": index[s["id"]],
                "metadata": _j({"source": s["name"], "page": rng.randint(1, 20)}) if rng.random() < 0.2 else None,
                "createdAt": _after(rng, s["createdAt"], within=timedelta(hours=1)),
            })
            index[s["id"]] += 1
        self.data.embeddings["textchunk"] = rows

    def document_embeddings(self) -> None:
        rng, n = self.rng("document_embeddings"), self.n("embeddings", "document_embeddings")
        srcs = self.data.main["ApplicationAssistantFile"]
        preferred = [s for s in srcs if s["ragMode"] != "CHUNKS" and s["status"] == "COMPLETE"]
        taken = {s["id"] for s in preferred}
        rest = [s for s in srcs if s["status"] == "COMPLETE" and s["id"] not in taken] or srcs
        chosen = preferred[:n] + rng.sample(rest, min(len(rest), max(0, n - len(preferred))))
        rows = []
        for i, s in enumerate(chosen[:n]):
            created = _after(rng, s["createdAt"], within=timedelta(hours=1))
            rows.append({
                "id": _uuid(rng), "assistantFileId": s["id"], "summary": _sentence(rng, 20, 50),
                "fullText": _sentence(rng, 80, 200) if rng.random() < 0.3 else None,
                "embedding": self.vec(len(self.pool) - 1 - i), "embeddingModel": EMBEDDING_MODEL if rng.random() < 0.7 else None,
                "sectionMetadata": _j([{"title": _words(rng, 2, 4), "start": 0}]) if rng.random() < 0.4 else None,
                "createdAt": created, "updatedAt": _after(rng, created),
            })
        self.data.embeddings["document_embeddings"] = rows

    def issues(self) -> None:
        rng = self.rng("issues")
        apps = self.data.main["Application"]
        rows = []
        for i in range(self.n("embeddings", "chipp_issue")):
            created = _between(rng, START, END)
            rows.append({
                "id": i + 1, "title": _sentence(rng, 3, 8), "description": _sentence(rng, 10, 40) if rng.random() < 0.8 else None,
                "status": rng.choice(["OPEN", "TRIAGED", "IN_PROGRESS", "RESOLVED", "CLOSED", "WONT_FIX"]),
                "priority": rng.choice(["LOW", "MEDIUM", "MEDIUM", "HIGH", "URGENT"]),
                "reporterEmail": f"{rng.choice(FIRST)}@chipp.ai" if rng.random() < 0.9 else None,
                "assigneeEmail": f"{rng.choice(FIRST)}@chipp.ai" if rng.random() < 0.5 else None,
                "applicationId": rng.choice(apps)["id"] if rng.random() < 0.5 else None,
                "labels": _j(rng.sample(["bug", "rag", "billing", "ui", "voice"], 2)) if rng.random() < 0.4 else None,
                "createdAt": created, "updatedAt": _after(rng, created),
            })
        self.data.embeddings["chipp_issue"] = rows
        issues = rows
        rows = []
        for i in range(self.n("embeddings", "chipp_issue_comment")):
            iss = rng.choice(issues)
            rows.append({"id": i + 1, "issueId": iss["id"], "body": _sentence(rng, 5, 30),
                         "authorEmail": f"{rng.choice(FIRST)}@chipp.ai" if rng.random() < 0.9 else None,
                         "createdAt": _after(rng, iss["createdAt"])})
        self.data.embeddings["chipp_issue_comment"] = rows


def generate(scale: float = 1.0, *, seed: int = 1) -> ChippData:
    """Rows of every table of the three legacy databases at `scale` (see the module docstring
    for the counts and shapes). Pure and deterministic for (scale, seed)."""
    return _Gen(scale, seed).run()


# --- the databases ---------------------------------------------------------------------------

def resolve_connections(target: Any, *, main_db: str, chat_db: str, emb_dsn: str | None = None,
                        emb_db: str | None = None) -> tuple[dict, dict, str]:
    """(pymysql kwargs for main, for chat, libpq DSN for the embeddings database) from either a
    Stack (its mysql_params(db) and postgres.dsn(emb_db)) or a dict of pymysql connect kwargs
    (without a database; then `emb_dsn` is required)."""
    if hasattr(target, "mysql_params"):
        main, chat = target.mysql_params(main_db), target.mysql_params(chat_db)
        dsn = emb_dsn or target.postgres.dsn(emb_db or "chipp_embeddings")
    else:
        base = {k: v for k, v in dict(target).items() if k not in ("database", "db")}
        main, chat = {**base, "database": main_db}, {**base, "database": chat_db}
        if not emb_dsn:
            raise ValueError("emb_dsn is required when target is a dict of pymysql parameters")
        dsn = emb_dsn
    return main, chat, dsn


def mysql_statements(path: Path) -> list[str]:
    """The statements of a MySQL fixture file (split on ';', comment-only pieces dropped)."""
    out = []
    for stmt in path.read_text().split(";"):
        if any(line.strip() and not line.strip().startswith("--") for line in stmt.splitlines()):
            out.append(stmt.strip())
    return out


def create_legacy_databases(stack: Any, *, main_db: str, chat_db: str, emb_db: str) -> None:
    """Create the three legacy databases on the local stack from config/chipp/legacy/."""
    import psycopg
    import pymysql

    with pymysql.connect(**stack.mysql_params(), autocommit=True) as conn, conn.cursor() as cur:
        for db, ddl in ((main_db, "main_mysql.sql"), (chat_db, "chat_mysql.sql")):
            cur.execute(f"CREATE DATABASE `{db}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
            cur.execute(f"USE `{db}`")
            for stmt in mysql_statements(LEGACY_DIR / ddl):
                cur.execute(stmt)
    with psycopg.connect(stack.postgres.dsn("postgres"), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{emb_db}"')
    with psycopg.connect(stack.postgres.dsn(emb_db), autocommit=True) as conn:
        conn.execute((LEGACY_DIR / "embeddings_pg.sql").read_text())


def drop_legacy_databases(stack: Any, *, main_db: str | None = None, chat_db: str | None = None,
                          emb_db: str | None = None) -> None:
    import psycopg
    import pymysql

    with pymysql.connect(**stack.mysql_params(), autocommit=True) as conn, conn.cursor() as cur:
        for db in (main_db, chat_db):
            if db:
                cur.execute(f"DROP DATABASE IF EXISTS `{db}`")
    if emb_db:
        with psycopg.connect(stack.postgres.dsn("postgres"), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{emb_db}" WITH (FORCE)')


@dataclass
class LoadReport:
    seconds: dict[str, float]  # per database, and "total" (wall clock)
    rows: dict[str, int]


def _load_mysql(params: dict, tables: Mapping[str, Rows], chunk_size: int) -> int:
    import pymysql

    n = 0
    conn = pymysql.connect(**params, autocommit=False)
    try:
        with conn.cursor() as cur:
            cur.execute("SET time_zone = '+00:00'")
            for table, rows in tables.items():
                if not rows:
                    continue
                cols = list(rows[0])
                sql = (f"INSERT INTO `{table}` ({', '.join(f'`{c}`' for c in cols)}) "
                       f"VALUES ({', '.join(['%s'] * len(cols))})")
                for start in range(0, len(rows), chunk_size):
                    cur.executemany(sql, [tuple(r[c] for c in cols) for r in rows[start:start + chunk_size]])
                n += len(rows)
                conn.commit()
    finally:
        conn.close()
    return n


def _load_postgres(dsn: str, tables: Mapping[str, Rows]) -> int:
    import psycopg

    n = 0
    texts: dict[int, str] = {}  # vectors are shared: format each once

    def vec(v: Any) -> str | None:
        if v is None:
            return None
        t = texts.get(id(v))
        if t is None:
            t = texts[id(v)] = vector_text(v)
        return t

    with psycopg.connect(dsn) as conn, conn.cursor() as cur:
        for table, rows in tables.items():
            if not rows:
                continue
            cols = list(rows[0])
            with cur.copy(f"COPY {table} ({', '.join(f'{chr(34)}{c}{chr(34)}' for c in cols)}) FROM STDIN") as cp:
                for r in rows:
                    cp.write_row([vec(r[c]) if c == "embedding" else r[c] for c in cols])
            n += len(rows)
        for table in tables:  # SERIAL ids were given explicitly: move the sequences past them
            cur.execute(
                "SELECT a.attname FROM pg_attribute a JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum "
                "WHERE a.attrelid = %s::regclass AND pg_get_expr(d.adbin, d.adrelid) LIKE 'nextval(%%'", (table,))
            for (col,) in cur.fetchall():
                cur.execute(f"SELECT setval(pg_get_serial_sequence(%s, %s), GREATEST(COALESCE(MAX(\"{col}\"), 0), 1), "
                            f"MAX(\"{col}\") IS NOT NULL) FROM {table}", (table, col))
        conn.commit()
    return n


def load(target: Any, data: ChippData, *, main_db: str, chat_db: str, emb_dsn: str | None = None,
         emb_db: str | None = None, chunk_size: int = 1000, parallel: bool = True) -> LoadReport:
    """Bulk-insert `data` into empty legacy databases (created from config/chipp/legacy/).

    `target` is a Stack (MariaDB at stack.mysql_params(db), the embeddings database at
    stack.postgres.dsn(emb_db)) or a dict of pymysql connect kwargs with `emb_dsn` a libpq
    URL. MySQL: executemany in chunks of `chunk_size` rows, one transaction per table.
    PostgreSQL: COPY, the vector column as pgvector text. The three databases load
    concurrently unless `parallel` is false.
    """
    main, chat, dsn = resolve_connections(target, main_db=main_db, chat_db=chat_db, emb_dsn=emb_dsn, emb_db=emb_db)
    jobs: dict[str, Callable[[], int]] = {
        "main": lambda: _load_mysql(main, data.main, chunk_size),
        "chat": lambda: _load_mysql(chat, data.chat, chunk_size),
        "embeddings": lambda: _load_postgres(dsn, data.embeddings),
    }
    seconds: dict[str, float] = {}
    rows: dict[str, int] = {}

    def timed(name: str) -> None:
        t0 = time.perf_counter()
        rows[name] = jobs[name]()
        seconds[name] = round(time.perf_counter() - t0, 3)

    t0 = time.perf_counter()
    if parallel:
        with ThreadPoolExecutor(max_workers=3) as pool:
            for f in [pool.submit(timed, name) for name in jobs]:
                f.result()
    else:
        for name in jobs:
            timed(name)
    seconds["total"] = round(time.perf_counter() - t0, 3)
    return LoadReport(seconds=seconds, rows=rows)


def iter_tables(data: ChippData) -> Iterable[tuple[str, str, Rows]]:
    for db, tables in data.databases.items():
        for table, rows in tables.items():
            yield db, table, rows
