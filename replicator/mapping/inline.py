"""A converter's common case as code, which the compiled mapping evaluates in place of a call.

The mapping engine compiles each target's columns into one generated function
(engine._Codegen). A call costs more than most conversions do in their common case (an
int key to its UUID, epoch milliseconds to a UTC datetime, a TINYINT(1) to a bool), so a
converter may say what that case is: `test` and `result` are Python expressions in which
`{v}` is the value (a local of the generated function, read once) and every other
`{name}` is one of `names`, bound into the generated function's namespace. Where `test` is
false the converter itself is called, so the column's value is the converter's for every
input (tests/unit/test_mapping_engine.py holds the two equal).

`kind` names the same case for the apply path's C core (replicator/_fastmap.c), which
evaluates it without Python code: "int_nonzero", "epoch_ms" or "uuid_of_int" (empty: the
C core calls the converter). tests/unit/test_fastmap.py holds it equal to the expression.
"""

from __future__ import annotations

from typing import Any, NamedTuple


class InlineCase(NamedTuple):
    test: str
    result: str
    names: dict[str, Any]
    kind: str = ""
