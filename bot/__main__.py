"""Run ``python -m bot`` as the ``pgibot`` command."""

from bot.cli import main

raise SystemExit(main())
