"""Terminal doors: the one-shot ``ask`` command, ``sources`` and the REPL."""
