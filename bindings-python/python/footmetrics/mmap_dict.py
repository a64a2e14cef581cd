"""The per-process value files of prometheus_client's multi-process mode, as
``prometheus_client.mmap_dict``: a dict of ``(value, timestamp)`` float pairs in a memory-mapped
file, in the same layout, so files written by either library read the same.

Layout (native byte order): a 4-byte int, the bytes used, then 4 bytes of padding; then one
entry after another: a 4-byte int, the key's UTF-8 length; the key, padded with spaces to the
next multiple of 8 bytes counting the length field (always at least one space); two 8-byte
doubles, the value and a UNIX timestamp in seconds. The file starts at 64 KiB and doubles when
full. Not thread safe: callers lock."""

import json
import mmap
import os
import struct
from collections.abc import Iterator, Sequence
from typing import Any, Union

_INITIAL_MMAP_SIZE = 1 << 16
_HEADER = 8
_INT = struct.Struct("i")
_PAIR = struct.Struct("dd")

_Buffer = Union[bytes, mmap.mmap]


def _padded_length(encoded_length: int) -> int:
    """The key's length with its padding: length field plus key end on a multiple of 8."""
    return encoded_length + 8 - (encoded_length + _INT.size) % 8


def _entries(data: _Buffer, used: int = 0) -> Iterator[tuple[str, float, float, int]]:
    """``(key, value, timestamp, offset of the value)`` of every entry in ``data[:used]``
    (``used`` read from the header when not given). RuntimeError if an entry runs past
    ``used``: the file is corrupt."""
    if used <= 0:
        used = _INT.unpack_from(data, 0)[0]
    pos = _HEADER
    while pos < used:
        length = _INT.unpack_from(data, pos)[0]
        key_start = pos + _INT.size
        value_pos = key_start + (_padded_length(length) if length >= 0 else 0)
        if length < 0 or value_pos + _PAIR.size > used:
            raise RuntimeError("Read beyond file size detected, file is corrupted.")
        key = bytes(data[key_start:key_start + length]).decode("utf-8")
        value, timestamp = _PAIR.unpack_from(data, value_pos)
        yield key, value, timestamp, value_pos
        pos = value_pos + _PAIR.size


class MmapedDict:
    """A dict of ``(value, timestamp)`` pairs backed by a memory-mapped file (created if
    missing; ``read_mode`` maps it read-only)."""

    def __init__(self, filename: str, read_mode: bool = False):
        self._fname = filename
        # Open until close(): the mapping needs the file.
        self._f: Any = open(filename, "rb" if read_mode else "a+b")  # noqa: SIM115
        capacity = os.fstat(self._f.fileno()).st_size
        if capacity == 0:
            self._f.truncate(_INITIAL_MMAP_SIZE)
            capacity = _INITIAL_MMAP_SIZE
        self._capacity = capacity
        access = mmap.ACCESS_READ if read_mode else mmap.ACCESS_WRITE
        self._m: Any = mmap.mmap(self._f.fileno(), capacity, access=access)
        self._positions: dict[str, int] = {}
        self._used = _INT.unpack_from(self._m, 0)[0]
        if self._used == 0:
            self._used = _HEADER
            if not read_mode:
                self._m[0:_INT.size] = _INT.pack(self._used)
        elif not read_mode:
            for key, _, _, pos in _entries(self._m, self._used):
                self._positions[key] = pos

    @staticmethod
    def read_all_values_from_file(filename: str) -> Iterator[tuple[str, float, float, int]]:
        """Every ``(key, value, timestamp, offset)`` of a file, read without mapping it."""
        with open(filename, "rb") as f:
            data = f.read(mmap.PAGESIZE)
            used = _INT.unpack_from(data, 0)[0]
            if used > len(data):
                data += f.read(used - len(data))
        return _entries(data, used)

    def _init_value(self, key: str) -> None:
        """Appends a zero entry for ``key``, growing the file as needed."""
        encoded = key.encode("utf-8")
        padded = encoded.ljust(_padded_length(len(encoded)), b" ")
        entry = _INT.pack(len(encoded)) + padded + _PAIR.pack(0.0, 0.0)
        if self._used + len(entry) > self._capacity:
            while self._used + len(entry) > self._capacity:
                self._capacity *= 2
            self._f.truncate(self._capacity)
            self._m.close()
            self._m = mmap.mmap(self._f.fileno(), self._capacity)
        self._m[self._used:self._used + len(entry)] = entry
        self._used += len(entry)
        # Slice assignment, not pack_into: another process reading the header never sees a
        # half-written value.
        self._m[0:_INT.size] = _INT.pack(self._used)
        self._positions[key] = self._used - _PAIR.size

    def read_all_values(self) -> Iterator[tuple[str, float, float]]:
        """Every ``(key, value, timestamp)``, in the order they were added."""
        for key, value, timestamp, _ in _entries(self._m, self._used):
            yield key, value, timestamp

    def read_value(self, key: str) -> tuple[float, float]:
        """``(value, timestamp)`` of ``key``, adding it as ``(0.0, 0.0)`` if missing."""
        if key not in self._positions:
            self._init_value(key)
        value, timestamp = _PAIR.unpack_from(self._m, self._positions[key])
        return value, timestamp

    def write_value(self, key: str, value: float, timestamp: float) -> None:
        """Sets ``key`` to ``(value, timestamp)``."""
        if key not in self._positions:
            self._init_value(key)
        pos = self._positions[key]
        self._m[pos:pos + _PAIR.size] = _PAIR.pack(value, timestamp)

    def close(self) -> None:
        """Unmaps and closes the file (again is a no-op)."""
        if self._f is not None:
            self._m.close()
            self._m = None
            self._f.close()
            self._f = None


def mmap_key(metric_name: str, name: str, labelnames: Sequence[str],
             labelvalues: Sequence[str], help_text: str) -> str:
    """The key of one sample in a value file: JSON of the family name, sample name, labels and
    help, with sorted keys so the same labels always give the same key."""
    labels = dict(zip(labelnames, labelvalues))
    return json.dumps([metric_name, name, labels, help_text], sort_keys=True)


__all__ = ["MmapedDict", "mmap_key"]
