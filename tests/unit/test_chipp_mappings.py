"""The Chipp consolidation mappings (config/chipp/, seed 000) against their own fixtures.

Pure: no server. The legacy fixture DDL (config/chipp/legacy/) and the target DDL
(config/chipp/target/) are parsed as text, so this is an offline `replicator mapping
validate`: every legacy table is mapped, every legacy column is read or dropped on purpose,
every produced target column exists, every row-creating feed fills the target's NOT NULL
columns, and every mapping key is its target table's primary key. Then representative rows,
encoded the way Debezium sends them, go through the mapping and the exact target operations
are checked: merge, billing split, WhatsApp dedupe, cross-database foreign keys, soft deletes,
enum consolidation, the embedding.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest

import transforms.chipp  # registers the chipp_* transforms before the mappings compile
from builders import general_path_only, mysql_change, pg_change
from replicator.errors import MappingError
from replicator.keys import remap_key
from replicator.mapping.engine import MappingSet, TargetOp
from replicator.mapping.loader import load_mappings

UTC = timezone.utc
REPO = Path(__file__).resolve().parents[2]
CHIPP = REPO / "config" / "chipp"
LEGACY_FILES = {"legacy_main": "main_mysql.sql", "legacy_chat": "chat_mysql.sql",
                "legacy_embeddings": "embeddings_pg.sql"}
EPOCH = datetime(1970, 1, 1)
COMMIT_MS = 1_719_835_200_000  # the builders' default source ts_ms


# --- the DDL, parsed as text ----------------------------------------------------------------------

_CREATE = re.compile(r"CREATE TABLE (?:IF NOT EXISTS )?([`\"\w.]+)\s*\(", re.IGNORECASE)
_CONSTRAINT = re.compile(r"(PRIMARY\s+KEY|UNIQUE|KEY|INDEX|CONSTRAINT|FOREIGN\s+KEY|CHECK)\b", re.IGNORECASE)


def _strip_comments(sql: str) -> str:
    return "\n".join(line.split("--", 1)[0] for line in sql.splitlines())


def _split_top(body: str) -> list[str]:
    """Split a CREATE TABLE body at top-level commas (not inside parentheses or quotes)."""
    parts, depth, quote, cur = [], 0, None, []
    for ch in body:
        if quote:
            quote = None if ch == quote else quote
        elif ch in "'\"`":
            quote = ch
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append("".join(cur))
            cur = []
            continue
        cur.append(ch)
    parts.append("".join(cur))
    return [p.strip() for p in parts if p.strip()]


class Table:
    def __init__(self, name: str, items: list[str]) -> None:
        self.name = name
        self.columns: dict[str, str] = {}  # column -> its definition text (upper case)
        self.primary_key: tuple[str, ...] = ()
        for item in items:
            m = _CONSTRAINT.match(item)
            if m:
                pk = re.match(r"(?:CONSTRAINT\s+\S+\s+)?PRIMARY\s+KEY\s*\(([^)]*)\)", item, re.IGNORECASE)
                if pk:
                    self.primary_key = tuple(c.strip(' `"') for c in pk.group(1).split(","))
                continue
            col, _, definition = item.partition(" ")
            col = col.strip('`"')
            self.columns[col] = definition.upper()
            if "PRIMARY KEY" in self.columns[col]:
                self.primary_key = (col,)

    def required(self) -> set[str]:
        """NOT NULL columns without a default (what a row-creating insert must produce)."""
        return {c for c, d in self.columns.items()
                if "NOT NULL" in d and "DEFAULT" not in d and "PRIMARY KEY" not in d
                and "GENERATED" not in d and "AUTO_INCREMENT" not in d and "SERIAL" not in d}


def parse_tables(path: Path) -> dict[str, Table]:
    sql = _strip_comments(path.read_text())
    tables = {}
    for m in _CREATE.finditer(sql):
        depth, i = 1, m.end()
        while depth:
            depth += {"(": 1, ")": -1}.get(sql[i], 0)
            i += 1
        name = m.group(1).replace("`", "").replace('"', "")
        tables[name] = Table(name, _split_top(sql[m.end():i - 1]))
    return tables


LEGACY = {src: parse_tables(CHIPP / "legacy" / f) for src, f in LEGACY_FILES.items()}
TARGET: dict[str, Table] = {}
for _f in sorted((CHIPP / "target").glob("*.sql")):
    TARGET.update(parse_tables(_f))


@pytest.fixture(scope="module", params=["compiled", "general"])
def ms(request) -> MappingSet:
    """Every test runs twice: with the generated upsert path of each table, and with
    map_row's general path alone; both must give the same target operations."""
    loaded = load_mappings([CHIPP / "mappings"], env={})
    return loaded if request.param == "compiled" else general_path_only(loaded)


# --- coverage and consistency ---------------------------------------------------------------------


def test_the_ddl_parser_found_the_tables():
    assert len(LEGACY["legacy_main"]) == 23 and len(LEGACY["legacy_chat"]) == 4
    assert set(LEGACY["legacy_embeddings"]) == {"textchunk", "document_embeddings", "chipp_issue",
                                                "chipp_issue_comment"}
    assert "rag.chunks" in TARGET and TARGET["app.users"].primary_key == ("id",)
    assert TARGET["billing.credit_balance"].primary_key == ("organization_id",)


def test_every_legacy_table_has_exactly_one_mapping(ms):
    for src, tables in LEGACY.items():
        mapped = {tm.spec.table for tm in ms.tables.values() if tm.source_name == src}
        assert mapped == set(tables), f"{src}: unmapped {set(tables) - mapped}, unknown {mapped - set(tables)}"


def test_every_legacy_column_is_read_or_dropped_and_exists(ms):
    for tm in ms.tables.values():
        if tm.spec.skip:
            continue
        have = set(LEGACY[tm.source_name][tm.spec.table].columns)
        assert have - tm.known_columns == set(), f"{tm.qualified}: drift, add to the mapping or `dropped`"
        assert tm.known_columns - have == set(), f"{tm.qualified}: reads or drops columns that do not exist"


def test_skipped_tables_are_the_seeds_and_say_why(ms):
    skipped = {q for q, tm in ms.tables.items() if tm.spec.skip}
    assert skipped == {"legacy_main.Collection", "legacy_main.FileTextchunk", "legacy_main.WhatsAppConfig",
                       "legacy_embeddings.chipp_issue", "legacy_embeddings.chipp_issue_comment"}
    assert all(ms.tables[q].spec.skip_reason for q in skipped)


def test_every_target_column_exists_and_keys_are_primary_keys(ms):
    for table, feeds in ms.target_tables().items():
        assert table in TARGET, f"{table} is not in config/chipp/target/*.sql"
        t = TARGET[table]
        for feed in feeds:
            produced = {n for n, _ in feed.columns} | ({feed.soft_delete_column} - {None})
            assert produced <= set(t.columns), f"{table}: no column(s) {produced - set(t.columns)}"
            # the sink upserts ON CONFLICT (key): it must be the primary key
            assert set(feed.key) == set(t.primary_key), f"{table}: key {feed.key} is not the PK {t.primary_key}"
            if feed.spec.creates_row:
                missing = t.required() - produced
                assert not missing, f"{table}: NOT NULL column(s) {missing} not produced by {feed.contributor}"


def test_every_target_table_has_a_primary_key_and_a_feed(ms):
    assert all(t.primary_key for t in TARGET.values())
    assert set(TARGET) == set(ms.target_tables()), set(TARGET) ^ set(ms.target_tables())


def test_seed_removals_are_explicit(ms):
    def dropped(q):
        return set(ms.tables[q].spec.dropped)

    assert {"resetToken", "resetTokenExpiry", "magicLinkToken", "magicLinkTokenExpiry", "stripeCustomerId",
            "stripeSubscriptionId", "subscriptionTier", "subscriptionPeriod",
            "isUsageBasedSubscription"} <= dropped("legacy_main.Developer")
    assert {"resetToken", "resetTokenExpiry", "magicLinkToken", "magicLinkTokenExpiry", "stripeCustomerId",
            "collectionId"} <= dropped("legacy_main.Consumer")
    assert {"authDisabledForPlayground", "monetizationEnabled", "customCss", "customComponents",
            "collectionId"} <= dropped("legacy_main.Application")
    assert {"otpCode", "otpCodeExpiry", "zapierAccessToken"} <= dropped("legacy_main.DeveloperCredentials")
    assert "tier" in dropped("legacy_main.Workspace")          # WorkspaceTier
    assert "timing" in dropped("legacy_main.LeadGenerationForm")  # LeadGenerationTiming


def test_the_transforms_namespace_is_the_main_sources(ms):
    assert ms.sources["legacy_main"].namespace == transforms.chipp.MAIN_NAMESPACE
    assert (ms.sources["legacy_chat"].namespace, ms.sources["legacy_embeddings"].namespace) == \
        ("chipp_chat", "chipp_embeddings")


def test_topics_follow_the_connectors_prefixes(ms):
    topics = ms.topics()
    assert "chipp_main.chipp_main.Developer" in topics
    assert "chipp_chat.chipp_chat.ChatSession" in topics
    assert "chipp_embeddings.public.textchunk" in topics


# --- rows through the mapping ---------------------------------------------------------------------


def ms_(*args: int) -> int:
    """A DATETIME(3) wall clock as Debezium encodes it: epoch milliseconds, as if UTC."""
    return (datetime(*args) - EPOCH) // timedelta(milliseconds=1)


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def main(op, table, before=None, after=None):
    return mysql_change(op, table, before, after, prefix="chipp_main", db="chipp_main")


def chat(op, table, before=None, after=None):
    return mysql_change(op, table, before, after, prefix="chipp_chat", db="chipp_chat")


def plain(value):
    """Jsonb wrappers unwrapped, so that expected values can be written as literals."""
    return getattr(value, "obj", value)


def shape(op: TargetOp) -> tuple:
    return (op.table, op.kind, op.key, {k: plain(v) for k, v in op.values.items()}, op.contributor, op.creates_row)


def main_id(table: str, legacy_id) -> uuid.UUID:
    return remap_key("chipp_main", table, legacy_id)


def chat_id(table: str, legacy_id) -> uuid.UUID:
    return remap_key("chipp_chat", table, legacy_id)


CREATED, UPDATED = ms_(2023, 3, 1, 9, 30, 0, 250000), ms_(2024, 6, 30, 18, 0, 0, 5000)
CREATED_AT, UPDATED_AT = at(2023, 3, 1, 9, 30, 0, 250000), at(2024, 6, 30, 18, 0, 0, 5000)


def developer(id=7, **kw):
    row = {"id": id, "email": " Ada@Example.COM ", "name": "Ada", "pictureUrl": None, "username": "ada",
           "password": "$2b$10$hash", "emailVerified": 1, "resetToken": "tok", "resetTokenExpiry": ms_(2024, 7, 1),
           "magicLinkToken": "ml", "magicLinkTokenExpiry": None, "stripeCustomerId": "cus_dev",
           "stripeSubscriptionId": "sub_dev", "stripeAccountId": "acct_1", "stripeOnboardingComplete": 1,
           "subscriptionTier": "PRO", "subscriptionPeriod": "MONTHLY", "isUsageBasedSubscription": 0,
           "acquisitionSource": "google", "acquisitionReferrerUrl": None, "hasCompletedOnboarding": 1,
           "hasSeenBuilderTour": 0, "activeWorkspaceId": 3, "createdAt": CREATED, "updatedAt": UPDATED}
    return {**row, **kw}


def test_merge_developer_and_credentials_into_users(ms):
    [dev] = ms.map_event(main("c", "Developer", after=developer()))
    assert shape(dev) == ("app.users", "upsert", (main_id("Developer", 7),), {
        "id": main_id("Developer", 7), "email": "ada@example.com", "name": "Ada", "picture_url": None,
        "username": "ada", "password_hash": "$2b$10$hash", "email_verified": True, "stripe_account_id": "acct_1",
        "stripe_onboarding_complete": True, "acquisition_source": "google", "acquisition_referrer_url": None,
        "has_completed_onboarding": True, "has_seen_builder_tour": False,
        "active_workspace_id": main_id("Workspace", 3), "created_at": CREATED_AT, "updated_at": UPDATED_AT,
    }, "developer", True)

    creds = {"id": 70, "developerId": 7, "password": None, "isSuperAdmin": 1, "zapierAccessToken": "zap",
             "otpCode": "123456", "otpCodeExpiry": ms_(2024, 7, 1), "stripeCustomerId": None,
             "stripeSubscriptionId": None, "subscriptionTier": None, "createdAt": CREATED, "updatedAt": UPDATED}
    [fill] = ms.map_event(main("u", "DeveloperCredentials", before=creds, after=creds))
    # same row as the Developer's (keyed by developerId, not its own id), only fills it
    assert shape(fill) == ("app.users", "upsert", dev.key, {"id": dev.key[0], "is_super_admin": True},
                           "credentials", False)
    [clear] = ms.map_event(main("d", "DeveloperCredentials", before=creds))
    assert shape(clear) == ("app.users", "clear", dev.key, {"is_super_admin": None}, "credentials", False)
    [gone] = ms.map_event(main("d", "Developer", before=developer()))
    assert (gone.table, gone.kind, gone.key, gone.contributor) == ("app.users", "delete", dev.key, "developer")


def organization(**kw):
    row = {"id": 5, "name": "Acme", "slug": "acme", "pictureUrl": None, "stripeCustomerId": "cus_5",
           "stripeSubscriptionId": "", "subscriptionTier": "TEAM", "subscriptionPeriod": "YEARLY",
           "subscriptionStatus": "UNPAID", "trialEndsAt": None, "currentPeriodStart": ms_(2024, 6, 1),
           "currentPeriodEnd": ms_(2025, 6, 1), "canceledAt": None, "usageBasedBillingEnabled": 1,
           "creditsExhausted": 0, "creditBalanceUsd": "12.35", "lifetimeUsageUsd": "1.2345",
           "lastLowBalanceWarningAt": None, "featureFlags": '{"beta": true}', "whitelabelTenantId": None,
           "deletedAt": None, "createdAt": CREATED, "updatedAt": UPDATED}
    return {**row, **kw}


def test_split_organization_into_app_and_billing(ms):
    org = main_id("Organization", 5)
    ops = ms.map_event(main("c", "Organization", after=organization()))
    assert [shape(o) for o in ops] == [
        ("app.organizations", "upsert", (org,), {
            "id": org, "name": "Acme", "slug": "acme", "picture_url": None, "usage_based_billing_enabled": True,
            "feature_flags": {"beta": True}, "whitelabel_tenant_id": None, "created_at": CREATED_AT,
            "updated_at": UPDATED_AT, "deleted_at": None}, "organization", True),
        ("billing.subscriptions", "upsert", (org,), {
            "id": org, "organization_id": org, "stripe_subscription_id": None,  # '' -> NULL (UNIQUE)
            "stripe_customer_id": "cus_5", "tier": "TEAM", "period": "YEARLY",
            "status": "PAST_DUE",  # Stripe's UNPAID consolidated
            "trial_ends_at": None, "current_period_start": at(2024, 6, 1), "current_period_end": at(2025, 6, 1),
            "canceled_at": None, "created_at": CREATED_AT, "updated_at": UPDATED_AT}, "organization", True),
        ("billing.credit_balance", "upsert", (org,), {
            "organization_id": org, "balance_cents": 1235, "lifetime_usage_cents": 123, "exhausted": False,
            "last_warning_at": None, "updated_at": UPDATED_AT}, "organization", True),
    ]
    # no Stripe subscription at all: the free plan, active
    free = ms.map_event(main("c", "Organization", after=organization(
        subscriptionStatus=None, subscriptionTier="FREE", stripeCustomerId=None)))[1]
    assert (free.values["tier"], free.values["status"], free.values["stripe_customer_id"]) == ("FREE", "ACTIVE", None)
    # a hard delete removes all three rows
    deletes = ms.map_event(main("d", "Organization", before=organization()))
    assert [(o.table, o.kind, o.key) for o in deletes] == [
        ("app.organizations", "delete", (org,)), ("billing.subscriptions", "delete", (org,)),
        ("billing.credit_balance", "delete", (org,))]


def whatsapp(id, **kw):
    row = {"id": id, "applicationId": 11, "phoneNumber": "+15550001", "phoneNumberId": "PNID",
           "businessAccountId": None, "accessToken": "EAAB", "webhookVerifyToken": "verify", "isActive": 1,
           "createdAt": CREATED, "updatedAt": UPDATED}
    return {**row, **kw}


def test_whatsapp_duplicate_the_chat_copy_wins(ms):
    # the stale main-database copy is acknowledged and discarded, whatever it holds
    assert ms.map_event(main("c", "WhatsAppConfig", after=whatsapp(1, isActive=1))) == []
    assert ms.map_event(main("d", "WhatsAppConfig", before=whatsapp(1))) == []
    [op] = ms.map_event(chat("c", "WhatsAppConfig", after=whatsapp("clwa01", lastVerifiedAt=None)))
    assert shape(op) == ("app.integrations", "upsert", (chat_id("WhatsAppConfig", "clwa01"),), {
        "id": chat_id("WhatsAppConfig", "clwa01"),
        "application_id": main_id("Application", 11),  # a main-database id, remapped as main remaps it
        "type": "whatsapp", "name": "WhatsApp",
        "config": {"phone_number": "+15550001", "phone_number_id": "PNID", "business_account_id": None,
                   "access_token": "EAAB", "webhook_verify_token": "verify"},
        "is_active": True, "last_verified_at": None, "created_at": CREATED_AT, "updated_at": UPDATED_AT,
    }, "whatsappconfig", True)


def slack(id=4, **kw):
    row = {"id": id, "applicationId": 11, "teamId": "T0001", "teamName": None, "botUserId": "U0BOT",
           "botToken": "xoxb-1", "scope": "chat:write", "installedBySlackUserId": None,
           "createdAt": CREATED, "updatedAt": UPDATED}
    return {**row, **kw}


def test_slack_installations_are_integrations_of_type_slack(ms):
    [op] = ms.map_event(main("c", "SlackInstallation", after=slack()))
    assert shape(op) == ("app.integrations", "upsert", (main_id("SlackInstallation", 4),), {
        "id": main_id("SlackInstallation", 4), "application_id": main_id("Application", 11),
        "type": "slack", "name": "Slack",  # no team name: the default
        "config": {"team_id": "T0001", "team_name": None, "bot_user_id": "U0BOT", "bot_token": "xoxb-1",
                   "scope": "chat:write", "installed_by_slack_user_id": None},
        "is_active": True, "created_at": CREATED_AT, "updated_at": UPDATED_AT,
    }, "slackinstallation", True)
    assert ms.map_event(main("c", "SlackInstallation", after=slack(teamName="Acme")))[0].values["name"] == "Acme"
    [gone] = ms.map_event(main("d", "SlackInstallation", before=slack()))
    assert (gone.table, gone.kind, gone.key, gone.contributor) == ("app.integrations", "delete", op.key,
                                                                    "slackinstallation")


def test_integrations_are_a_union_of_three_feeds_that_never_collide(ms):
    """The seed's single app.integrations holds ApplicationIntegration, SlackInstallation and
    the chat copy of WhatsAppConfig rows: three union feeds with overlapping columns, each its
    own position column, keys from distinct UUID namespaces."""
    feeds = {(tm.qualified, t.contributor): t for tm in ms.tables.values() for t in tm.targets
             if t.table == "app.integrations"}
    assert set(feeds) == {("legacy_main.ApplicationIntegration", "applicationintegration"),
                          ("legacy_main.SlackInstallation", "slackinstallation"),
                          ("legacy_chat.WhatsAppConfig", "whatsappconfig")}
    assert all(t.spec.union and t.spec.creates_row and t.spec.on_delete == "hard" for t in feeds.values())
    common = set.intersection(*({n for n, _ in t.columns} for t in feeds.values()))
    assert {"id", "application_id", "type", "name", "config", "is_active"} <= common
    integration = {"id": 4, "applicationId": 11, "type": "MCP", "name": "Tool", "config": '{"url": "u"}',
                   "isActive": 1, "lastVerifiedAt": None, "createdAt": CREATED, "updatedAt": UPDATED}
    ops = [*ms.map_event(main("c", "ApplicationIntegration", after=integration)),
           *ms.map_event(main("c", "SlackInstallation", after=slack(4))),
           *ms.map_event(chat("c", "WhatsAppConfig", after=whatsapp("4", lastVerifiedAt=None)))]
    # the same legacy id in each table: three distinct rows, each with its own contributor
    assert len({o.key for o in ops}) == 3 and len({o.contributor for o in ops}) == 3
    assert [o.values["type"] for o in ops] == ["mcp", "slack", "whatsapp"]
    assert {o.table for o in ops} == {"app.integrations"}
    assert not any(t in TARGET for t in ("app.slack_integrations", "app.whatsapp_integrations"))
    # the enum holds every kind's label
    enum = (CHIPP / "target" / "01_schemas_and_enums.sql").read_text()
    assert "CREATE TYPE integration_type AS ENUM ('mcp', 'oauth', 'api_key', 'slack', 'whatsapp');" in enum


def application(id=11, **kw):
    row = {"id": id, "workspaceId": 3, "developerId": 7, "collectionId": 2, "name": "Bot", "description": None,
           "slug": "bot", "startingMessage": "Hi", "inputPlaceholder": None, "disclaimerText": None,
           "publishState": "ECOSYSTEM", "chatType": "ChippHosted", "language": "FR", "textDirection": "LTR",
           "currency": "EUR", "ragRelevanceThreshold": "0.650", "ragMaxChunks": None, "ragUseHybridSearch": 0,
           "ragDocumentWeight": None, "phoneNumber": None, "defaultInteractionMethod": "CHAT",
           "lastPublishedAt": None, "authDisabledForPlayground": 1, "monetizationEnabled": 0,
           "brandStyles": None, "customDomain": " Bot.Example.com ", "customDomainSSLVerified": 1,
           "customCss": "body{}", "customComponents": None, "isDeleted": 0, "createdAt": CREATED,
           "updatedAt": UPDATED}
    return {**row, **kw}


def test_cross_database_foreign_keys_equal_the_parents_keys(ms):
    app_op = ms.map_event(main("c", "Application", after=application()))[0]
    consumer_op = ms.map_event(main("c", "Consumer", after={
        "id": 900, "applicationId": 11, "collectionId": None, "identifier": "anon-1", "mode": "LIVE",
        "credits": 42, "name": None, "email": None, "pictureUrl": None, "password": None, "emailVerified": 0,
        "resetToken": None, "resetTokenExpiry": None, "magicLinkToken": None, "magicLinkTokenExpiry": None,
        "subscriptionActive": 0, "stripeCustomerId": None, "customInstructions": None, "deletedAt": None,
        "createdAt": CREATED, "updatedAt": UPDATED}))[0]
    session = {"id": "clsess01", "applicationId": 11, "consumerId": 900, "source": None, "phoneNumber": None,
               "title": None, "isPublic": 0, "threadId": "thread_abc", "isDeleted": 0, "deletedAt": None,
               "createdAt": CREATED, "updatedAt": UPDATED}
    [s] = ms.map_event(chat("c", "ChatSession", after=session))
    assert s.values["application_id"] == app_op.key[0] == app_op.values["id"]
    assert s.values["consumer_id"] == consumer_op.key[0]
    assert consumer_op.values["application_id"] == app_op.key[0]
    assert shape(s)[3] == {
        "id": chat_id("ChatSession", "clsess01"), "application_id": main_id("Application", 11),
        "consumer_id": main_id("Consumer", 900), "source": "APP",  # NULL -> the NOT NULL default
        "phone_number": None, "title": None, "is_public": False, "metadata": {"openai_thread_id": "thread_abc"},
        "created_at": CREATED_AT, "updated_at": UPDATED_AT, "deleted_at": None}
    # and the other way: a main-database row pointing at chat-database rows
    [usage] = ms.map_event(main("c", "TokenUsage", after={
        "id": 1, "organizationId": 5, "applicationId": 11, "developerId": 7, "chatSessionId": "clsess01",
        "messageId": "clmsg01", "model": "gpt-4o-mini", "inputTokens": 800, "outputTokens": 200,
        "totalTokens": 1000, "costUsd": "0.00012345", "createdAt": CREATED}))
    assert usage.values["session_id"] == s.key[0]
    assert usage.values["message_id"] == chat_id("Message", "clmsg01")
    assert usage.values["organization_id"] == main_id("Organization", 5)
    assert usage.values["cost_cents"] == Decimal("0.012345")  # fractions of a cent are kept


def test_application_split_custom_domain_and_brand_styles(ms):
    app = main_id("Application", 11)
    ops = ms.map_event(main("c", "Application", after=application(brandStyles='{"primary": "#fff"}')))
    assert [(o.table, o.kind) for o in ops] == [("app.applications", "upsert"), ("app.custom_domains", "upsert"),
                                               ("app.brand_styles", "upsert")]
    a, d, b = (shape(o)[3] for o in ops)
    assert a["owner_id"] == main_id("Developer", 7) and a["workspace_id"] == main_id("Workspace", 3)
    assert a["rag_config"] == {"relevance_threshold": 0.65, "max_chunks": 10, "use_hybrid_search": False,
                               "document_weight": 0.5}
    assert not {"customCss", "collectionId", "monetizationEnabled"} & set(a)
    assert d == {"id": app, "application_id": app, "domain": "bot.example.com", "ssl_verified": True,
                 "created_at": CREATED_AT, "updated_at": UPDATED_AT}
    assert b == {"application_id": app, "styles": {"primary": "#fff"}, "updated_at": UPDATED_AT}
    # soft-deleted: the application keeps its row with deleted_at, the domain is released
    ops = ms.map_event(main("u", "Application", before=application(), after=application(isDeleted=1)))
    assert [(o.table, o.kind) for o in ops] == [("app.applications", "upsert"), ("app.custom_domains", "delete"),
                                               ("app.brand_styles", "delete")]
    assert ops[0].values["deleted_at"] == UPDATED_AT
    assert ops[1].key == (app,)


def test_soft_deletes_become_deleted_at(ms):
    ws = {"id": 3, "organizationId": 5, "name": "Main", "slug": "main", "pictureUrl": None, "visibility": "PUBLIC",
          "tier": "PRO", "maxSeats": None, "isDeleted": 1, "createdAt": CREATED, "updatedAt": UPDATED}
    [op] = ms.map_event(main("u", "Workspace", before=ws, after=ws))
    assert (op.kind, op.values["deleted_at"], op.values["is_private"]) == ("upsert", UPDATED_AT, False)
    [op] = ms.map_event(main("u", "Workspace", before=ws, after={**ws, "isDeleted": 0, "visibility": "PRIVATE"}))
    assert (op.values["deleted_at"], op.values["is_private"]) == (None, True)

    form = {"id": 4, "applicationId": 11, "title": "Contact", "description": None, "fields": "[]",
            "submitButtonText": None, "timing": "START", "status": "DELETED", "createdAt": CREATED,
            "updatedAt": UPDATED}
    [op] = ms.map_event(main("u", "LeadGenerationForm", before=form, after=form))
    assert (op.values["deleted_at"], op.values["is_active"]) == (UPDATED_AT, False)
    [op] = ms.map_event(main("u", "LeadGenerationForm", before=form, after={**form, "status": "PAUSED"}))
    assert (op.values["deleted_at"], op.values["is_active"]) == (None, False)

    session = {"id": "clsess02", "applicationId": 11, "consumerId": None, "source": "WHATSAPP",
               "phoneNumber": "+15550001", "title": None, "isPublic": 0, "threadId": None, "isDeleted": 1,
               "deletedAt": ms_(2024, 6, 2, 3, 4, 5, 678000), "createdAt": CREATED, "updatedAt": UPDATED}
    [op] = ms.map_event(chat("u", "ChatSession", before=session, after=session))
    assert op.values["deleted_at"] == at(2024, 6, 2, 3, 4, 5, 678000)
    # flagged without a time: the source commit time
    [op] = ms.map_event(chat("u", "ChatSession", before=session, after={**session, "deletedAt": None}))
    # no deletedAt: updatedAt, reproducible from the row (the commit time would not be)
    assert op.values["deleted_at"] == ms.tables["legacy_chat.ChatSession"].targets[0].columns[-1][1](
        {**session, "deletedAt": None, "__commit_ts_ms__": None})
    assert op.values["deleted_at"] != datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=COMMIT_MS)


def test_enum_consolidation(ms):
    job = {"id": "cljob01", "applicationId": 11, "consumerId": None, "prompt": "a cat", "status": "CANCELED",
           "provider": None, "providerJobId": None, "resultUrl": None, "errorMessage": None,
           "createdAt": CREATED, "updatedAt": UPDATED}
    [op] = ms.map_event(main("c", "VideoGenerationJob", after=job))
    assert (op.table, op.values["status"]) == ("internal.video_generation_jobs", "CANCELLED")
    assert [ms.map_event(main("c", "VideoGenerationJob", after={**job, "status": s}))[0].values["status"]
            for s in ("QUEUED", "PROCESSING", "COMPLETED", "FAILED")] == ["PENDING", "ACTIVE", "COMPLETE", "ERROR"]

    memory = {"id": "clmem01", "applicationId": 11, "consumerId": 900, "category": "PERSONAL",
              "content": "Lives in Paris", "confidence": 0.9, "sourceChatSessionId": "clsess01",
              "sourceMessageId": None, "createdAt": CREATED, "updatedAt": UPDATED}
    [op] = ms.map_event(main("c", "UserMemory", after=memory))
    assert (op.table, op.values["category"]) == ("chat.user_memories", "FACTS")
    assert op.values["source_session_id"] == chat_id("ChatSession", "clsess01")

    integration = {"id": 1, "applicationId": 11, "type": "API_KEY", "name": "Key", "config": None, "isActive": 1,
                   "lastVerifiedAt": None, "createdAt": CREATED, "updatedAt": UPDATED}
    [op] = ms.map_event(main("c", "ApplicationIntegration", after=integration))
    assert (op.values["type"], plain(op.values["config"])) == ("api_key", {})  # NOT NULL config: {}
    # a label the value map does not know fails the row (to the DLQ), never guessed
    with pytest.raises(MappingError, match="enum"):
        ms.map_event(main("c", "VideoGenerationJob", after={**job, "status": "PAUSED"}))


def test_message_tags_and_files(ms):
    msg = {"id": "clmsg01", "chatSessionId": "clsess01", "senderType": "USER", "senderId": None,
           "content": "hello", "contentType": "TEXT", "modelUsed": None, "tagIds": "[1, 2]", "metadata": None,
           "createdAt": CREATED, "updatedAt": UPDATED}
    [op] = ms.map_event(chat("c", "Message", after=msg))
    assert op.values["session_id"] == chat_id("ChatSession", "clsess01")
    assert op.values["tag_ids"] == [main_id("MessageTag", 1), main_id("MessageTag", 2)]
    [tag] = ms.map_event(main("c", "MessageTag", after={
        "id": 2, "applicationId": 11, "name": "support", "description": None, "color": None, "isEnabled": 1,
        "createdAt": CREATED, "updatedAt": UPDATED}))
    assert tag.key[0] == op.values["tag_ids"][1]

    file = {"id": "clfile01", "messageId": None, "chatSessionId": "clsess01", "name": "a.png", "type": "image/png",
            "size": 10, "url": "https://signed", "persistentUrl": None, "expiresAt": None, "createdAt": CREATED}
    [op] = ms.map_event(chat("c", "File", after=file))
    assert op.kind == "delete"  # not attached to a message: not (or no longer) migrated
    [op] = ms.map_event(chat("u", "File", before=file, after={**file, "messageId": "clmsg01"}))
    assert (op.kind, op.values["message_id"]) == ("upsert", chat_id("Message", "clmsg01"))


def test_the_embedding(ms):
    chunk_id = "4b4ad1b0-6c1e-4f59-9d2c-2f3f55a2c0de"
    embedding = [0.25, -0.5, 1e-05] + [0.0] * 3069
    row = {"id": chunk_id, "assistantFileId": 42, "applicationId": 11, "text": "chunk one", "embedding": embedding,
           "embeddingModel": None, "chunkIndex": 0, "metadata": '{"page": 1}', "createdAt": CREATED}
    ev = pg_change("c", "textchunk", after=row, prefix="chipp_embeddings", db="chipp_embeddings")
    [op] = ms.map_event(ev)
    assert shape(op) == ("rag.chunks", "upsert", (uuid.UUID(chunk_id),), {
        "id": uuid.UUID(chunk_id),  # already a UUID: kept as is
        "source_id": main_id("ApplicationAssistantFile", 42),  # = the rag.knowledge_sources key
        "text": "chunk one",
        "embedding": "[0.25,-0.5,0.00001," + ",".join(["0.0"] * 3069) + "]",  # pgvector text
        "embedding_provider": "openai", "embedding_model": "text-embedding-3-large",
        "chunk_index": 0, "metadata": {"page": 1}, "created_at": CREATED_AT,
    }, "textchunk", True)
    # a knowledge source's own key is what source_id points at
    [ks] = ms.map_event(main("c", "ApplicationAssistantFile", after={
        "id": 42, "applicationId": 11, "name": "doc.pdf", "displayName": None, "type": "FILE", "url": None,
        "size": 123456789012, "status": "COMPLETE", "ragMode": "CHUNKS", "lastRefreshedAt": None,
        "refreshIntervalHours": None, "metadata": None, "openaiFileId": "file-abc", "createdAt": CREATED,
        "updatedAt": UPDATED}))
    assert ks.key == (op.values["source_id"],)
    assert (ks.values["status"], ks.values["size_bytes"]) == ("COMPLETED", 123456789012)
    # an embedding of the wrong size fails the row instead of reaching pgvector
    short = pg_change("c", "textchunk", after={**row, "embedding": [0.1] * 1536}, prefix="chipp_embeddings",
                      db="chipp_embeddings")
    with pytest.raises(MappingError, match="3072"):
        ms.map_event(short)


def test_the_internal_issue_tracker_is_not_migrated(ms):
    issue = {"id": 1, "title": "bug", "description": None, "status": "OPEN", "priority": "LOW",
             "reporterEmail": None, "assigneeEmail": None, "applicationId": None, "labels": None,
             "createdAt": CREATED, "updatedAt": UPDATED}
    assert ms.map_event(pg_change("c", "chipp_issue", after=issue, prefix="chipp_embeddings",
                                  db="chipp_embeddings")) == []
