"""The cutover verdict from its gates (pure logic)."""

from __future__ import annotations

from replicator.cutover import Gate, as_json, verdict


def test_go_only_when_every_gate_passes():
    assert verdict([Gate("a", True, ""), Gate("b", True, "")]) == 0


def test_a_failed_gate_is_no_go_even_when_another_could_not_be_checked():
    assert verdict([Gate("a", True, ""), Gate("b", None, "down"), Gate("c", False, "lag")]) == 1


def test_a_gate_that_could_not_be_checked_is_never_go():
    gates = [Gate("a", True, ""), Gate("b", None, "broker unreachable")]
    assert verdict(gates) == 2
    doc = as_json(gates)
    assert doc["verdict"] == "UNKNOWN" and doc["exit_code"] == 2
    assert [g["status"] for g in doc["gates"]] == ["PASS", "UNKNOWN"]
