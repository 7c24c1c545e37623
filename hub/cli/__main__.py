"""``python -m hub.cli``: the ``jembatan`` command."""

from hub.cli import main

main()
