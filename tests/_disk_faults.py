"""Helpers of the storage-fault scenarios (``test_scenarios_disk.py``): find a stopped
node's files, damage them the way a disk does, and keep a ledger of every write and read
so the tests can say "no acknowledged write lost, no wrong value returned".

On-disk layout (docs/operations.md "Data dir layout", docs/wal.md, docs/sst.md)::

    <node dir>/shard-<id>/raft/wal/<20-digit position>.wal   the shard's Raft log (WAL)
    <node dir>/shard-<id>/db/<6-digit id>.sst                the shard's LSM tables

A WAL segment is a 32-byte header then frames ``crc32 u32 | length u32 | position u64 |
payload`` (crc32 over bytes 4.. of the frame, zlib's CRC-32). An SSTable ends with a
52-byte footer whose first handle (the filter block's offset) is where the data blocks end.
"""

from __future__ import annotations

import struct
import time
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dougdb

WAL_HEADER_BYTES = 32
FRAME_HEADER_BYTES = 16
SST_FOOTER_BYTES = 52
SST_MAGIC = b"DUGDBSST"

#: Errors after which a write may or may not have happened (``info`` in Jepsen's terms).
AMBIGUOUS = (dougdb.TimeoutError, dougdb.UnavailableError, dougdb.ConnectionError)


# ---- files ---------------------------------------------------------------------------


def shard_dir(node_dir: str | Path, shard: int) -> Path:
    return Path(node_dir) / f"shard-{shard}"


def wal_segments(node_dir: str | Path, shard: int) -> list[Path]:
    """The shard's Raft log segments, oldest first (names sort in log order)."""
    return sorted((shard_dir(node_dir, shard) / "raft" / "wal").glob("*.wal"))


def sst_files(node_dir: str | Path, shard: int) -> list[Path]:
    """The shard's SSTables (live or not yet collected), by file number."""
    return sorted((shard_dir(node_dir, shard) / "db").glob("*.sst"))


@dataclass(frozen=True)
class Frame:
    """One valid WAL record frame: where it sits in its file and in the log."""

    offset: int  # file offset of the frame header
    length: int  # payload bytes
    position: int  # log position embedded in the frame

    @property
    def end(self) -> int:
        return self.offset + FRAME_HEADER_BYTES + self.length


def wal_frames(segment: Path) -> list[Frame]:
    """The valid frames of ``segment`` from its start up to the first invalid byte."""
    data = segment.read_bytes()
    if len(data) < WAL_HEADER_BYTES or data[:8] != b"DOUGWAL\0":
        raise AssertionError(f"{segment} is not a WAL segment (header {data[:8]!r})")
    start = struct.unpack_from("<Q", data, 16)[0]
    frames: list[Frame] = []
    at = WAL_HEADER_BYTES
    while at + FRAME_HEADER_BYTES <= len(data):
        crc, length, position = struct.unpack_from("<IIQ", data, at)
        end = at + FRAME_HEADER_BYTES + length
        if length == 0 or end > len(data) or position != start + at - WAL_HEADER_BYTES:
            break
        if zlib.crc32(data[at + 4 : end]) != crc:
            break
        frames.append(Frame(offset=at, length=length, position=position))
        at = end
    return frames


def raft_entry_index(segment: Path, frame: Frame) -> int | None:
    """The Raft log index of the entry record in ``frame`` (None for a hard-state record).
    Record payloads: ``tag u8 = 1 | term u64 | index u64 | kind u8 | data`` for an entry,
    ``tag u8 = 2 | term | vote | commit`` for a hard state."""
    with open(segment, "rb") as f:
        f.seek(frame.offset + FRAME_HEADER_BYTES)
        head = f.read(17)
    if head[:1] != b"\x01":
        return None
    return int(struct.unpack_from("<Q", head, 9)[0])


def sst_data_end(table: Path) -> int:
    """Where the data blocks of ``table`` end (the filter block's offset, from the footer)."""
    data = table.read_bytes()
    footer = data[-SST_FOOTER_BYTES:]
    if len(data) < SST_FOOTER_BYTES or footer[44:52] != SST_MAGIC:
        raise AssertionError(f"{table} has no SSTable footer")
    (filter_offset,) = struct.unpack_from("<Q", footer, 0)
    if not 0 < filter_offset < len(data) - SST_FOOTER_BYTES:
        raise AssertionError(f"{table}: filter offset {filter_offset} out of the file")
    return int(filter_offset)


@dataclass(frozen=True)
class DataBlock:
    """One data block of an SSTable: where its body sits and the user keys it may hold
    (those after the previous block's last key, up to its own last key)."""

    offset: int
    length: int  # body bytes; a 5-byte trailer (kind, crc32) follows
    first_after: bytes | None  # the previous block's last user key (None: the first block)
    last: bytes  # its last user key

    def holds(self, key: bytes) -> bool:
        return (self.first_after is None or key > self.first_after) and key <= self.last


def sst_data_blocks(table: Path) -> list[DataBlock]:
    """The data blocks of ``table``, from its index block (one entry per data block: the
    block's last internal key, i.e. user key + 8 trailer bytes, and its handle)."""
    data = table.read_bytes()
    footer = data[-SST_FOOTER_BYTES:]
    index_offset, index_len = struct.unpack_from("<QI", footer, 24)
    body = data[index_offset : index_offset + index_len]
    (restarts,) = struct.unpack_from("<I", body, len(body) - 4)
    end = len(body) - 4 - 4 * restarts
    blocks: list[DataBlock] = []
    at, key, previous = 0, b"", None
    while at < end:
        shared, unshared, value_len = struct.unpack_from("<HHI", body, at)
        at += 8
        key = key[:shared] + body[at : at + unshared]
        at += unshared
        offset, length = struct.unpack_from("<QI", body, at)
        at += value_len
        blocks.append(DataBlock(offset, length, previous, key[:-8]))
        previous = key[:-8]
    return blocks


def flip_bit(path: Path, offset: int, bit: int = 0) -> None:
    """Flips one bit of ``path`` in place (bit rot)."""
    with open(path, "r+b") as f:
        f.seek(offset)
        (byte,) = f.read(1)
        f.seek(offset)
        f.write(bytes([byte ^ (1 << bit)]))


def cut_tail(path: Path, new_size: int) -> int:
    """Truncates ``path`` to ``new_size`` bytes (a torn write); returns the bytes cut."""
    size = path.stat().st_size
    if not 0 <= new_size < size:
        raise AssertionError(f"cannot cut {path} ({size} bytes) to {new_size}")
    with open(path, "r+b") as f:
        f.truncate(new_size)
    return size - new_size


def append_torn_frame(segment: Path, payload_len: int = 64) -> int:
    """Appends the first half of a well-formed frame for the log's next position (a
    record whose write was cut by a crash before its fsync, so never acknowledged);
    returns the bytes appended."""
    data = segment.read_bytes()
    start = struct.unpack_from("<Q", data, 16)[0]
    position = start + len(data) - WAL_HEADER_BYTES
    payload = bytes(range(payload_len))
    rest = struct.pack("<IQ", payload_len, position) + payload
    frame = struct.pack("<I", zlib.crc32(rest)) + rest
    torn = frame[: len(frame) // 2]
    with open(segment, "ab") as f:
        f.write(torn)
    return len(torn)


# ---- the ledger ----------------------------------------------------------------------


@dataclass
class Ledger:
    """Every write and read of a test (one sequential client at a time), checked as it
    happens: a read that returns a value never written to its key fails at once."""

    #: key -> every value ever sent in a put of it (acknowledged or not), in order.
    sent: dict[bytes, list[bytes]] = field(default_factory=dict)
    #: key -> the last acknowledged value.
    acked: dict[bytes, bytes] = field(default_factory=dict)
    #: key -> values whose put failed ambiguously (may or may not have applied).
    maybe: dict[bytes, set[bytes]] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    #: bytes of filler appended to every value (to fill SSTable blocks faster).
    pad: int = 0
    _next: int = 0

    def _count(self, what: str) -> None:
        self.counts[what] = self.counts.get(what, 0) + 1

    def value_for(self, key: bytes) -> bytes:
        """A value no other put of this test uses, naming its key."""
        self._next += 1
        return key + b"=" + str(self._next).encode() + b"." * self.pad

    def put(self, client: Any, key: bytes, timeout: float = 5.0) -> bool:
        """One put of a fresh value; True when acknowledged."""
        value = self.value_for(key)
        self.sent.setdefault(key, []).append(value)
        try:
            client.put(key, value, timeout=timeout)
        except AMBIGUOUS:
            self.maybe.setdefault(key, set()).add(value)
            self._count("put info")
            return False
        self.acked[key] = value
        self._count("put ok")
        return True

    def put_acked(self, client: Any, keys: Iterable[bytes], deadline_s: float = 30.0) -> None:
        """Puts each key until acknowledged (retrying ambiguous failures within a
        deadline; the test fails past it)."""
        deadline = time.monotonic() + deadline_s
        for key in keys:
            while not self.put(client, key):
                if time.monotonic() > deadline:
                    raise AssertionError(f"no put of {key!r} acknowledged in {deadline_s} s")

    def allowed(self, key: bytes, strong: bool) -> set[bytes | None]:
        """What a read of ``key`` may return now: for a strong read the last acknowledged
        value (None if none) or an ambiguous one; for an eventual read any value ever
        sent for the key, or None (a replica that has not applied it yet)."""
        if strong:
            out: set[bytes | None] = set(self.maybe.get(key, set()))
            out.add(self.acked.get(key))
            return out
        return {None, *self.sent.get(key, [])}

    def check(self, key: bytes, value: bytes | None, strong: bool, source: str) -> None:
        self._count(("strong" if strong else "eventual") + " read")
        if value not in self.allowed(key, strong):
            raise AssertionError(
                f"WRONG VALUE from {source}: {'strong' if strong else 'eventual'} read of "
                f"{key!r} returned {value!r}; last acknowledged {self.acked.get(key)!r}, "
                f"ambiguous {sorted(self.maybe.get(key, set()))!r}"
            )

    def read(self, client: Any, key: bytes, strong: bool, source: str, timeout: float = 5.0):
        """A read checked against the ledger; returns the value, or the DougDBError the
        node answered with (errors are allowed, wrong values are not)."""
        try:
            value = client.get(
                key, consistency="strong" if strong else "eventual", timeout=timeout
            )
        except dougdb.DougDBError as err:
            self._count(f"read error {type(err).__name__}")
            return err
        self.check(key, value, strong, source)
        return value

    def assert_all_acknowledged(self, client: Any, source: str = "cluster") -> None:
        """Final strong reads: every key gives its last acknowledged value (or, only
        where a later put failed ambiguously, that put's value)."""
        for key in sorted(self.sent):
            value = client.get(key, consistency="strong", timeout=10.0)
            self.check(key, value, True, source)

    def summary(self) -> str:
        return ", ".join(f"{k}: {v}" for k, v in sorted(self.counts.items()))
