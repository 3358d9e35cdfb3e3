"""Looking at a run's per-sample metrics and proposing edits (never applying them)."""
