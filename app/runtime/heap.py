"""The garbage collector and a long-running server.

A full collection walks every object the process holds. After start-up that is some 200,000
(modules, classes, functions, SQLAlchemy's and strawberry's tables), none of which will ever be
garbage, and walking them took about 90 ms on the reference machine: every request in flight
waited that long, several times a second under load, which is most of a listing's p99. Frozen,
they are left out of every later collection; objects made afterwards are collected as before.

Only a process the command line started is frozen: an app embedded in another program (a test
suite running servers in threads) must leave that program's collector alone, or whatever it
held at that moment would never be collected.
"""

from __future__ import annotations

import gc

_own = False


def own_process() -> None:
    """This process runs Mailgate alone (``mailgate serve`` or ``worker`` call it first)."""
    global _own
    _own = True


def settle() -> None:
    """Call once, when start-up is complete: what is garbage by then is freed first, and the rest
    is kept out of later collections for the life of the process. Nothing unless the process is
    Mailgate's own."""
    if _own:
        gc.collect()
        gc.freeze()
