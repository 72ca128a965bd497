"""Sending a whole COPY payload to PostgreSQL without holding the GIL.

psycopg writes COPY data in 128 kB pieces, each with a non-blocking send and a flush loop
that waits for the socket between attempts, taking the GIL back after every wait. A
batch of `users` rows is about 1 MB of binary COPY: dozens of GIL hand-overs per batch,
and each one stops the runner's main thread, which is busy mapping the next batch, until
the apply thread has run and let go again (docs/architecture.md, "the GIL").

`GilFreeWriter` puts the payload into libpq with one `PQputCopyData` call and lets libpq
send it all, in blocking mode, inside that one call: through ctypes, which releases the
GIL for the duration of a foreign call. It uses the libpq that psycopg itself loaded,
found by its path in this process's memory map, and the `PGconn` pointer psycopg exposes
for this (`PGconn.pgconn_ptr`). Where either is missing (another platform, psycopg's pure
Python implementation without a libpq path), `writer_for` returns None and psycopg's own
writer is used: the same bytes reach the server either way.
"""

from __future__ import annotations

import ctypes
from functools import cache
from typing import Any

import psycopg
from psycopg.copy import LibpqWriter

# one PQputCopyData call carries less than 2 GiB (its length is an int); a larger payload
# goes in several
_MAX_PIECE = 1 << 30


@cache
def _libpq() -> Any | None:
    """psycopg's libpq, loaded again by its path (the same library: dlopen returns the
    handle it already has), with the three functions used here; None when not found."""
    try:
        with open("/proc/self/maps") as f:
            paths = {line.split()[-1] for line in f if "/libpq" in line and ".so" in line}
    except OSError:
        return None
    if len(paths) != 1:  # none, or two libpqs in one process: do not guess which one
        return None
    try:
        lib = ctypes.CDLL(paths.pop())
        put, flush = lib.PQputCopyData, lib.PQflush
        set_nonblocking, is_nonblocking = lib.PQsetnonblocking, lib.PQisnonblocking
    except (OSError, AttributeError):
        return None
    put.argtypes, put.restype = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int], ctypes.c_int
    flush.argtypes, flush.restype = [ctypes.c_void_p], ctypes.c_int
    set_nonblocking.argtypes, set_nonblocking.restype = [ctypes.c_void_p, ctypes.c_int], ctypes.c_int
    is_nonblocking.argtypes, is_nonblocking.restype = [ctypes.c_void_p], ctypes.c_int
    return lib


class GilFreeWriter(LibpqWriter):
    """psycopg's COPY writer, but each `write` sends its bytes in one foreign call that
    returns when libpq has handed them all to the socket (the GIL released meanwhile).
    The end of the COPY and its result are psycopg's (`LibpqWriter.finish`)."""

    def __init__(self, cursor: psycopg.Cursor[Any], lib: Any) -> None:
        super().__init__(cursor)
        self._lib = lib

    def write(self, data: Any) -> None:
        data = bytes(data) if not isinstance(data, bytes) else data
        ptr = self._pgconn.pgconn_ptr
        if ptr is None:
            raise psycopg.OperationalError("the connection is closed")
        lib = self._lib
        # blocking mode: PQputCopyData then sends what it buffered, waiting on the socket
        # itself instead of returning to psycopg's wait loop (psycopg's is non-blocking)
        was = lib.PQisnonblocking(ptr)
        if was and lib.PQsetnonblocking(ptr, 0) != 0:
            raise psycopg.OperationalError(self._error("cannot leave non-blocking mode"))
        try:
            for start in range(0, len(data), _MAX_PIECE):
                piece = data[start:start + _MAX_PIECE] if len(data) > _MAX_PIECE else data
                if lib.PQputCopyData(ptr, piece, len(piece)) != 1 or lib.PQflush(ptr) != 0:
                    raise psycopg.OperationalError(self._error("sending COPY data failed"))
        finally:
            if was:
                lib.PQsetnonblocking(ptr, 1)

    def _error(self, what: str) -> str:
        detail = self._pgconn.error_message.decode("utf-8", "replace").strip()
        return f"{what}: {detail}" if detail else what


def writer_for(cursor: psycopg.Cursor[Any]) -> GilFreeWriter | None:
    """A GilFreeWriter for `cursor`'s connection, or None (psycopg's writer then)."""
    lib = _libpq()
    if lib is None or getattr(cursor.connection.pgconn, "pgconn_ptr", None) is None:
        return None
    return GilFreeWriter(cursor, lib)
