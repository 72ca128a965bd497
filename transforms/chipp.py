"""Transforms for the Chipp consolidation (config/chipp/mappings, seed 000).

What the declarative format cannot say on its own: typed JSON built from several columns
(rag_config), money in dollars to cents, an enum that becomes a boolean, JSON arrays that
become PostgreSQL arrays (and an array of legacy ids remapped to UUIDs), and the predicates
that decide which rows a split target gets.

Every function is pure. Values arrive as Debezium encodes them (JSON text for JSON columns,
DECIMAL as a string, TINYINT(1) as 0/1) or as a database driver returns them when the same
mapping reads a legacy table directly (dict, Decimal, bool): both are accepted.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from replicator.keys import remap_key
from transforms import column_function, predicate

# the key_namespace of the legacy_main source in config/chipp/mappings/main.yaml: UUIDs of
# main-database rows derive from it. chipp_message_tag_ids remaps ids with it, so it must
# not change (tests/unit/test_chipp_mappings.py checks that the two agree)
MAIN_NAMESPACE = "chipp_main"

# app.applications.rag_config when the legacy columns are NULL (the seed's column default)
RAG_DEFAULTS = {"relevance_threshold": 0.7, "max_chunks": 10, "use_hybrid_search": True, "document_weight": 0.5}

_TRUE = {"1", "true"}
_FALSE = {"0", "false"}


def _json(value: Any) -> Any:
    """A JSON column's value as Python: Debezium sends JSON text, drivers may return objects."""
    if isinstance(value, (bytes, bytearray)):
        value = value.decode()
    if isinstance(value, str):
        return json.loads(value)
    return value


def _decimal(value: Any) -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError(f"a boolean is not an amount: {value!r}")
    if isinstance(value, float):
        return Decimal(repr(value))
    try:
        return Decimal(value) if isinstance(value, (int, Decimal)) else Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"not a decimal amount: {str(value)[:40]!r}") from None


def _bool(value: Any) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value != 0
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"not a boolean: {str(value)[:40]!r}")


@column_function
def chipp_is_private(visibility: Any) -> bool | None:
    """Workspace.visibility (WorkspaceVisibility, removed by the seed) -> workspaces.is_private."""
    if visibility is None:
        return None
    if visibility == "PRIVATE":
        return True
    if visibility == "PUBLIC":
        return False
    raise ValueError(f"unknown workspace visibility {visibility!r}")


@column_function
def chipp_rag_config(threshold: Any, max_chunks: Any, hybrid: Any, weight: Any) -> dict[str, Any]:
    """Application's four RAG columns -> the typed rag_config object; NULL takes the default.

    `pack:` would copy the values as Debezium sends them ("0.700" as a string, 1 for true).
    """
    t, w = _decimal(threshold), _decimal(weight)
    return {
        "relevance_threshold": float(t) if t is not None else RAG_DEFAULTS["relevance_threshold"],
        "max_chunks": int(max_chunks) if max_chunks is not None else RAG_DEFAULTS["max_chunks"],
        "use_hybrid_search": _bool(hybrid) if hybrid is not None else RAG_DEFAULTS["use_hybrid_search"],
        "document_weight": float(w) if w is not None else RAG_DEFAULTS["document_weight"],
    }


@column_function
def chipp_usd_to_cents(amount: Any) -> Decimal | None:
    """Dollars (DECIMAL) -> cents, exactly: usage costs are fractions of a cent."""
    d = _decimal(amount)
    return None if d is None else d * 100


@column_function
def chipp_usd_to_whole_cents(amount: Any) -> int | None:
    """Dollars (DECIMAL) -> whole cents, half up (balances: DECIMAL(12,2) is exact)."""
    d = _decimal(amount)
    if d is None:
        return None
    try:
        return int((d * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    except ArithmeticError as exc:  # decimal.InvalidOperation: beyond the context's precision
        raise ValueError(f"amount {d} does not fit in cents") from exc


@column_function
def chipp_json_or_empty(value: Any) -> Any:
    """A JSON column for a target whose default is '{}': NULL becomes {} instead of NULL."""
    parsed = _json(value)
    return {} if parsed is None else parsed


@column_function
def chipp_json_text_array(value: Any) -> list[str]:
    """A JSON array of strings (ActionCollection.tags) -> text[]; NULL -> {} as the default."""
    parsed = _json(value)
    if parsed is None:
        return []
    if not isinstance(parsed, list) or not all(isinstance(x, str) for x in parsed):
        raise ValueError(f"expected a JSON array of strings, got {str(value)[:60]!r}")
    return parsed


@column_function
def chipp_message_tag_ids(value: Any) -> list[Any]:
    """Message.tagIds (JSON array of main-database MessageTag ids) -> tag_ids uuid[].

    Each id is remapped exactly as `ref: legacy_main.MessageTag` would remap one, so the
    array holds the app.message_tags UUIDs.
    """
    parsed = _json(value)
    if parsed is None:
        return []
    if not isinstance(parsed, list):
        raise ValueError(f"expected a JSON array of tag ids, got {str(value)[:60]!r}")
    return [remap_key(MAIN_NAMESPACE, "MessageTag", v) for v in parsed if v is not None]


@column_function
def chipp_session_metadata(thread_id: Any) -> dict[str, Any]:
    """ChatSession -> sessions.metadata: the OpenAI Assistants thread id, when there is one."""
    return {"openai_thread_id": thread_id} if thread_id else {}


@column_function
def chipp_lead_form_is_active(status: Any) -> bool | None:
    """LeadGenerationForm.status -> is_active (DELETED is the soft delete, see the mapping)."""
    if status is None:
        return None
    if status not in ("ACTIVE", "PAUSED", "DELETED"):
        raise ValueError(f"unknown lead form status {status!r}")
    return status == "ACTIVE"


@predicate
def chipp_has_custom_domain(row: Mapping[str, Any]) -> bool:
    """Application -> app.custom_domains: only live applications with a domain.

    A soft-deleted application, or one whose domain is cleared, loses its row (the split
    target's delete rule), so the domain is free for another application.
    """
    domain = row.get("customDomain")
    return isinstance(domain, str) and bool(domain.strip()) and not _bool(row.get("isDeleted"))


@predicate
def chipp_has_brand_styles(row: Mapping[str, Any]) -> bool:
    """Application -> app.brand_styles: only applications with styles set."""
    styles = row.get("brandStyles")
    if styles is None:
        return False
    parsed = _json(styles)
    return parsed not in (None, {}, [], "")


@predicate
def chipp_file_attached(row: Mapping[str, Any]) -> bool:
    """chat File -> chat.message_files: an upload not yet attached to a message is not migrated."""
    return row.get("messageId") is not None
