"""`validate` against the live catalogs of the real stack: the slice mapping fits its fixture
databases, and each planted drift (source, target or mapping side) is reported exactly."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from replicator.mapping.loader import load_mappings
from replicator.mapping.validate import CatalogUnavailable, Problem, source_params_from_env, validate
from replicator.stack.manager import REPO_ROOT
from replicator.stack.workspace import create_source_db, create_target_db, mysql

pytestmark = pytest.mark.stack

LEGACY_DDL = REPO_ROOT / "config" / "legacy" / "slice_main.sql"
TARGET_DDL = REPO_ROOT / "config" / "target" / "slice.sql"
SLICE = REPO_ROOT / "config" / "mappings" / "slice.yaml"
USERS_COLUMN = "          updated_at: {from: updatedAt, type: timestamptz}\n"


@pytest.fixture
def dbs(stack):
    src, tgt = create_source_db(stack, LEGACY_DDL), create_target_db(stack, [TARGET_DDL])
    yield src, tgt
    with mysql(stack) as conn, conn.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS `{src}`")
    with psycopg.connect(stack.postgres.dsn("postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{tgt}" WITH (FORCE)')


def source_sql(stack, src: str, *stmts: str) -> None:
    with mysql(stack, src) as conn, conn.cursor() as cur:
        for s in stmts:
            cur.execute(s)


def target_sql(stack, tgt: str, *stmts: str) -> None:
    with psycopg.connect(stack.postgres.dsn(tgt), autocommit=True) as conn:
        for s in stmts:
            conn.execute(s)


def variant(tmp_path: Path, add: str = "", replace: tuple[str, str] | None = None) -> Path:
    """slice.yaml with `add` appended to app.users' columns and/or one `replace` (old, new)."""
    text = SLICE.read_text()
    for old, new in ([replace] if replace else []) + ([(USERS_COLUMN, USERS_COLUMN + add)] if add else []):
        assert old in text, old
        text = text.replace(old, new, 1)
    path = tmp_path / "mapping.yaml"
    path.write_text(text)
    return path


def check(stack, src: str, tgt: str, mapping: Path = SLICE) -> list[Problem]:
    ms = load_mappings([mapping], {"LEGACY_MAIN_DATABASE": src})
    return validate(ms, source_params={"legacy_main": stack.mysql_params(src)}, target_dsn=stack.postgres.dsn(tgt))


def only(problems: list[Problem], kind: str, where: str) -> Problem:
    assert [(p.kind, p.where) for p in problems] == [(kind, where)], "\n".join(map(str, problems))
    return problems[0]


def test_slice_fits_its_databases(stack, dbs):
    assert check(stack, *dbs) == []


def test_new_source_column_is_unaccounted(stack, dbs):
    src, tgt = dbs
    source_sql(stack, src, "ALTER TABLE Developer ADD COLUMN githubHandle VARCHAR(64) NULL")
    p = only(check(stack, src, tgt), "source_column_unaccounted", "legacy_main.Developer")
    assert "githubHandle" in p.message and "githubHandle" in str(p)


def test_new_not_null_target_column_is_unproduced(stack, dbs):
    src, tgt = dbs
    # defaults, identity and generated columns are filled by PostgreSQL: not reported
    target_sql(stack, tgt, "ALTER TABLE app.users ADD COLUMN plan text NOT NULL DEFAULT 'free'",
               "ALTER TABLE app.users ADD COLUMN seq bigint GENERATED ALWAYS AS IDENTITY",
               "ALTER TABLE app.users ADD COLUMN email_domain text GENERATED ALWAYS AS (split_part(email, '@', 2)) STORED",
               "ALTER TABLE app.users ADD COLUMN _pos_developer bigint[] NOT NULL")
    assert check(stack, src, tgt) == []
    target_sql(stack, tgt, "ALTER TABLE app.users ADD COLUMN tenant text NOT NULL")
    only(check(stack, src, tgt), "not_null_unproduced", "legacy_main.Developer -> app.users.tenant")


def test_changed_target_type_is_incompatible(stack, dbs):
    src, tgt = dbs
    target_sql(stack, tgt, "ALTER TABLE app.users ALTER COLUMN has_completed_onboarding DROP DEFAULT",
               "ALTER TABLE app.users ALTER COLUMN has_completed_onboarding TYPE timestamptz USING NULL")
    p = only(check(stack, src, tgt), "type_incompatible", "legacy_main.Developer -> app.users.has_completed_onboarding")
    assert "boolean" in p.message


def test_tinyint_into_boolean_needs_a_declared_type(stack, dbs, tmp_path):
    src, tgt = dbs
    m = variant(tmp_path, replace=("has_completed_onboarding: {from: hasCompletedOnboarding, type: boolean}",
                                     "has_completed_onboarding: hasCompletedOnboarding"))
    p = only(check(stack, src, tgt, m), "type_incompatible", "legacy_main.Developer -> app.users.has_completed_onboarding")
    assert "type: boolean" in p.message


def test_fk_written_from_a_legacy_int_is_unmapped(stack, dbs, tmp_path):
    src, tgt = dbs
    target_sql(stack, tgt, "CREATE TABLE app.organizations (id uuid PRIMARY KEY, name text)",
               "ALTER TABLE app.users ADD COLUMN organization_id uuid REFERENCES app.organizations")
    source_sql(stack, src, "ALTER TABLE Developer ADD COLUMN organizationId INT NULL",
               "CREATE TABLE Organization (id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, name VARCHAR(191))")
    where = "legacy_main.Developer -> app.users.organization_id"
    p = only(check(stack, src, tgt, variant(tmp_path, add="          organization_id: {from: organizationId}\n")),
             "fk_unmapped", where)
    assert "organizationId" in p.message and "app.organizations" in p.message

    # a ref: to a legacy table whose mapping feeds another table: UUIDs from the wrong namespace
    wrong = variant(tmp_path, add="          organization_id: {ref: legacy_main.Developer, ref_column: organizationId}\n")
    only(check(stack, src, tgt, wrong), "fk_unmapped", where)

    # the right way: ref: to the legacy table that feeds app.organizations
    org = ("  - source: legacy_main\n    table: Organization\n    targets:\n      - table: app.organizations\n"
           "        columns:\n          id: {key: id}\n          name: name\n")
    right = variant(tmp_path, add="          organization_id: {ref: legacy_main.Organization, ref_column: organizationId}\n")
    right.write_text(right.read_text() + org)
    assert check(stack, src, tgt, right) == []


def test_mapping_reading_a_missing_source_column(stack, dbs, tmp_path):
    src, tgt = dbs
    m = variant(tmp_path, replace=("name: {function: display_name, args: [name, email]}",
                                     "name: {function: coalesce, args: [name, nickName]}"))
    p = only(check(stack, src, tgt, m), "missing_source_column", "legacy_main.Developer -> app.users.name")
    assert "nickName" in p.message


def test_enum_label_missing_in_postgres(stack, dbs, tmp_path):
    src, tgt = dbs
    source_sql(stack, src, "ALTER TABLE Developer ADD COLUMN status ENUM('active','banned','deleted') NULL")
    target_sql(stack, tgt, "CREATE TYPE app.user_status AS ENUM ('active', 'suspended')",
               "ALTER TABLE app.users ADD COLUMN status app.user_status")
    where = "legacy_main.Developer -> app.users.status"
    good = "          status: {from: status, type: enum, values: {active: active, banned: suspended, deleted: suspended}}\n"
    assert check(stack, src, tgt, variant(tmp_path, add=good)) == []
    bad = good.replace("deleted: suspended", "deleted: removed")
    p = only(check(stack, src, tgt, variant(tmp_path, add=bad)), "type_incompatible", where)
    assert "removed" in p.message
    # a source enum value the map forgets would fail at run time, row by row
    partial = good.replace(", deleted: suspended", "")
    p = only(check(stack, src, tgt, variant(tmp_path, add=partial)), "type_incompatible", where)
    assert "deleted" in p.message


def test_missing_tables_and_columns(stack, dbs, tmp_path):
    src, tgt = dbs
    target_sql(stack, tgt, "ALTER TABLE app.users DROP COLUMN username")
    only(check(stack, src, tgt), "missing_target_column", "legacy_main.Developer -> app.users.username")
    m = variant(tmp_path, replace=("table: app.users", "table: app.people"))
    only(check(stack, src, tgt, m), "missing_target_table", "legacy_main.Developer -> app.people")
    target_sql(stack, tgt, "ALTER TABLE app.users ADD COLUMN username text")
    source_sql(stack, src, "RENAME TABLE Developer TO Developers")
    p = only(check(stack, src, tgt, SLICE), "missing_source_table", "legacy_main.Developer")
    assert src in p.message


def test_unreadable_catalogs_raise(stack, dbs):
    src, tgt = dbs
    ms = load_mappings([SLICE], {"LEGACY_MAIN_DATABASE": src})
    params = {"legacy_main": stack.mysql_params(src)}
    with pytest.raises(CatalogUnavailable, match="legacy_main") as exc:
        validate(ms, source_params={"legacy_main": {**params["legacy_main"], "database": src + "_gone"}},
                 target_dsn=stack.postgres.dsn(tgt))
    assert exc.value.source == "legacy_main"
    with pytest.raises(CatalogUnavailable, match="target"):
        validate(ms, source_params=params, target_dsn=stack.postgres.dsn(tgt + "_gone"))
    with pytest.raises(CatalogUnavailable, match="legacy_main"):
        validate(ms, source_params={}, target_dsn=stack.postgres.dsn(tgt))


def test_source_params_from_env(stack, dbs):
    src, tgt = dbs
    ms = load_mappings([SLICE], {"LEGACY_MAIN_DATABASE": src})
    with pytest.raises(CatalogUnavailable, match="REPLICATOR_SOURCE_LEGACY_MAIN_DSN"):
        source_params_from_env(ms, {})
    with pytest.raises(CatalogUnavailable, match="scheme"):
        source_params_from_env(ms, {"REPLICATOR_SOURCE_LEGACY_MAIN_DSN": "postgresql://x@h/db"})
    p = stack.mysql_params()
    pw = p["password"]
    from urllib.parse import quote
    url = f"mysql://{p['user']}:{quote(pw, safe='')}@{p['host']}:{p['port']}"
    params = source_params_from_env(ms, {"REPLICATOR_SOURCE_LEGACY_MAIN_DSN": url})
    # no database in the URL: the mapping's (interpolated) database is used
    assert params == {"legacy_main": {**p, "database": src}}
    assert validate(ms, source_params=params, target_dsn=stack.postgres.dsn(tgt)) == []
    other = source_params_from_env(ms, {"REPLICATOR_SOURCE_LEGACY_MAIN_DSN": url + "/elsewhere"})
    assert other["legacy_main"]["database"] == "elsewhere"


def test_postgresql_source(stack, dbs, tmp_path):
    """The same checks with a PostgreSQL legacy database: catalog read from information_schema."""
    _, tgt = dbs
    legacy = create_target_db(stack, [])
    try:
        target_sql(stack, legacy, """CREATE TABLE "Developer" (
            id int PRIMARY KEY, email varchar(191) NOT NULL, name varchar(191), "pictureUrl" varchar(191),
            username varchar(191), "hasCompletedOnboarding" boolean NOT NULL DEFAULT false,
            "resetToken" text, "resetTokenExpiry" timestamp(3), "magicLinkToken" text, "stripeCustomerId" text,
            "createdAt" timestamp(3) NOT NULL DEFAULT now(), "updatedAt" timestamp(3) NOT NULL DEFAULT now())""")
        m = variant(tmp_path, replace=("    kind: mysql\n", "    kind: postgresql\n    schema: public\n"))
        ms = load_mappings([m], {"LEGACY_MAIN_DATABASE": legacy})
        params = source_params_from_env(ms, {"REPLICATOR_SOURCE_LEGACY_MAIN_DSN": stack.postgres.dsn("")})
        assert params == {"legacy_main": {"dsn": stack.postgres.dsn(legacy)}}
        # the default replica identity would stream NULLs for unchanged TOASTed columns
        p = only(validate(ms, source_params=params, target_dsn=stack.postgres.dsn(tgt)),
                 "source_replica_identity", "legacy_main.Developer")
        assert "REPLICA IDENTITY FULL" in p.message
        target_sql(stack, legacy, 'ALTER TABLE "Developer" REPLICA IDENTITY FULL')
        assert validate(ms, source_params=params, target_dsn=stack.postgres.dsn(tgt)) == []
        target_sql(stack, legacy, 'ALTER TABLE "Developer" ADD COLUMN "isAdmin" boolean')
        p = only(validate(ms, source_params=params, target_dsn=stack.postgres.dsn(tgt)),
                 "source_column_unaccounted", "legacy_main.Developer")
        assert "isAdmin" in p.message
    finally:
        with psycopg.connect(stack.postgres.dsn("postgres"), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{legacy}" WITH (FORCE)')
