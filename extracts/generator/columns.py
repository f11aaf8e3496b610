"""Building pyarrow string columns fast: ids, ISO dates and timestamps, code labels.

Fixed-width strings are assembled as byte matrices and wrapped as Arrow buffers, which is
an order of magnitude faster than per-value formatting for millions of rows.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from extracts.generator.clock import DAY, HOUR, MINUTE

_SYMBOLS = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)

Piece = str | tuple[np.ndarray, int, int]
"""Literal ASCII text, or (non-negative ints, digits, base) printed zero-padded."""


def _fixed_width(n: int, pieces: list[Piece]) -> pa.Array:
    """Per row, the concatenation of `pieces`, as a pyarrow string array.

    Filled column by column into one (rows, width) byte matrix, so memory stays O(rows).
    """
    width = sum(len(p) if isinstance(p, str) else p[1] for p in pieces)
    chars = np.empty((n, width), dtype=np.uint8)
    at = 0
    for piece in pieces:
        if isinstance(piece, str):
            chars[:, at : at + len(piece)] = np.frombuffer(piece.encode("ascii"), dtype=np.uint8)
            at += len(piece)
            continue
        values, digits, base = piece
        rest = values.copy()
        for i in range(digits - 1, -1, -1):
            chars[:, at + i] = _SYMBOLS[rest % base]
            rest //= base
        at += digits
    offsets = np.arange(n + 1, dtype=np.int32) * width
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(chars))


def format_ids(prefix: str, values: np.ndarray, width: int) -> pa.Array:
    """`prefix` + zero-padded decimal, e.g. ("AC", 12, 5) -> "AC00012"."""
    return _fixed_width(len(values), [prefix, (values.astype(np.int64), width, 10)])


def format_hex(prefix: str, values: np.ndarray) -> pa.Array:
    """`prefix` + 16 hex digits of a uint64: opaque, and unique when the values are."""
    return _fixed_width(len(values), [prefix, (values.astype(np.uint64), 16, 16)])


def _date_pieces(days: np.ndarray) -> list[Piece]:
    d = days.astype("datetime64[D]")
    month_start = d.astype("datetime64[M]")
    year = d.astype("datetime64[Y]").astype(np.int64) + 1970
    month = month_start.astype(np.int64) % 12 + 1
    day = (d - month_start.astype("datetime64[D]")).astype(np.int64) + 1
    return [(year, 4, 10), "-", (month, 2, 10), "-", (day, 2, 10)]


def format_dates(days: np.ndarray) -> pa.Array:
    """Days since the epoch -> "YYYY-MM-DD"."""
    return _fixed_width(len(days), _date_pieces(days))


def format_timestamps(t: np.ndarray) -> pa.Array:
    """Epoch seconds -> ISO-8601 UTC "YYYY-MM-DDTHH:MM:SSZ"."""
    days, sod = np.divmod(t.astype(np.int64), DAY)
    hours, rem = np.divmod(sod, HOUR)
    minutes, seconds = np.divmod(rem, MINUTE)
    time = ["T", (hours, 2, 10), ":", (minutes, 2, 10), ":", (seconds, 2, 10), "Z"]
    return _fixed_width(len(t), [*_date_pieces(days), *time])


def labels(values: tuple[str, ...], codes: np.ndarray) -> pa.Array:
    """`values[code]` for each code."""
    return pa.array(values, pa.string()).take(pa.array(codes))


def labels_or_null(values: tuple[str, ...] | pa.Array, codes: np.ndarray) -> pa.Array:
    """`values[code]`, null where the code is negative."""
    array = values if isinstance(values, pa.Array) else pa.array(values, pa.string())
    return array.take(pa.array(np.maximum(codes, 0), mask=codes < 0))
