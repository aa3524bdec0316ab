"""``python -m bot``: the command line (ask, repl, sources, and the Discord worker)."""

from bot.cli.main import main

if __name__ == "__main__":  # ingest workers may be spawned: they import this module too
    raise SystemExit(main())
