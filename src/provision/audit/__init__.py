"""`provision audit`: the CIS Docker Benchmark's host and daemon checks (docs/audit.md)."""
