"""Unit tests for the mapping loader and engine: YAML mappings in, TargetOps out.

Every mapping is written to a YAML file under tmp_path and loaded with
`load_mappings([path], env={})`, the same path the service takes.
"""

from __future__ import annotations

import json
import textwrap
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

import transforms
from builders import DEFAULT_TS_MS, developer_row, mysql_change, pg_change
from replicator.errors import ConfigError, MappingError, SchemaDriftError, UnknownTableError
from replicator.keys import remap_key
from replicator.mapping.engine import MappingSet, TargetOp
from replicator.mapping.loader import interpolate, load_file, load_mappings

UTC = timezone.utc
REPO = Path(__file__).resolve().parents[2]
EPOCH = datetime(1970, 1, 1)


def wall_ms(*args: int) -> int:
    """A DATETIME wall clock as Debezium's MySQL connector encodes it: epoch ms as if UTC."""
    return (datetime(*args) - EPOCH) // timedelta(milliseconds=1)


# test predicates, registered before any mapping is compiled (names unique to this module)
@transforms.predicate(name="test_engine_is_active")
def _is_active(row) -> bool:
    return row.get("status") == "active"


@transforms.predicate(name="test_engine_has_bio")
def _has_bio(row) -> bool:
    return bool(row.get("bio"))


MAIN_SOURCE = """\
version: 1
sources:
  legacy_main:
    kind: mysql
    topic_prefix: legacy_main
    database: legacy_main
    timezone: UTC
"""


def write(tmp_path: Path, text: str, name: str = "mapping.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def compile_yaml(tmp_path: Path, tables: str, *, sources: str = MAIN_SOURCE,
                 name: str = "mapping.yaml") -> MappingSet:
    """Compile one mapping file made of a `sources:` block and an indented `tables:` list."""
    text = sources + "tables:\n" + textwrap.indent(textwrap.dedent(tables), "  ")
    return load_mappings([write(tmp_path, text, name)], env={})


def dev_uuid(id_: int, namespace: str = "legacy_main") -> uuid.UUID:
    return remap_key(namespace, "Developer", id_)


# --- rename ------------------------------------------------------------------------------------


RENAME = """\
- source: legacy_main
  table: Developer
  dropped: [resetToken, resetTokenExpiry, magicLinkToken, stripeCustomerId]
  targets:
    - table: app.users
      columns:
        id: {key: id}
        email: email
        display: {from: name}
        picture_url: pictureUrl
        username: username
        onboarded: {from: hasCompletedOnboarding, type: boolean}
        created_at: {from: createdAt, type: timestamptz}
        updated_at: {from: updatedAt, type: timestamptz}
"""


def test_rename_table_and_columns(tmp_path):
    ms = compile_yaml(tmp_path, RENAME)
    row = developer_row(7, pictureUrl="https://x/p.png")
    ops = ms.map_event(mysql_change("c", "Developer", after=row, pos=900, row=2))
    assert ops == [TargetOp(
        table="app.users", kind="upsert", key=(dev_uuid(7),),
        values={"id": dev_uuid(7), "email": "Dev7@Example.com", "display": "Dev 7",
                "picture_url": "https://x/p.png", "username": "dev7", "onboarded": True,
                "created_at": datetime(2024, 1, 1, tzinfo=UTC),
                "updated_at": datetime(2024, 7, 1, 12, 0, 0, 123000, tzinfo=UTC)},
        contributor="developer", position=(3, 900, 2), legacy_key=(7,),
        source_table="legacy_main.Developer", creates_row=True, new_row=True)]


def test_topics_and_table_lookup(tmp_path):
    ms = compile_yaml(tmp_path, RENAME)
    assert ms.topics() == ["legacy_main.legacy_main.Developer"]
    assert set(ms.tables) == {"legacy_main.Developer"}
    assert set(ms.target_tables()) == {"app.users"}


def test_snapshot_read_maps_like_a_create(tmp_path):
    ms = compile_yaml(tmp_path, RENAME)
    row = developer_row(7)
    c = ms.map_event(mysql_change("c", "Developer", after=row))
    r = ms.map_event(mysql_change("r", "Developer", after=row, snapshot="true"))
    assert r == c


def test_the_real_slice_mapping(tmp_path):
    ms = load_mappings([REPO / "config" / "mappings" / "slice.yaml"], env={})
    row = developer_row(42, email="  Ada@Example.COM ", name="   ", hasCompletedOnboarding=0,
                        resetToken="secret", stripeCustomerId="cus_1")
    [op] = ms.map_event(mysql_change("u", "Developer", before=row, after=row))
    assert op.table == "app.users"
    assert op.key == (remap_key("legacy_main", "Developer", 42),)
    assert op.values == {
        "id": remap_key("legacy_main", "Developer", 42),
        "email": "ada@example.com",
        "name": "Ada",  # blank name: the part of the email before @
        "picture_url": None,
        "username": "dev42",
        "has_completed_onboarding": False,
        "created_at": datetime(2024, 1, 1, tzinfo=UTC),
        "updated_at": datetime(2024, 7, 1, 12, 0, 0, 123000, tzinfo=UTC),
    }
    [d] = ms.map_event(mysql_change("d", "Developer", before=row))
    assert (d.kind, d.key, d.values) == ("delete", op.key, {})


def test_slice_mapping_key_namespace_is_stable_across_database_names():
    ms = load_mappings([REPO / "config" / "mappings" / "slice.yaml"],
                       env={"LEGACY_MAIN_DATABASE": "legacy_main_test_17"})
    ev = mysql_change("c", "Developer", after=developer_row(42), db="legacy_main_test_17")
    [op] = ms.map_event(ev)
    assert op.key == (remap_key("legacy_main", "Developer", 42),)


# --- schema drift --------------------------------------------------------------------------------


def test_dropped_columns_are_accepted(tmp_path):
    ms = compile_yaml(tmp_path, RENAME)
    row = developer_row(7, resetToken="t", resetTokenExpiry=wall_ms(2024, 1, 2),
                        magicLinkToken="m", stripeCustomerId="cus_1")
    [op] = ms.map_event(mysql_change("c", "Developer", after=row))
    assert not {"resetToken", "magicLinkToken", "stripeCustomerId"} & set(op.values)


def test_new_unmapped_column_is_schema_drift(tmp_path):
    ms = compile_yaml(tmp_path, RENAME)
    row = developer_row(7, bio="hello")
    with pytest.raises(SchemaDriftError) as info:
        ms.map_event(mysql_change("c", "Developer", after=row, offset=99, partition=1))
    text = str(info.value)
    assert "legacy_main.Developer" in text
    assert "'bio'" in text
    assert "hello" not in text  # no row payloads in errors
    assert info.value.context["table"] == "legacy_main.Developer"
    assert info.value.context["topic"] == "legacy_main.legacy_main.Developer"
    assert info.value.context["partition"] == 1
    assert info.value.context["offset"] == 99


def test_drift_is_checked_on_delete_images_too(tmp_path):
    ms = compile_yaml(tmp_path, RENAME)
    with pytest.raises(SchemaDriftError, match="bio"):
        ms.map_event(mysql_change("d", "Developer", before=developer_row(7, bio=None)))


# --- conversions wired through the engine -------------------------------------------------------


BERLIN_SOURCE = """\
version: 1
sources:
  legacy_main:
    kind: mysql
    topic_prefix: legacy_main
    database: legacy_main
    timezone: Europe/Berlin
"""

CONVERSIONS = """\
- source: legacy_main
  table: Account
  targets:
    - table: app.accounts
      columns:
        id: {key: id}
        active: {from: active, type: boolean}
        created_at: {from: createdAt, type: timestamptz}
        plan: {from: plan, type: enum, values: {F: free, P: pro}}
        settings: {from: settings, type: json}
"""


def _account(**over):
    row = {"id": 1, "active": 1, "createdAt": wall_ms(2024, 7, 1, 12, 0), "plan": "P",
           "settings": '{"theme": "dark", "n": [1, 2]}'}
    row.update(over)
    return row


def test_conversions_boolean_enum_json(tmp_path):
    ms = compile_yaml(tmp_path, CONVERSIONS, sources=BERLIN_SOURCE)
    [op] = ms.map_event(mysql_change("c", "Account", after=_account()))
    assert op.values["active"] is True
    assert op.values["plan"] == "pro"
    assert op.values["settings"].obj == {"theme": "dark", "n": [1, 2]}
    [op] = ms.map_event(mysql_change("c", "Account", after=_account(active=0, plan="F",
                                                                     settings=None)))
    assert op.values["active"] is False
    assert op.values["plan"] == "free"
    assert op.values["settings"] is None


def test_timestamptz_reads_wall_clock_in_the_source_zone(tmp_path):
    ms = compile_yaml(tmp_path, CONVERSIONS, sources=BERLIN_SOURCE)
    summer = ms.map_event(mysql_change("c", "Account", after=_account()))[0]
    winter = ms.map_event(mysql_change("c", "Account",
                                       after=_account(createdAt=wall_ms(2024, 1, 15, 12, 0))))[0]
    assert summer.values["created_at"] == datetime(2024, 7, 1, 10, 0, tzinfo=UTC)  # CEST, +02
    assert winter.values["created_at"] == datetime(2024, 1, 15, 11, 0, tzinfo=UTC)  # CET, +01
    assert summer.values["created_at"].utcoffset() == timedelta(0)


def test_conversion_failure_is_a_mapping_error_with_position(tmp_path):
    ms = compile_yaml(tmp_path, CONVERSIONS, sources=BERLIN_SOURCE)
    with pytest.raises(MappingError) as info:
        ms.map_event(mysql_change("c", "Account", after=_account(plan="X"), offset=5))
    assert "app.accounts" in str(info.value)
    assert info.value.context["table"] == "legacy_main.Account"
    assert info.value.context["key"] == (1,)
    assert info.value.context["offset"] == 5


# --- keys and refs -----------------------------------------------------------------------------


def test_key_remap_uses_the_database_name_by_default(tmp_path):
    ms = compile_yaml(tmp_path, RENAME)
    [op] = ms.map_event(mysql_change("c", "Developer", after=developer_row(123)))
    assert op.key == (remap_key("legacy_main", "Developer", 123),)
    assert op.values["id"] == op.key[0]


def test_key_remap_uses_key_namespace_when_set(tmp_path):
    sources = """\
version: 1
sources:
  legacy_main:
    kind: mysql
    topic_prefix: legacy_main
    database: legacy_main_prod_eu
    key_namespace: legacy_main
"""
    ms = compile_yaml(tmp_path, RENAME, sources=sources)
    [op] = ms.map_event(mysql_change("c", "Developer", after=developer_row(123),
                                     db="legacy_main_prod_eu"))
    assert op.key == (remap_key("legacy_main", "Developer", 123),)
    assert op.key != (remap_key("legacy_main_prod_eu", "Developer", 123),)


TWO_SOURCES = """\
version: 1
sources:
  legacy_main:
    kind: mysql
    topic_prefix: legacy_main
    database: main_physical
    key_namespace: legacy_main
  legacy_chat:
    kind: postgresql
    topic_prefix: legacy_chat
    database: legacy_chat
    schema: public
"""

CROSS_REF = """\
- source: legacy_main
  table: Developer
  dropped: [email, name, pictureUrl, username, hasCompletedOnboarding, resetToken,
            resetTokenExpiry, magicLinkToken, stripeCustomerId, createdAt, updatedAt]
  targets:
    - table: app.users
      columns:
        id: {key: id}
- source: legacy_chat
  table: messages
  targets:
    - table: app.messages
      columns:
        id: {key: id}
        author_id: {ref: legacy_main.Developer, ref_column: author_id}
        body: body
"""


def test_ref_across_databases_equals_the_parents_remapped_id(tmp_path):
    ms = compile_yaml(tmp_path, CROSS_REF, sources=TWO_SOURCES)
    [parent] = ms.map_event(mysql_change("c", "Developer", after=developer_row(7),
                                         db="main_physical"))
    [child] = ms.map_event(pg_change("c", "messages",
                                     after={"id": 5, "author_id": 7, "body": "hi"}))
    assert child.values["author_id"] == parent.key[0]
    assert child.values["author_id"] == remap_key("legacy_main", "Developer", 7)
    # the child's own key is in its own source's namespace
    assert child.key == (remap_key("legacy_chat", "messages", 5),)
    assert child.source_table == "legacy_chat.messages"
    assert child.position == (24_023_928, 24_023_976)


def test_ref_null_stays_null(tmp_path):
    ms = compile_yaml(tmp_path, CROSS_REF, sources=TWO_SOURCES)
    [child] = ms.map_event(pg_change("c", "messages",
                                     after={"id": 5, "author_id": None, "body": "hi"}))
    assert child.values["author_id"] is None


def test_ref_to_an_unmapped_table_is_a_config_error(tmp_path):
    tables = """\
- source: legacy_main
  table: Post
  targets:
    - table: app.posts
      columns:
        id: {key: id}
        author_id: {ref: legacy_main.Developer, ref_column: authorId}
"""
    with pytest.raises(ConfigError) as info:
        compile_yaml(tmp_path, tables)
    text = str(info.value)
    assert "legacy_main.Developer" in text
    assert "no mapping covers" in text
    assert "app.posts.author_id" in text


def test_ref_to_an_unknown_source_is_a_config_error(tmp_path):
    tables = """\
- source: legacy_main
  table: Post
  targets:
    - table: app.posts
      columns:
        id: {key: id}
        author_id: {ref: legacy_nope.Developer, ref_column: authorId}
"""
    with pytest.raises(ConfigError, match="unknown source 'legacy_nope'"):
        compile_yaml(tmp_path, tables)


def test_ref_without_ref_column_is_a_config_error(tmp_path):
    tables = """\
- source: legacy_main
  table: Post
  targets:
    - table: app.posts
      columns:
        id: {key: id}
        author_id: {ref: legacy_main.Post}
"""
    with pytest.raises(ConfigError, match="ref_column"):
        compile_yaml(tmp_path, tables)


# --- const, default, functions --------------------------------------------------------------------


VALUES = """\
- source: legacy_main
  table: Developer
  dropped: [resetToken, resetTokenExpiry, magicLinkToken, stripeCustomerId, hasCompletedOnboarding,
            createdAt, updatedAt]
  targets:
    - table: app.users
      columns:
        id: {key: id}
        origin: {const: legacy_main}
        tier: {const: 3}
        picture_url: {from: pictureUrl, default: "https://cdn/default.png"}
        name: {function: display_name, args: [name, email]}
        handle: {function: coalesce, args: [username, email]}
"""


def test_const_default_and_functions(tmp_path):
    ms = compile_yaml(tmp_path, VALUES)
    [op] = ms.map_event(mysql_change("c", "Developer", after=developer_row(
        1, name=" Ada Lovelace ", pictureUrl="https://x/a.png", username="ada")))
    assert op.values["origin"] == "legacy_main"
    assert op.values["tier"] == 3
    assert op.values["picture_url"] == "https://x/a.png"
    assert op.values["name"] == "Ada Lovelace"
    assert op.values["handle"] == "ada"


def test_default_replaces_null_and_functions_fall_back(tmp_path):
    ms = compile_yaml(tmp_path, VALUES)
    [op] = ms.map_event(mysql_change("c", "Developer", after=developer_row(
        1, name=None, email="grace@navy.mil", pictureUrl=None, username=None)))
    assert op.values["picture_url"] == "https://cdn/default.png"
    assert op.values["name"] == "grace"
    assert op.values["handle"] == "grace@navy.mil"


def test_function_args_count_as_known_columns(tmp_path):
    # name/email/username are read only through function args: no drift
    ms = compile_yaml(tmp_path, VALUES)
    assert {"name", "email", "username", "pictureUrl", "id"} <= ms.tables["legacy_main.Developer"].known_columns


def test_unknown_function_is_a_config_error(tmp_path):
    tables = """\
- source: legacy_main
  table: Developer
  targets:
    - table: app.users
      columns:
        id: {key: id}
        name: {function: no_such_transform, args: [name]}
"""
    with pytest.raises(ConfigError, match="'no_such_transform' is not a registered column function"):
        compile_yaml(tmp_path, tables)


def test_predicate_used_as_a_column_function_is_a_config_error(tmp_path):
    tables = """\
- source: legacy_main
  table: Developer
  targets:
    - table: app.users
      columns:
        id: {key: id}
        name: {function: always, args: [name]}
"""
    with pytest.raises(ConfigError, match="'always' is not a registered column function"):
        compile_yaml(tmp_path, tables)


# --- deletes: soft, hard, ignore, skip ---------------------------------------------------------


SOFT_FLAG = """\
- source: legacy_main
  table: Project
  targets:
    - table: app.projects
      columns:
        id: {key: id}
        title: title
      soft_delete: {flag: isDeleted, at: updatedAt}
      on_delete: soft
"""


def _project(**over):
    row = {"id": 3, "title": "P", "isDeleted": 0, "updatedAt": wall_ms(2024, 5, 6, 7, 8, 9)}
    row.update(over)
    return row


def test_soft_delete_flag_set_gives_deleted_at_from_the_at_column(tmp_path):
    ms = compile_yaml(tmp_path, SOFT_FLAG)
    [op] = ms.map_event(mysql_change("u", "Project", before=_project(), after=_project(isDeleted=1)))
    assert op.kind == "upsert"
    assert op.values == {"id": remap_key("legacy_main", "Project", 3), "title": "P",
                         "deleted_at": datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)}


def test_soft_delete_flag_clear_gives_null_deleted_at(tmp_path):
    ms = compile_yaml(tmp_path, SOFT_FLAG)
    [op] = ms.map_event(mysql_change("u", "Project", before=_project(isDeleted=1),
                                     after=_project(isDeleted=0)))
    assert op.values["deleted_at"] is None


def test_soft_delete_flag_set_without_time_uses_the_commit_time(tmp_path):
    ms = compile_yaml(tmp_path, SOFT_FLAG)
    [op] = ms.map_event(mysql_change("u", "Project", after=_project(isDeleted=1, updatedAt=None),
                                     ts_ms=1_700_000_000_000))
    assert op.values["deleted_at"] == datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)


def test_hard_delete_of_a_soft_delete_table_stamps_the_commit_time(tmp_path):
    ms = compile_yaml(tmp_path, SOFT_FLAG)
    [op] = ms.map_event(mysql_change("d", "Project", before=_project(isDeleted=0),
                                     ts_ms=1_700_000_000_000))
    assert op.kind == "upsert"
    assert op.key == (remap_key("legacy_main", "Project", 3),)
    assert op.values["deleted_at"] == datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)
    # only the key and the deletion time: the other columns keep their last streamed state
    assert set(op.values) == {"id", "deleted_at"} and op.creates_row is False


def test_hard_delete_of_an_already_soft_deleted_row_keeps_its_deletion_time(tmp_path):
    ms = compile_yaml(tmp_path, SOFT_FLAG)
    [op] = ms.map_event(mysql_change("d", "Project", before=_project(isDeleted=1),
                                     ts_ms=1_700_000_000_000))
    assert op.values["deleted_at"] == datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)


SOFT_STATUS = """\
- source: legacy_main
  table: Project
  targets:
    - table: app.projects
      columns:
        id: {key: id}
        title: title
      soft_delete: {status_column: state, statuses: [ARCHIVED, DELETED]}
"""


@pytest.mark.parametrize("state,deleted", [("ACTIVE", False), ("ARCHIVED", True), ("DELETED", True),
                                           (None, False)])
def test_soft_delete_by_status(tmp_path, state, deleted):
    ms = compile_yaml(tmp_path, SOFT_STATUS)
    [op] = ms.map_event(mysql_change("u", "Project", after={"id": 3, "title": "P", "state": state},
                                     ts_ms=DEFAULT_TS_MS))
    expected = datetime(2024, 7, 1, 12, 0, tzinfo=UTC) if deleted else None
    assert op.values["deleted_at"] == expected
    assert "state" not in op.values


def test_soft_delete_by_integer_status_code(tmp_path):
    ms = compile_yaml(tmp_path, SOFT_STATUS.replace("[ARCHIVED, DELETED]", '["9"]'))
    [op] = ms.map_event(mysql_change("u", "Project", after={"id": 3, "title": "P", "state": 9},
                                     ts_ms=DEFAULT_TS_MS))
    assert op.values["deleted_at"] == datetime(2024, 7, 1, 12, 0, tzinfo=UTC)


def _on_delete(rule: str) -> str:
    return f"""\
- source: legacy_main
  table: Project
  targets:
    - table: app.projects
      columns:
        id: {{key: id}}
        title: title
      on_delete: {rule}
"""


def test_on_delete_soft_stamps_deleted_at_with_the_commit_time(tmp_path):
    ms = compile_yaml(tmp_path, _on_delete("soft"))
    [op] = ms.map_event(mysql_change("d", "Project", before={"id": 3, "title": "P"},
                                     ts_ms=1_700_000_000_123, pos=55))
    assert op == TargetOp("app.projects", "upsert", (remap_key("legacy_main", "Project", 3),),
                          {"id": remap_key("legacy_main", "Project", 3),
                           "deleted_at": datetime(2023, 11, 14, 22, 13, 20, 123000, tzinfo=UTC)},
                          "project", (3, 55, 0), (3,), "legacy_main.Project", False)


def test_on_delete_hard_gives_a_delete(tmp_path):
    ms = compile_yaml(tmp_path, _on_delete("hard"))
    [op] = ms.map_event(mysql_change("d", "Project", before={"id": 3, "title": "P"}, pos=55))
    assert op == TargetOp("app.projects", "delete", (remap_key("legacy_main", "Project", 3),), {},
                          "project", (3, 55, 0), (3,), "legacy_main.Project", True)


def test_on_delete_ignore_gives_nothing(tmp_path):
    ms = compile_yaml(tmp_path, _on_delete("ignore"))
    assert ms.map_event(mysql_change("d", "Project", before={"id": 3, "title": "P"})) == []
    # inserts still flow
    assert len(ms.map_event(mysql_change("c", "Project", after={"id": 3, "title": "P"}))) == 1


def test_on_delete_soft_reads_only_the_key_of_the_before_image(tmp_path):
    # a PostgreSQL delete carries only the key (default replica identity): other columns
    # of the before-image, even unconvertible ones, are not read
    tables = """\
- source: legacy_main
  table: Project
  targets:
    - table: app.projects
      columns:
        id: {key: id}
        done: {from: done, type: boolean}
      on_delete: soft
"""
    ms = compile_yaml(tmp_path, tables)
    [op] = ms.map_event(mysql_change("d", "Project", before={"id": 3, "done": "maybe"}, offset=8))
    assert set(op.values) == {"id", "deleted_at"}


SKIP = """\
- source: legacy_main
  table: Session
  skip: true
  skip_reason: sessions are re-created by the new auth provider
"""


def test_skip_table_gives_no_ops(tmp_path):
    ms = compile_yaml(tmp_path, SKIP)
    tm = ms.tables["legacy_main.Session"]
    assert tm.map_row("c", {"id": 1, "token": "x"}) == []
    assert tm.map_row("d", {"id": 1, "token": "x"}) == []
    assert ms.map_event(mysql_change("c", "Session", after={"id": 1})) == []


def test_skip_table_events_with_columns_are_discarded(tmp_path):
    ms = compile_yaml(tmp_path, SKIP)
    ev = mysql_change("c", "Session", after={"id": 1, "token": "x", "expires": 5})
    assert ms.map_event(ev) == []


# --- filters -------------------------------------------------------------------------------------


FILTERED = """\
- source: legacy_main
  table: Project
  filter: test_engine_is_active
  targets:
    - table: app.projects
      columns:
        id: {key: id}
        title: title
        status: status
"""


def test_table_filter_passes_matching_rows(tmp_path):
    ms = compile_yaml(tmp_path, FILTERED)
    [op] = ms.map_event(mysql_change("c", "Project", after={"id": 1, "title": "P", "status": "active"}))
    assert op.kind == "upsert"
    assert op.values["title"] == "P"


def test_table_filter_never_writes_rows_it_rejects(tmp_path):
    ms = compile_yaml(tmp_path, FILTERED)
    row = {"id": 1, "title": "P", "status": "draft"}
    for op in ("c", "r"):
        ops = ms.map_event(mysql_change(op, "Project", after=row))
        assert [o for o in ops if o.kind == "upsert"] == []


def test_row_leaving_the_table_filter_is_deleted_from_the_target(tmp_path):
    ms = compile_yaml(tmp_path, FILTERED)
    ops = ms.map_event(mysql_change("u", "Project", before={"id": 1, "title": "P", "status": "active"},
                                    after={"id": 1, "title": "P", "status": "archived"}))
    assert [(o.kind, o.key) for o in ops] == [("delete", (remap_key("legacy_main", "Project", 1),))]


def test_delete_of_a_filtered_table_is_not_filtered(tmp_path):
    ms = compile_yaml(tmp_path, FILTERED)
    ops = ms.map_event(mysql_change("d", "Project", before={"id": 1, "title": "P", "status": "draft"}))
    assert [o.kind for o in ops] == ["delete"]


def test_always_filter_from_transforms_common(tmp_path):
    ms = compile_yaml(tmp_path, FILTERED.replace("test_engine_is_active", "always"))
    ops = ms.map_event(mysql_change("c", "Project", after={"id": 1, "title": "P", "status": "draft"}))
    assert [o.kind for o in ops] == ["upsert"]


def test_filter_that_is_not_a_predicate_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="'coalesce' is not a registered predicate"):
        compile_yaml(tmp_path, FILTERED.replace("test_engine_is_active", "coalesce"))


SPLIT = """\
- source: legacy_main
  table: Developer
  dropped: [resetToken, resetTokenExpiry, magicLinkToken, stripeCustomerId, hasCompletedOnboarding,
            createdAt, updatedAt, username, pictureUrl]
  targets:
    - table: app.users
      columns:
        id: {key: id}
        email: email
    - table: app.profiles
      key: [user_id]
      filter: test_engine_has_bio
      columns:
        user_id: {key: id}
        display_name: name
        bio: bio
"""


def test_split_one_row_into_two_target_tables(tmp_path):
    ms = compile_yaml(tmp_path, SPLIT)
    row = developer_row(4, bio="likes tea")
    del row["username"], row["pictureUrl"]
    users, profiles = ms.map_event(mysql_change("c", "Developer", after=row))
    u = dev_uuid(4)
    assert (users.table, users.key, users.values) == ("app.users", (u,), {"id": u, "email": "Dev4@Example.com"})
    assert (profiles.table, profiles.key, profiles.values) == (
        "app.profiles", (u,), {"user_id": u, "display_name": "Dev 4", "bio": "likes tea"})
    assert users.position == profiles.position == (3, 1234, 0)


def test_target_filter_applies_to_its_target_only(tmp_path):
    ms = compile_yaml(tmp_path, SPLIT)
    row = developer_row(4, bio="")
    ops = ms.map_event(mysql_change("u", "Developer", before=row, after=row))
    upserts = [(o.table, o.kind) for o in ops if o.kind == "upsert"]
    assert upserts == [("app.users", "upsert")]
    # a row that no longer passes a target's filter is removed from that target
    assert [(o.table, o.kind) for o in ops if o.table == "app.profiles"] == [("app.profiles", "delete")]


def test_split_delete_deletes_both(tmp_path):
    ms = compile_yaml(tmp_path, SPLIT)
    ops = ms.map_event(mysql_change("d", "Developer", before=developer_row(4, bio="x")))
    assert [(o.table, o.kind, o.key) for o in ops] == [("app.users", "delete", (dev_uuid(4),)),
                                                      ("app.profiles", "delete", (dev_uuid(4),))]


# --- merge ------------------------------------------------------------------------------------------


MERGE = """\
- source: legacy_main
  table: Developer
  dropped: [resetToken, resetTokenExpiry, magicLinkToken, stripeCustomerId, hasCompletedOnboarding,
            createdAt, updatedAt, username, pictureUrl, name]
  targets:
    - table: app.users
      contributor: account
      columns:
        id: {key: id}
        email: email
- source: legacy_main
  table: DeveloperSettings
  targets:
    - table: app.users
      contributor: settings
      creates_row: false
      on_delete: clear
      columns:
        id: {ref: legacy_main.Developer, ref_column: developerId}
        theme: theme
        locale: {from: locale, default: en}
"""


def _dev(id_: int) -> dict:
    return {"id": id_, "email": f"d{id_}@x.io"}


def test_merge_contributors_write_only_their_own_columns(tmp_path):
    ms = compile_yaml(tmp_path, MERGE)
    [a] = ms.map_event(mysql_change("c", "Developer", after=_dev(7)))
    [s] = ms.map_event(mysql_change("c", "DeveloperSettings",
                                    after={"id": 70, "developerId": 7, "theme": "dark", "locale": None}))
    assert a.table == s.table == "app.users"
    assert a.key == s.key == (dev_uuid(7),)
    assert (a.contributor, a.creates_row) == ("account", True)
    assert (s.contributor, s.creates_row) == ("settings", False)
    assert a.values == {"id": dev_uuid(7), "email": "d7@x.io"}
    assert s.values == {"id": dev_uuid(7), "theme": "dark", "locale": "en"}
    assert s.legacy_key == (70,)
    assert s.source_table == "legacy_main.DeveloperSettings"


def test_merge_owned_columns(tmp_path):
    ms = compile_yaml(tmp_path, MERGE)
    feeds = {t.contributor: t for t in ms.target_tables()["app.users"]}
    assert feeds["account"].owned == ("email",)
    assert feeds["settings"].owned == ("theme", "locale")


def test_merge_on_delete_clear(tmp_path):
    ms = compile_yaml(tmp_path, MERGE)
    [op] = ms.map_event(mysql_change("d", "DeveloperSettings",
                                     before={"id": 70, "developerId": 7, "theme": "dark", "locale": "de"},
                                     pos=77))
    assert op == TargetOp("app.users", "clear", (dev_uuid(7),), {"theme": None, "locale": None},
                          "settings", (3, 77, 0), (70,), "legacy_main.DeveloperSettings", False)


def test_two_feeds_writing_the_same_column_is_a_config_error(tmp_path):
    tables = MERGE.replace("        theme: theme\n", "        email: theme\n")
    with pytest.raises(ConfigError) as info:
        compile_yaml(tmp_path, tables)
    text = str(info.value)
    assert "app.users.email" in text
    assert "also written by" in text


def test_duplicate_contributor_is_a_config_error(tmp_path):
    tables = MERGE.replace("contributor: settings", "contributor: account")
    with pytest.raises(ConfigError, match="contributor 'account' is also used by legacy_main.Developer"):
        compile_yaml(tmp_path, tables)


def test_default_contributors_of_two_feeds_are_distinct(tmp_path):
    tables = MERGE.replace("      contributor: account\n", "").replace("      contributor: settings\n", "")
    ms = compile_yaml(tmp_path, tables)
    assert {t.contributor for t in ms.target_tables()["app.users"]} == {"developer", "developersettings"}


def test_contributors_whose_position_columns_collide_are_a_config_error(tmp_path):
    tables = MERGE.replace("contributor: account", "contributor: dev-settings").replace(
        "contributor: settings", "contributor: dev_settings")
    with pytest.raises(ConfigError):
        compile_yaml(tmp_path, tables)


# --- union -------------------------------------------------------------------------------------------


UNION = """\
- source: legacy_main
  table: ApiIntegration
  targets:
    - table: app.integrations
      union: true
      columns:
        id: {key: id}
        type: {const: api}
        name: name
- source: legacy_main
  table: SlackInstallation
  targets:
    - table: app.integrations
      union: true
      columns:
        id: {key: id}
        type: {const: slack}
        name: {from: teamName, default: Slack}
        config: {pack: {team_id: teamId}}
"""


def test_union_feeds_may_write_the_same_columns_of_distinct_rows(tmp_path):
    ms = compile_yaml(tmp_path, UNION)
    [a] = ms.map_event(mysql_change("c", "ApiIntegration", after={"id": 1, "name": "k"}))
    [s] = ms.map_event(mysql_change("c", "SlackInstallation", after={"id": 1, "teamName": None, "teamId": "T1"}))
    assert a.table == s.table == "app.integrations"
    assert a.key != s.key  # the same legacy id, distinct UUID namespaces
    assert (a.contributor, s.contributor) == ("apiintegration", "slackinstallation")
    assert a.creates_row and s.creates_row
    assert (a.values["type"], s.values["type"], s.values["name"]) == ("api", "slack", "Slack")
    [d] = ms.map_event(mysql_change("d", "SlackInstallation", before={"id": 1, "teamName": None, "teamId": "T1"}))
    assert (d.kind, d.key, d.contributor) == ("delete", s.key, "slackinstallation")
    feeds = ms.target_tables()["app.integrations"]
    assert all(t.spec.union for t in feeds)


def test_overlapping_creating_feeds_without_union_are_an_error_that_says_union(tmp_path):
    with pytest.raises(ConfigError) as info:
        compile_yaml(tmp_path, UNION.replace("      union: true\n", "", 1))
    text = str(info.value)
    assert "app.integrations.name is also written by" in text or "app.integrations.type is also written by" in text
    assert "mark them all `union: true`" in text
    with pytest.raises(ConfigError, match="mark them all `union: true`"):
        compile_yaml(tmp_path, UNION.replace("      union: true\n", ""))


def test_union_feeds_still_need_distinct_contributors(tmp_path):
    tables = UNION.replace("      union: true\n", "      union: true\n      contributor: integ\n")
    with pytest.raises(ConfigError, match="contributor 'integ' is also used by"):
        compile_yaml(tmp_path, tables)


def test_a_union_feed_must_create_rows(tmp_path):
    tables = UNION.replace("      union: true\n", "      union: true\n      creates_row: false\n", 1)
    with pytest.raises(ConfigError, match="union"):
        compile_yaml(tmp_path, tables)


def test_a_merge_contributor_of_a_union_table_must_not_write_a_union_feeds_columns(tmp_path):
    follower = """\
- source: legacy_main
  table: IntegrationStats
  targets:
    - table: app.integrations
      contributor: stats
      creates_row: false
      on_delete: clear
      columns:
        id: {ref: legacy_main.SlackInstallation, ref_column: installationId}
        {col}: {from: uses, type: int}
"""
    ms = compile_yaml(tmp_path, UNION + follower.replace("{col}", "uses"))
    assert {t.contributor for t in ms.target_tables()["app.integrations"]} == \
        {"apiintegration", "slackinstallation", "stats"}
    with pytest.raises(ConfigError) as info:
        compile_yaml(tmp_path, UNION + follower.replace("{col}", "name"))
    assert "app.integrations.name is also written by" in str(info.value)
    assert "a union feed and a merge contributor must not write the same columns" in str(info.value)


def test_composite_key_order_is_the_same_for_upsert_and_delete(tmp_path):
    tables = """\
- source: legacy_main
  table: Membership
  key: [orgId, userId]
  targets:
    - table: app.memberships
      key: [user_id, org_id]
      columns:
        org_id: orgId
        user_id: userId
        role: role
"""
    ms = compile_yaml(tmp_path, tables)
    row = {"orgId": 1, "userId": 2, "role": "admin"}
    [up] = ms.map_event(mysql_change("c", "Membership", after=row))
    [de] = ms.map_event(mysql_change("d", "Membership", before=row))
    assert up.key == (2, 1)
    assert de.key == up.key


# --- loader errors -----------------------------------------------------------------------------


def test_unknown_key_names_file_table_and_key(tmp_path):
    text = MAIN_SOURCE + textwrap.dedent("""\
        tables:
          - source: legacy_main
            table: Developer
            droped: [resetToken]
            targets:
              - table: app.users
                columns:
                  id: {key: id}
        """)
    path = write(tmp_path, text, "typo.yaml")
    with pytest.raises(ConfigError) as info:
        load_mappings([path], env={})
    text = str(info.value)
    assert str(path) in text
    assert "legacy_main.Developer" in text
    assert "droped" in text
    assert "unknown key" in text


def test_unknown_key_in_a_column_spec(tmp_path):
    text = MAIN_SOURCE + textwrap.dedent("""\
        tables:
          - source: legacy_main
            table: Developer
            targets:
              - table: app.users
                columns:
                  id: {key: id}
                  email: {form: email}
        """)
    path = write(tmp_path, text, "typo2.yaml")
    with pytest.raises(ConfigError) as info:
        load_file(path, env={})
    text = str(info.value)
    assert str(path) in text
    assert "legacy_main.Developer" in text
    assert "form" in text


def test_unknown_conversion_type_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match=r"columns\.onboarded\..*type: Input should be 'none'"):
        compile_yaml(tmp_path, RENAME.replace("type: boolean", "type: money"))


def test_unqualified_target_table_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="schema-qualified"):
        compile_yaml(tmp_path, RENAME.replace("table: app.users", "table: users"))


def test_invalid_yaml_is_a_config_error(tmp_path):
    path = write(tmp_path, "version: 1\ntables: [\n", "broken.yaml")
    with pytest.raises(ConfigError, match="not valid YAML") as info:
        load_mappings([path], env={})
    assert str(path) in str(info.value)


def test_interpolation_with_default_and_set_value():
    assert interpolate("db: ${DB:-legacy_main}", {}, "f.yaml") == "db: legacy_main"
    assert interpolate("db: ${DB:-legacy_main}", {"DB": "prod"}, "f.yaml") == "db: prod"
    assert interpolate("db: ${DB:-}", {}, "f.yaml") == "db: "
    assert interpolate("a ${X} b ${Y:-y}", {"X": "x"}, "f.yaml") == "a x b y"


def test_interpolation_missing_variable_names_it_and_the_file():
    with pytest.raises(ConfigError) as info:
        interpolate("db: ${LEGACY_DB}", {}, "conf/m.yaml")
    assert "conf/m.yaml" in str(info.value)
    assert "${LEGACY_DB}" in str(info.value)


def test_interpolation_through_the_loader(tmp_path):
    text = MAIN_SOURCE.replace("database: legacy_main", "database: ${MAIN_DB:-legacy_main}")
    text += "tables:\n" + textwrap.indent(RENAME, "  ")
    path = write(tmp_path, text)
    assert load_mappings([path], env={}).sources["legacy_main"].database == "legacy_main"
    ms = load_mappings([path], env={"MAIN_DB": "legacy_main_e2e"})
    assert ms.sources["legacy_main"].database == "legacy_main_e2e"
    assert ms.topics() == ["legacy_main.legacy_main_e2e.Developer"]
    no_default = write(tmp_path, text.replace("${MAIN_DB:-legacy_main}", "${MAIN_DB}"), "nd.yaml")
    with pytest.raises(ConfigError, match=r"nd\.yaml: \$\{MAIN_DB\} is not set"):
        load_mappings([no_default], env={})


def test_unknown_source_name(tmp_path):
    with pytest.raises(ConfigError) as info:
        compile_yaml(tmp_path, RENAME.replace("source: legacy_main", "source: legacy_mian"))
    assert "source 'legacy_mian' is not defined" in str(info.value)
    assert "legacy_mian.Developer" in str(info.value)


def test_unknown_time_zone(tmp_path):
    sources = MAIN_SOURCE.replace("timezone: UTC", "timezone: Mars/Olympus_Mons")
    with pytest.raises(ConfigError, match="unknown time zone 'Mars/Olympus_Mons'"):
        compile_yaml(tmp_path, RENAME, sources=sources)


def test_table_mapped_twice_across_files(tmp_path):
    a = write(tmp_path, MAIN_SOURCE + "tables:\n" + textwrap.indent(RENAME, "  "), "a.yaml")
    b = write(tmp_path, MAIN_SOURCE + "tables:\n" + textwrap.indent(RENAME, "  "), "b.yaml")
    with pytest.raises(ConfigError, match="mapped twice"):
        load_mappings([a, b], env={})


def test_source_defined_differently_in_two_files(tmp_path):
    a = write(tmp_path, MAIN_SOURCE, "a.yaml")
    b = write(tmp_path, MAIN_SOURCE.replace("timezone: UTC", "timezone: Europe/Berlin"), "b.yaml")
    with pytest.raises(ConfigError, match="defined differently"):
        load_mappings([a, b], env={})


def test_directory_of_mapping_files(tmp_path):
    write(tmp_path, MAIN_SOURCE, "00-sources.yaml")
    write(tmp_path, "version: 1\ntables:\n" + textwrap.indent(RENAME, "  "), "10-developer.yml")
    ms = load_mappings([tmp_path], env={})
    assert set(ms.tables) == {"legacy_main.Developer"}


# --- unknown tables ------------------------------------------------------------------------------


def test_unknown_table_names_topic_partition_offset(tmp_path):
    ms = compile_yaml(tmp_path, RENAME)
    with pytest.raises(UnknownTableError) as info:
        ms.map_event(mysql_change("c", "Invoice", after={"id": 1}, partition=3, offset=1001))
    text = str(info.value)
    assert "legacy_main.Invoice" in text
    assert "topic=legacy_main.legacy_main.Invoice" in text
    assert "partition=3" in text
    assert "offset=1001" in text


def test_same_table_name_in_another_database_is_unknown(tmp_path):
    ms = compile_yaml(tmp_path, RENAME)
    with pytest.raises(UnknownTableError):
        ms.map_event(mysql_change("c", "Developer", after=developer_row(1), db="other_db"))


def test_pack_several_columns_into_one_jsonb_column(tmp_path):
    from psycopg.types.json import Jsonb

    path = tmp_path / "pack.yaml"
    path.write_text("""
version: 1
sources:
  main: {kind: mysql, topic_prefix: main, database: main}
tables:
  - source: main
    table: Application
    dropped: []
    targets:
      - table: app.applications
        columns:
          id: {key: id}
          rag_config:
            pack: {relevance_threshold: ragRelevanceThreshold, max_chunks: ragMaxChunks}
""")
    from replicator.mapping.loader import load_mappings

    ms = load_mappings([path], env={})
    tm = ms.tables["main.Application"]
    [op] = tm.map_row("c", {"id": 1, "ragRelevanceThreshold": 0.7, "ragMaxChunks": 10})
    assert isinstance(op.values["rag_config"], Jsonb)
    assert op.values["rag_config"].obj == {"relevance_threshold": 0.7, "max_chunks": 10}
    # packed source columns count as mapped: no drift
    tm.check_drift({"id": 1, "ragRelevanceThreshold": 0.7, "ragMaxChunks": 10})


def test_a_schema_change_adding_an_unmapped_column_is_drift_before_any_row(tmp_path):
    from replicator.errors import SchemaDriftError
    from replicator.events import decode_message

    ms = load_mappings([REPO / "config" / "mappings"], env={"LEGACY_MAIN_DATABASE": "legacy_main"})
    cols = ["id", "email", "name", "pictureUrl", "username", "hasCompletedOnboarding", "resetToken",
            "resetTokenExpiry", "magicLinkToken", "stripeCustomerId", "createdAt", "updatedAt"]

    def ddl(columns):
        env = {"source": {"connector": "mysql", "name": "legacy_main", "db": "legacy_main"},
               "databaseName": "legacy_main", "ddl": "ALTER TABLE Developer ...",
               "tableChanges": [{"type": "ALTER", "id": '"legacy_main"."Developer"',
                                 "table": {"columns": [{"name": c} for c in columns]}}]}
        return decode_message("legacy_main", 0, 9, None, json.dumps(env).encode())

    ms.check_schema_change(ddl(cols))  # the mapped shape: fine
    with pytest.raises(SchemaDriftError) as info:
        ms.check_schema_change(ddl(cols + ["githubHandle"]))
    assert "githubHandle" in str(info.value) and "legacy_main.Developer" in str(info.value)
    with pytest.raises(SchemaDriftError) as info:
        ms.check_schema_change(ddl([c for c in cols if c != "email"]))
    assert "no longer in the source: ['email']" in str(info.value)
    # another database on the same connector is not ours
    other = ddl(cols + ["x"])
    ms.check_schema_change(other._replace(database="other"))


def test_the_generated_upsert_path_equals_the_general_path_on_any_row():
    """Random Developer images (right types, wrong types, missing columns) through the
    slice mapping: the generated path gives what map_row's general path gives, or the same
    MappingError."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from builders import general_path_only
    from replicator.mapping.loader import load_mappings

    fast = load_mappings([Path(__file__).resolve().parents[2] / "config" / "mappings"], env={})
    general = general_path_only(fast)
    value = st.one_of(st.none(), st.integers(-2**40, 2**40), st.text(max_size=8), st.booleans())
    cols = ["id", "email", "name", "pictureUrl", "username", "hasCompletedOnboarding", "createdAt", "updatedAt"]

    def outcome(ms, op, row):
        try:
            return ms.tables["legacy_main.Developer"].map_row(op, row, (3, 9, 0), 1_700_000_000_000)
        except MappingError as exc:
            return ("error", exc.message, exc.context.get("table"), exc.context.get("key"))

    @settings(max_examples=300, deadline=None)
    @given(st.sampled_from("cur"), st.dictionaries(st.sampled_from(cols), value),
           st.integers(1, 2**31), st.emails(), st.integers(0, 2**41))
    def check(op, extra, key, email, ts):
        row = {"id": key, "email": email, "name": "N", "pictureUrl": None, "username": "u",
               "hasCompletedOnboarding": 1, "createdAt": ts, "updatedAt": ts, **extra}
        assert outcome(fast, op, row) == outcome(general, op, row)

    check()


def test_an_inlined_common_case_equals_the_converter_on_any_value():
    """Converters whose common case the compiled mapping evaluates in place of a call
    (mapping/inline.py): for any value, the generated expression gives what the converter
    gives, or raises what it raises."""
    from zoneinfo import ZoneInfo

    from hypothesis import given, settings
    from hypothesis import strategies as st

    from replicator.keys import KEY_LIMIT, key_remapper
    from replicator.mapping.convert import get_converter
    from replicator.mapping.engine import _Codegen

    converters = {
        "timestamptz utc ms": get_converter("timestamptz", tz=ZoneInfo("UTC")),
        "timestamptz utc ms, Etc/UTC": get_converter("timestamptz", tz=ZoneInfo("Etc/UTC")),
        "boolean": get_converter("boolean"),
        "key remap": key_remapper("legacy_main", "Developer"),
    }
    compiled = {}
    for name, conv in converters.items():
        assert conv.inline is not None, name
        code = _Codegen("_p")
        compiled[name] = code.function(f"inline {name}", "x", code.inline(conv.inline, "x", code.bind(conv)))
    # no inline case where it would not be exact: other zones, other precisions
    assert getattr(get_converter("timestamptz", tz=ZoneInfo("Europe/Paris")), "inline", None) is None
    assert getattr(get_converter("timestamptz", tz=ZoneInfo("UTC"), options={"precision": "us"}), "inline", None) is None

    def outcome(fn, v):
        try:
            return ("ok", fn(v))
        except Exception as exc:  # noqa: BLE001 - the same refusal is part of equality
            return ("error", type(exc), str(exc))

    edges = st.sampled_from([0, 1, -1, 2**42 - 1, 2**42, -2**42, -2**42 + 1, KEY_LIMIT - 1, KEY_LIMIT, 2**63, -2**63])
    value = st.one_of(st.none(), st.booleans(), edges, st.integers(), st.integers(-2**45, 2**45),
                      st.floats(allow_nan=False), st.text(max_size=12),
                      st.sampled_from(["1", "0", "true", "2024-01-02T03:04:05Z", "0000-00-00 00:00:00"]))

    @settings(max_examples=400, deadline=None)
    @given(st.sampled_from(sorted(converters)), value)
    def check(name, v):
        assert outcome(compiled[name], v) == outcome(converters[name], v)

    check()
