"""`provision verify`: declarations become testinfra checks, plus each role's own tests."""
