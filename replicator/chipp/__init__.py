"""Chipp legacy data for the consolidation (seed 000): a realistic data generator and loader for
the three legacy databases (`replicator.chipp.generate`) and a concurrent writer that keeps
changing them while the replicator runs (`replicator.chipp.writer`)."""
