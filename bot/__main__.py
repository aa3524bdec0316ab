"""``python -m bot``: the command line (ask, repl, sources, and the Discord worker)."""

from bot.cli.main import main

raise SystemExit(main())
