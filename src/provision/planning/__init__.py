"""Planning: facts + tasks -> Changes. Pure: no I/O; the only place decisions are made."""
