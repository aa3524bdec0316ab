"""Child processes that never outlive the process that started them.

A worker of a ``ProcessPoolExecutor`` waits on its task queue; when its parent is
killed with SIGKILL nothing closes that queue, and the worker waits forever, holding
its memory (hundreds of megabytes for an ingest worker). Each child therefore
watches its parent: as soon as the parent is gone the child exits.

Linux's ``PR_SET_PDEATHSIG`` is not used: it fires when the *thread* that started the
child ends, and executors start children from whichever thread submits first (an
``asyncio.to_thread`` worker, the folder watcher), which may end long before the pool
does. A watching thread asks the only question that matters: is the parent alive?
"""

from __future__ import annotations

import os
import threading
import time

# How often a child checks that its parent is alive; a dead parent's children are gone
# within about this long.
PARENT_CHECK_SECONDS = 0.5


def die_with_parent(parent_pid: int, interval: float = PARENT_CHECK_SECONDS) -> None:
    """Exit this (child) process as soon as ``parent_pid`` is no longer its parent.

    Call it first thing in a child, with the pid the parent passed in: when the parent
    is already gone by then, the child exits at once. An orphan is re-parented (to
    init or a subreaper), so a changed parent pid means the parent died.
    """
    if os.getppid() != parent_pid:
        os._exit(1)

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(interval)
        os._exit(1)  # no clean-up to do: the parent that wanted the work is gone

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()
