"""provision: Docker CE hosts on Rocky Linux / RHEL 9, planned, applied and verified over SSH."""

__version__ = "0.1.0"
