"""Row classification, per-table merging, reports and exit codes (pure)."""

from __future__ import annotations

import io
from types import SimpleNamespace as NS

from replicator.reconcile import report as rp
from replicator.reconcile.diff import Difference, Expected, classify, differing_columns, merge_table, null_image
from replicator.reconcile.repair import position_just_below


def a(h, owned_null=False, deleted=False):
    return NS(hash=h, owned_null=owned_null, deleted=deleted)


def e(k, h):
    return Expected(k, (k,), [], h)


def test_creating_feed_kinds():
    exp = {"1": e("1", 10), "2": e("2", 20), "3": e("3", 30)}
    act = {"1": a(10), "2": a(99), "4": a(40)}
    assert sorted(classify(creates_row=True, on_delete="hard", expected=exp, actual=act)) == \
        [("different", "2"), ("extra", "4"), ("missing", "3")]


def test_extras_that_are_not_extra():
    act = {"4": a(1, deleted=True), "5": a(1, owned_null=True)}
    assert classify(creates_row=True, on_delete="soft", expected={}, actual=act) == [("extra", "5")]
    assert classify(creates_row=True, on_delete="ignore", expected={}, actual=act) == []
    assert classify(creates_row=True, on_delete="clear", expected={}, actual=act) == [("extra", "4")]


def test_follower_feed_kinds():
    exp = {"1": e("1", 10), "2": e("2", 20), "3": e("3", 30)}
    act = {"1": a(11), "4": a(0, owned_null=False), "5": a(0, owned_null=True)}
    got = classify(creates_row=False, on_delete="clear", expected=exp, actual=act,
                   owned_null_expected={"2": False, "3": True})
    # 1 differs; 2 has no target row (orphaned); 3 expects nothing; 4 carries data nobody explains
    assert sorted(got) == [("different", "1"), ("different", "4"), ("orphaned", "2")]


def test_columns_and_null_image():
    assert differing_columns(("id", "a", "b"), ["k", "1", "2"], ["k", "1", "3"]) == ("b",)
    assert null_image(("id", "a"), ("id",), ["k"]) == ["k", "\\N"]


def d(kind, key, cols=(), contributor="c"):
    return Difference(kind, "app.t", contributor, "s.T", key, (1,), tuple(cols))


def test_merge_counts_each_target_row_once():
    merged = merge_table([d("different", "k", ["a"]), d("different", "k", ["b"], "f"), d("orphaned", "m", (), "f"),
                          d("missing", "m"), d("extra", "x")])
    kinds = sorted((m.kind, m.key, m.columns) for m in merged)
    assert kinds == [("different", "k", ("a", "b")), ("extra", "x", ()), ("missing", "m", ())]


def test_difference_json_round_trip():
    x = Difference("different", "app.t", "c", "s.T", "k", (5,), ("a",), (1, 2, 0), (1, 3, 0), (1, 4, 0), "why", 2)
    assert Difference.from_json(x.to_json()) == x


def test_summary_report_and_exit_codes():
    tr = rp.summarise("app.t", [d("missing", "k1"), d("different", "k2", ["email"])], {"extra": 3},
                      {"c": ("id",)}, {"s.T": ("legacyId",)}, 1)
    assert tr.counts["missing"] == 1 and tr.counts["different"] == 1 and tr.counts["extra"] == 3
    assert tr.columns == {"email": 1} and not tr.clean
    assert tr.samples["missing"][0]["legacy"] == {"table": "s.T", "key": {"legacyId": 1}}
    assert tr.samples["missing"][0]["new"] == {"id": "k1"}
    run = rp.RunResult(tables=[tr])
    assert run.exit_code == 1
    md = rp.to_markdown(run)
    assert "DIFFERENCES" in md and "| app.t |" in md and "legacyId=1" in md
    assert rp.RunResult(tables=[rp.TableResult("x")]).exit_code == 0
    assert rp.RunResult(tables=[rp.TableResult("x", complete=False)]).exit_code == 2
    assert rp.RunResult(error="boom").exit_code == 2
    assert rp.TableResult.from_json(tr.to_json()).to_json() == tr.to_json()
    assert '"exit_code": 1' in rp.to_json_text(run)


def test_progress_plain_lines_when_not_a_tty():
    out = io.StringIO()
    p = rp.Progress(100, out, every=0)
    p.advance(50, "app.t")
    p.close()
    lines = out.getvalue().splitlines()
    assert lines and "50.0%" in lines[0] and "\r" not in out.getvalue() and "app.t" in lines[0]


def test_repair_position_is_just_below_the_read():
    assert position_just_below((7, 1000, 0)) == (7, 999, 1 << 62)
    assert position_just_below((5000, 0)) == (4999, 1 << 62)
    assert (7, 998, 3) < position_just_below((7, 1000, 0)) < (7, 1000, 0)
