"""Per-table transform functions, registered by name for the YAML mappings to call.

A transform is a small pure function: no I/O, no clock, no globals. Column functions take
the values of the source columns listed in the mapping's `args` and return one value.
Predicates (used by `filter`) take the whole source row (a read-only mapping) and return a
bool. Register with `@column_function` or `@predicate`; the mapping loader looks names up
in `REGISTRY` after importing the modules listed in `MODULES`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any, Literal

Kind = Literal["column", "predicate"]
REGISTRY: dict[str, tuple[Kind, Callable[..., Any]]] = {}

# the modules that define transforms; importing them fills REGISTRY
MODULES = ("transforms.common", "transforms.slice", "transforms.chipp")


def _register(kind: Kind, name: str | None):
    def wrap(fn: Callable[..., Any]) -> Callable[..., Any]:
        key = name or fn.__name__
        if key in REGISTRY and REGISTRY[key][1] is not fn:
            raise ValueError(f"transform {key!r} registered twice")
        REGISTRY[key] = (kind, fn)
        return fn
    return wrap


def column_function(fn: Callable[..., Any] | None = None, *, name: str | None = None):
    """Register `fn(*args) -> value` as a column function."""
    if fn is not None:
        return _register("column", None)(fn)
    return _register("column", name)


def predicate(fn: Callable[..., Any] | None = None, *, name: str | None = None):
    """Register `fn(row) -> bool` as a row filter."""
    if fn is not None:
        return _register("predicate", None)(fn)
    return _register("predicate", name)


def load_all() -> dict[str, tuple[Kind, Callable[..., Any]]]:
    for module in MODULES:
        importlib.import_module(module)
    return REGISTRY
