"""Change control: saved plans (`plan -o`, `show`, `apply PLAN`), the confirmation before
apply, the audit log and each host's last-apply record. See docs/change-control.md."""
