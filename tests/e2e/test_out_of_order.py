"""A child that arrives before its parent: written at once (not dropped, not blocking), and
the foreign key validates at cutover once the parent has arrived."""

from __future__ import annotations

import subprocess
import sys

import psycopg
import pytest

from replicator.keys import remap_key
from replicator.stack.manager import REPO_ROOT
from replicator.stack.workspace import ReplicatorProcess, create_target_db, mysql, unique, wait_for

pytestmark = pytest.mark.stack

LEGACY = """
CREATE TABLE Organization (id INT PRIMARY KEY, name VARCHAR(191) NOT NULL);
CREATE TABLE Workspace (id INT PRIMARY KEY, organizationId INT NOT NULL, name VARCHAR(191) NOT NULL)
"""
TARGET = """
CREATE SCHEMA app;
CREATE TABLE app.organizations (id uuid PRIMARY KEY, name text NOT NULL);
CREATE TABLE app.workspaces (id uuid PRIMARY KEY, organization_id uuid NOT NULL REFERENCES app.organizations(id),
                             name text NOT NULL);
"""
MAPPING = """
version: 1
sources:
  legacy_main: {kind: mysql, topic_prefix: legacy_main, database: "${DB}", key_namespace: legacy_main}
tables:
  - source: legacy_main
    table: Organization
    targets:
      - table: app.organizations
        columns: {id: {key: id}, name: name}
  - source: legacy_main
    table: Workspace
    targets:
      - table: app.workspaces
        columns:
          id: {key: id}
          organization_id: {ref: legacy_main.Organization, ref_column: organizationId}
          name: name
"""


def test_child_before_parent_is_kept_and_fk_validates_at_cutover(stack, tmp_path):
    src = unique()
    with mysql(stack) as conn, conn.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{src}`")
        cur.execute(f"USE `{src}`")
        for stmt in LEGACY.split(";"):
            cur.execute(stmt)
    (tmp_path / "target.sql").write_text(TARGET)
    tgt = create_target_db(stack, [tmp_path / "target.sql"])
    mapping = tmp_path / "m.yaml"
    mapping.write_text(MAPPING)
    rp = ReplicatorProcess(stack, target_db=tgt, env={"DB": src}, log=tmp_path / "run.log", mapping=mapping)

    def rows(sql):
        with psycopg.connect(stack.postgres.dsn(tgt)) as c:
            return c.execute(sql).fetchall()

    with rp:
        with mysql(stack, src) as conn, conn.cursor() as cur:
            cur.execute("INSERT INTO Workspace VALUES (10, 5, 'child first')")
        wait_for(lambda: rows("SELECT name FROM app.workspaces") == [("child first",)], 90,
                 "the child, before its parent exists")
        assert rows("SELECT count(*) FROM app.organizations") == [(0,)]
        # the pipeline is not blocked: later rows of other tables flow
        with mysql(stack, src) as conn, conn.cursor() as cur:
            cur.execute("INSERT INTO Organization VALUES (6, 'unrelated')")
        wait_for(lambda: len(rows("SELECT 1 FROM app.organizations")) == 1, 60, "an unrelated parent")
        with mysql(stack, src) as conn, conn.cursor() as cur:
            cur.execute("INSERT INTO Organization VALUES (5, 'parent later')")
        wait_for(lambda: len(rows("SELECT 1 FROM app.organizations")) == 2, 60, "the late parent")
    [(org_id,)] = rows("SELECT organization_id FROM app.workspaces")
    assert org_id == remap_key("legacy_main", "Organization", 5)
    assert rows("SELECT id FROM app.organizations WHERE name = 'parent later'") == [(org_id,)]

    out = subprocess.run([sys.executable, "-m", "replicator.cli", "target", "fks", "restore"], env=rp.env,
                         capture_output=True, text=True, cwd=REPO_ROOT, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "validated app.workspaces.workspaces_organization_id_fkey" in out.stdout
    assert rows("SELECT convalidated FROM pg_constraint WHERE conname = 'workspaces_organization_id_fkey'") == [(True,)]
