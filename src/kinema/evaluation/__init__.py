"""Judging videos: the analytic checker of the procedural world, metrics and eval suites."""
