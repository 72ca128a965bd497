"""The replay horizon: below which source position nothing can still need applying, so
that tombstones older than it can be dropped.

A tombstone exists to refuse an older write of a deleted key: a rewound consumer, a
duplicate delivery, a replayed dead letter. Kept for good they only grow (~350 bytes each),
so `replicator tombstones prune` drops the old ones, and must first make sure nothing they
guard against can still arrive. The rule, per target table (pure here; prune.py reads the
inputs from the broker and writes the result):

* per partition of each source topic that feeds the table, the *floor*: the position of
  the first change event at or after the consumer group's committed offset (the next event
  to apply). Debezium writes one server's changes in its log order, so every event still
  to come there has a position at or above it. Where the group has applied everything,
  what comes next is newer than every change written so far, to any partition: the floor
  is just above the newest change seen;
* every dead letter of those topics still in the dead-letter topic (handled or not: the
  copy a replay re-published may not be consumed yet), at its own position; a dead letter
  that cannot be decoded can never be applied and does not count;
* the table's horizon is the lowest of these. Every write below it has been applied
  already, so the sink refuses writes below it outright (`drop_below_horizon`, counted as
  stale), whether or not a tombstone is left, and tombstones below it can go.

Positions order the changes of one source server only, so a table fed by several servers
(different topic prefixes) has no horizon. A table fed by several topics of one server
takes the lowest floor of them all: a follower's write is checked against its creator's
tombstones.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

from replicator.events import SourcePosition


@dataclass(frozen=True)
class Floor:
    """The lowest position a partition (or several) can still deliver, or why it is not known.

    `caught_up`: the group has applied everything there and `position` is the newest change
    applied; what comes next is newer than every change already written to *any* partition
    of the source (Debezium writes one server's changes in its log order), so the floor is
    just above the newest position seen (`horizon_of`).
    """

    position: SourcePosition | None  # None with no reason: nothing constrains (empty)
    reason: str = ""
    caught_up: bool = False

    @property
    def known(self) -> bool:
        return not self.reason


def partition_floor(committed: int | None, changes: Iterable[tuple[int, SourcePosition]],
                    has_messages: bool) -> Floor:
    """A partition's floor from its committed offset (None: the group never committed
    there) and the change events read around it, as (offset, position)."""
    if not has_messages:
        return Floor(None)
    if committed is None:
        return Floor(None, "the consumer group has not committed an offset here")
    before = [p for o, p in changes if o < committed]
    after = [p for o, p in changes if o >= committed]
    if after:
        return Floor(min(after))  # the next to apply (min: a replayed copy may sit after it)
    if before:
        return Floor(max(before), caught_up=True)
    return Floor(None, "no change event near the committed offset")


def lowest(floors: Iterable[Floor]) -> Floor:
    """Several floors of one source server as one; unknown if any is. Caught up only if all
    are, at the newest position among them; else the lowest position still to come."""
    pending: SourcePosition | None = None
    newest: SourcePosition | None = None
    for f in floors:
        if not f.known:
            return f
        if f.position is None:
            continue
        if newest is None or f.position > newest:
            newest = f.position
        if not f.caught_up and (pending is None or f.position < pending):
            pending = f.position
    if pending is not None:
        return Floor(pending)
    return Floor(newest, caught_up=newest is not None)


def horizon_of(floor: Floor) -> SourcePosition | None:
    """The position below which nothing can come. Caught up: just above the newest change
    applied (a longer tuple sorts after its prefix, in Python and in PostgreSQL's bigint[],
    and no change of the server lies between)."""
    if floor.position is None or not floor.caught_up:
        return floor.position
    return floor.position + (0,)


def table_horizon(topics: Mapping[str, str], floors: Mapping[str, Floor]) -> Floor:
    """A target table's horizon from the floors of the topics feeding it (`topics`: topic ->
    the topic prefix of its source server). A table with no position to stand on (every
    partition empty) gets none."""
    if len(set(topics.values())) > 1:
        return Floor(None, f"fed by several source servers ({', '.join(sorted(set(topics.values())))}): "
                           "their positions do not compare")
    found = lowest(floors.get(t, Floor(None, f"topic {t} not read")) for t in topics)
    if found.known and found.position is None:
        return Floor(None, "no event in its topics yet")
    return Floor(horizon_of(found), found.reason) if found.known else found


def drop_below_horizon(steps: list, horizons: Mapping[str, SourcePosition]) -> tuple[list, int]:
    """The plan's steps without the writes older than their table's horizon, and how many
    were dropped. Such writes were applied already (horizon.py's rule), whatever the
    tombstones still say."""
    dropped = 0
    out = []
    for step in steps:
        h = horizons.get(step.table)
        if h is None or min(step.positions) >= h:
            out.append(step)
            continue
        keep = [i for i, p in enumerate(step.positions) if p >= h]
        dropped += len(step.positions) - len(keep)
        if keep:
            out.append(_subset(step, keep))
    return out, dropped


def _subset(step, keep: list[int]):
    positions = [step.positions[i] for i in keep]
    if hasattr(step, "keys"):  # a DeleteGroup: one list per key column
        return replace(step, keys=[[column[i] for i in keep] for column in step.keys], positions=positions)
    return replace(step, rows=[step.rows[i] for i in keep], positions=positions, count=len(keep),
                   cleared=min(step.cleared, len(keep)))
