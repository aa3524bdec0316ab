"""``python -m bot``: the command line (ask, repl, sources, and the Discord worker)."""

import sys

if __name__ == "__main__":  # ingest workers may be spawned: they import this module too
    from bot.cli.early import list_early

    list_early(sys.argv[1:])  # before the imports below, which it runs beside

    from bot.cli.main import main

    raise SystemExit(main())
