"""Testing DougDB under faults: histories, a linearizability checker and a nemesis.

See docs/testing.md.
"""

from ._ops import Op, Verdict

__all__ = ["Op", "Verdict"]
