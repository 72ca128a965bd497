"""The apply engine: from decoded events to committed target rows (sink, batching, runner)."""
