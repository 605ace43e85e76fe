"""Text output of the ``dougdb`` command line: values, keys, tables and the status view."""

from __future__ import annotations

import binascii
from typing import Any, Iterable, Sequence

__all__ = [
    "decode_arg",
    "format_bytes",
    "render_table",
    "status_rows",
    "render_status",
]


def decode_arg(text: str, hex_mode: bool) -> bytes:
    """A key or value given on the command line: UTF-8 text, or hex digits with ``--hex``."""
    if not hex_mode:
        return text.encode("utf-8", "surrogateescape")
    try:
        return binascii.unhexlify(text.strip().replace(" ", ""))
    except (binascii.Error, ValueError) as e:
        raise ValueError(f"--hex: {text!r} is not an even number of hex digits ({e})") from e


def format_bytes(data: bytes, mode: str = "auto") -> str:
    """How the CLI prints a key or value.

    ``auto``: the UTF-8 text itself when it decodes and every character is printable (tabs
    allowed), else Python's ``repr`` of the bytes (``b'\\x00\\xff'``), so binary data is never
    printed raw and a reader can tell the two apart. ``hex``: always lowercase hex digits.
    ``repr``: always ``repr(bytes)``.
    """
    if mode == "hex":
        return data.hex()
    if mode == "repr":
        return repr(data)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return repr(data)
    if text.replace("\t", " ").isprintable() and not text.startswith("b'"):
        return text
    return repr(data)


def render_table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """A plain fixed-width table (no dependency), right-aligning numbers."""
    cells = [[("-" if c is None else str(c)) for c in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in cells:
        for i, c in enumerate(row):
            widths[i] = max(widths[i], len(c))
    numeric = [
        all(_is_number(row[i]) for row in cells) and bool(cells) for i in range(len(headers))
    ]

    def line(values: Sequence[str]) -> str:
        parts = []
        for i, v in enumerate(values):
            parts.append(v.rjust(widths[i]) if numeric[i] else v.ljust(widths[i]))
        return "  ".join(parts).rstrip()

    out = [line(list(headers)), line(["-" * w for w in widths])]
    out.extend(line(row) for row in cells)
    return "\n".join(out)


def _is_number(text: str) -> bool:
    if text == "-":
        return True
    try:
        float(text)
    except ValueError:
        return False
    return True


STATUS_HEADERS = (
    "shard",
    "leader",
    "node",
    "role",
    "alive",
    "term",
    "commit",
    "applied",
    "snapshot",
)


def status_rows(status: Any) -> list[tuple[Any, ...]]:
    """One row per replica of a ``ClusterStatus`` (or its ``to_dict()``), shard by shard."""
    data = status.to_dict() if hasattr(status, "to_dict") else status
    rows: list[tuple[Any, ...]] = []
    for shard in data.get("shards", []):
        replicas = shard.get("replicas", [])
        for r in replicas:
            rows.append(
                (
                    shard.get("shard"),
                    shard.get("leader"),
                    r.get("node"),
                    r.get("role"),
                    "yes" if r.get("alive") else "NO",
                    r.get("term"),
                    r.get("commit_index"),
                    r.get("applied_index"),
                    r.get("snapshot_index"),
                )
            )
    return rows


def render_status(status: Any) -> str:
    """The status table: shards, replicas, roles, terms, indexes."""
    return render_table(STATUS_HEADERS, status_rows(status))
