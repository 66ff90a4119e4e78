"""Task types: one module each, found by discovery (`base.task_types()`). See
docs/tasks.md (generated from them) and docs/developers.md (how to add one)."""
