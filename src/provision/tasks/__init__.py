"""Task types: a small, closed set; one module each. See docs/tasks.md."""
