"""``python -m dougdb``: ``node ...`` and ``facade ...`` run the server in this process
(what ``LocalCluster`` starts); anything else is the ``dougdb`` command line."""

from __future__ import annotations

import sys


def _main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] in ("node", "facade"):
        from . import _native
        from ._process import guard_child

        guard_child()
        return int(_native.run_server(["dougdb", *sys.argv[1:]]))
    from .cli import main

    result = main()
    return int(result) if isinstance(result, int) else 0


if __name__ == "__main__":
    sys.exit(_main())
