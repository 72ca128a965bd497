"""The reconciler: does the new database hold exactly what the legacy databases say it should?

Reads legacy rows directly, pushes them through the same mapping code as the stream,
compares chunk digests with the target and drills into chunks that differ, re-checks rows
still in flight, reports per target table, and can repair. See docs/reconcile.md.

Modules: digest (canonical forms, hashes), plan (strategies, chunk planning), feeds (what is
compared per contributor), source_reader / target_reader (I/O), diff (row classification),
units (one unit of work), inflight (re-checks), repair, checkpoint, report, engine.
"""
