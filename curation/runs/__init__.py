"""Runs: one training run's config, resolved inputs, checkpoints, per-sample metrics, reductions and plots."""
