"""Union feeds in the comparison and the reconciler, without a server.

Several legacy tables creating distinct rows of one target table (`union: true`): each
feed's target rows are those carrying its `_pos_<contributor>`, so another union feed's rows
are never its extras. Checked on the SQL the reconciler's feed builds and on
`replicator.compare.compare` against an in-memory stand-in for the target connection.
"""

from __future__ import annotations

import textwrap
import uuid

from replicator.compare import compare
from replicator.keys import remap_key
from replicator.mapping.engine import position_column
from replicator.mapping.loader import load_mappings
from replicator.reconcile.feeds import Feed, FeedSpec, compared_columns, feeds_of
from replicator.reconcile.plan import Strategy, v8_strategy

MAPPING = """\
version: 1
sources:
  m: {kind: mysql, topic_prefix: m, database: m}
tables:
  - source: m
    table: ApiIntegration
    targets:
      - table: app.integrations
        union: true
        columns:
          id: {key: id}
          type: {const: api}
          name: name
  - source: m
    table: SlackInstallation
    targets:
      - table: app.integrations
        union: true
        columns:
          id: {key: id}
          type: {const: slack}
          name: {from: teamName, default: Slack}
  - source: m
    table: Note
    targets:
      - table: app.notes
        columns:
          id: {key: id}
          body: body
"""


def mappings(tmp_path):
    (tmp_path / "m.yaml").write_text(textwrap.dedent(MAPPING))
    return load_mappings([tmp_path / "m.yaml"], env={})


def spec_of(ms, tm, t, kinds: dict[str, str], has_pos: bool = True) -> FeedSpec:
    cols = compared_columns(t)
    return FeedSpec(tm.source_name, tm.qualified, tm.spec.table, t.table, t.contributor, t.spec.creates_row,
                    t.spec.on_delete, tm.spec.key, t.key, cols, tuple(kinds[c] for c in cols), t.owned,
                    t.soft_delete_column, tuple(sorted(tm.known_columns)),
                    v8_strategy(tm.source.namespace, tm.spec.table), None, "int", has_pos, t.spec.union)


KINDS = {"id": "uuid", "type": "text", "name": "text", "body": "text"}


def test_a_union_feeds_rows_are_the_rows_it_wrote(tmp_path):
    ms = mappings(tmp_path)
    by = {tm.spec.table: (tm, t) for tm, t in feeds_of(ms, "app.integrations")}
    api = Feed.build(spec_of(ms, *by["ApiIntegration"], KINDS), ms)
    slack = Feed.build(spec_of(ms, *by["SlackInstallation"], KINDS), ms)
    assert api.spec.union and slack.spec.union
    assert api.scope_sql == '(t."_pos_apiintegration" IS NOT NULL)'
    assert slack.scope_sql == '(t."_pos_slackinstallation" IS NOT NULL)'
    # digests (chunks, buckets, the count outside a namespace) only see the feed's own rows
    assert api.digest_filter_sql == api.scope_sql
    # a feed that is not a union answers for every row, as before
    tm, t = feeds_of(ms, "app.notes")[0]
    note = Feed.build(spec_of(ms, tm, t, KINDS, has_pos=False), ms)
    assert (note.spec.union, note.scope_sql, note.digest_filter_sql) == (False, "true", "true")


def test_union_is_part_of_the_checkpoint_signature(tmp_path):
    from dataclasses import replace

    from replicator.reconcile.checkpoint import signature

    ms = mappings(tmp_path)
    tm, t = feeds_of(ms, "app.integrations")[0]
    s = spec_of(ms, tm, t, KINDS)
    assert signature([s], 100) != signature([replace(s, union=False)], 100)
    assert isinstance(s.strategy, Strategy)


# --- compare(): a target connection in memory ------------------------------------------------------


class _Cursor:
    def __init__(self, rows):
        self.rows = list(rows)

    def __iter__(self):
        return iter(self.rows)

    def fetchone(self):
        return self.rows[0] if self.rows else None


class FakeTarget:
    """Answers the two kinds of query compare() sends: the catalog probe for a position
    column and `SELECT <cols> FROM <table> [WHERE <pos> IS NOT NULL]`."""

    def __init__(self, table: str, rows: list[dict]):
        self.table, self.rows = table, rows
        self.queries: list[str] = []

    def execute(self, query, args=None):
        text = query if isinstance(query, str) else query.as_string(None)
        self.queries.append(text)
        if "information_schema" in text:
            schema, name, column = args
            present = f"{schema}.{name}" == self.table and any(column in r for r in self.rows)
            return _Cursor([(1,)] if present else [])
        cols = [c.strip().strip('"') for c in text[len("SELECT "):text.index(" FROM ")].split(",")]
        rows = self.rows
        if " WHERE " in text:
            pcol = text.split(" WHERE ")[1].split(" IS NOT NULL")[0].strip('"')
            rows = [r for r in rows if r.get(pcol) is not None]
        return _Cursor([tuple(r.get(c) for c in cols) for r in rows])


def _row(table: str, id_: int, type_: str, name: str, contributor: str) -> dict:
    return {"id": remap_key("m", table, id_), "type": type_, "name": name, position_column(contributor): [1, id_, 0]}


def test_compare_never_counts_another_union_feeds_rows_as_extra(tmp_path):
    ms = mappings(tmp_path)
    api_tm, slack_tm = ms.tables["m.ApiIntegration"], ms.tables["m.SlackInstallation"]
    target = FakeTarget("app.integrations", [
        _row("ApiIntegration", 1, "api", "k1", "apiintegration"),
        _row("ApiIntegration", 2, "api", "k2", "apiintegration"),
        _row("ApiIntegration", 3, "api", "gone", "apiintegration"),  # its source row was deleted: extra
        _row("SlackInstallation", 1, "slack", "Acme", "slackinstallation"),
        _row("SlackInstallation", 2, "slack", "changed", "slackinstallation"),  # different
        # SlackInstallation 3 is missing
    ])
    [api] = compare(api_tm, [{"id": 1, "name": "k1"}, {"id": 2, "name": "k2"}], target)
    [slack] = compare(slack_tm, [{"id": i, "teamName": n} for i, n in ((1, "Acme"), (2, None), (3, "New"))],
                      target)
    assert (api.table, api.contributor, api.checked) == ("app.integrations", "apiintegration", 2)
    assert (api.missing, api.different) == ([], [])
    assert api.extra == [("?", (remap_key("m", "ApiIntegration", 3),))]
    assert slack.extra == []  # the three ApiIntegration rows are not Slack's
    assert slack.missing == [((3,), (remap_key("m", "SlackInstallation", 3),))]
    assert slack.different == [((2,), (remap_key("m", "SlackInstallation", 2),), ["name"])]
    assert any('WHERE "_pos_slackinstallation" IS NOT NULL' in q for q in target.queries)


def test_compare_of_a_union_feed_before_the_pipeline_prepared_the_table(tmp_path):
    ms = mappings(tmp_path)
    target = FakeTarget("app.integrations", [{"id": uuid.uuid4(), "type": "api", "name": "x"}])
    [d] = compare(ms.tables["m.ApiIntegration"], [{"id": 1, "name": "k1"}], target)
    # no position column: the feed wrote no row; nothing is extra, its row is missing
    assert (len(d.missing), d.extra, d.different) == (1, [], [])
