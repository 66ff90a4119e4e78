"""`provision check`: a read-only readiness report, from the pre-install checklists.

Per host, one probe reads every host fact group, the installed packages and a HEAD
through the configured proxy for each repository; then each check (a pure function of
those facts and the declared sizing, in `rules`) says PASS, WARN, FAIL or INFO, with the
measured value, the threshold and what to do. Nothing on the host is changed.
"""
