"""Reading the user's input: YAML with line numbers, inventory, playbooks, roles."""
