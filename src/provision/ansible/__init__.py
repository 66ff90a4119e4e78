"""Ansible's assets as they are: module calls translated onto this tool's task types
(`modules/`), and `provision lint --ansible` (`lint.py`)."""
