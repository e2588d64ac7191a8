"""Judging a run against its pinned baseline: the gate's rules, the judge, its markdown, and
the one act that accepts a new baseline."""
