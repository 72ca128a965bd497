"""Transform functions shared by many mappings: packing, coalescing, string clean-up."""

from __future__ import annotations

from typing import Any

from transforms import column_function, predicate


@column_function
def coalesce(*values: Any) -> Any:
    """The first non-NULL value, e.g. a new NOT NULL column fed by two legacy columns."""
    for v in values:
        if v is not None:
            return v
    return None


@column_function
def lower_trim(value: Any) -> Any:
    """Emails and slugs compared case-insensitively in the new model."""
    return value.strip().lower() if isinstance(value, str) else value


@column_function
def empty_to_null(value: Any) -> Any:
    """Legacy forms stored '' where the new model means NULL."""
    return None if value == "" else value


@predicate
def always(row: Any) -> bool:
    return True
