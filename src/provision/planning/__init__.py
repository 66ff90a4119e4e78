"""Planning: probed facts + tasks + handlers -> a HostPlan (`planner.py`) of Outcomes
(`model.py`). Pure: no I/O; the only place decisions are made."""
