"""``python -m provision.lab``: the lab CLI on its own."""

from provision.lab.cli import lab

if __name__ == "__main__":
    lab(prog_name="provision lab")
