"""Running plans on hosts: connections, the probe, apply, convergence check."""
