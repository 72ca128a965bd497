"""Process-wide interpreter settings for the hot loops (the apply runner, reconcile workers)."""

from __future__ import annotations

import gc


def quiet_garbage_collector() -> None:
    """Keep the cyclic garbage collector off the hot path.

    Every event or source row allocates dicts and tuples (no cycles: reference counting
    frees them), so with the default thresholds the collector runs every 700 allocations
    and rescans the whole in-flight batch and every long-lived object (the compiled
    mappings, pydantic, driver wrappers) again and again: measured on the apply path, a
    third of the decode and map time. `freeze` moves what exists at start-up out of the
    collector's sight for good; the higher first threshold makes collections of young
    objects rarer. Cycles are still collected.

    Why 500,000: an event allocates about a dozen tracked objects that stay alive until its
    batch is written, so at 50,000 every batch of 5,000 events triggered a collection that
    moved the live batch into the older generations, which were then rescanned again and
    again. Measured with bench/apply.py, alternating the two settings: the main thread
    spent 15.1-16.3 µs per event at 50,000 against 12.1-13.6 µs at 500,000. The memory
    cost is only cyclic garbage waiting a little longer (acyclic objects are freed at once).
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(500_000, 20, 100)

