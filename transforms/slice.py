"""Transforms for the first vertical slice (legacy Developer -> app.users)."""

from __future__ import annotations

from typing import Any

from transforms import column_function


@column_function
def display_name(name: Any, email: Any) -> Any:
    """app.users.name: the legacy name, or the part of the email before @ when it is blank."""
    if isinstance(name, str) and name.strip():
        return name.strip()
    if isinstance(email, str) and "@" in email:
        return email.strip().split("@", 1)[0]
    return None
