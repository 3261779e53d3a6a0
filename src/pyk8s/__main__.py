"""``python -m pyk8s`` is the ``pyk8s`` command."""

from .cli import main

main()
