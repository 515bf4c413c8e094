"""Run files: atomic writes, checksummed payloads, and the lock that keeps one process per run directory.

Atomic: a temporary file in the target's directory, then os.replace -- a reader (or a run resumed after a kill)
sees the old file or the new one, never half of one. Temporary files are created with mode 0o666 less the umask,
as open() creates ordinary files, so that a run directory on shared storage is as readable to a group as any
other file the user writes.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import itertools
import json
import os
import socket
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

import filelock
import numpy as np

from theory.errors import InputError

FAULT = "ICLVERIFY_FAULT"  # tests of recovery: "write:K" or "write:NAME" kills the process in the middle of a write
_writes = itertools.count(1)


@contextlib.contextmanager
def atomic(path: Path, previous: Path | None = None) -> Iterator[BinaryIO]:
    """A binary file to write that replaces `path` only once it is complete (and is removed if writing fails); with
    `previous`, the file it replaces is kept there (renamed just before, so a kill between the two renames leaves
    the previous file, never a half-written one)."""
    tmp = path.with_name(f".tmp-{uuid.uuid4().hex}-{path.name}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # the umask applies, as for open(..., "w")
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            _fault(f, path)
            os.fsync(f.fileno())  # on disk before the rename: a crash leaves the old file or the whole new one
        if previous is not None and path.exists():
            os.replace(path, previous)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _fault(f: BinaryIO, path: Path) -> None:
    """Tests of recovery only: with ICLVERIFY_FAULT=write:K (the K-th atomic write of this process) or write:NAME
    (the first write of a file so named), that write is cut to half its bytes and the process exits at once
    (status 17), as a process killed while writing would."""
    spec = os.environ.get(FAULT, "")
    if not spec.startswith("write:"):
        return
    target, count = spec.removeprefix("write:"), next(_writes)
    if (int(target) == count) if target.isdigit() else (path.name == target):
        f.truncate(f.tell() // 2)
        os._exit(17)


def write_json(path: Path, data: object) -> None:
    """Atomic JSON write."""
    with atomic(path) as f:
        f.write((json.dumps(data, indent=1) + "\n").encode())


def write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Atomic compressed .npz write."""
    with atomic(path) as f:
        np.savez_compressed(f, **arrays)


# ---- checksummed files ----------------------------------------------------------------------------------------
DIGEST = hashlib.sha256().digest_size


class DamagedFile(InputError):
    """A run file that cannot be read back as written (cut short, altered): its checksum does not match."""


def write_checked(path: Path, payload: bytes, previous: Path | None = None) -> None:
    """Atomic write of `payload` followed by its SHA-256 digest, so that a damaged copy is detected on reading;
    the file it replaces is kept as `previous` (see `atomic`)."""
    with atomic(path, previous) as f:
        f.write(payload)
        f.write(hashlib.sha256(payload).digest())


def read_checked(path: Path) -> io.BytesIO:
    """The payload `write_checked` wrote; DamagedFile naming the file when its digest does not match."""
    data = path.read_bytes()
    payload, digest = data[:-DIGEST], data[-DIGEST:]
    if len(data) < DIGEST or hashlib.sha256(payload).digest() != digest:
        raise DamagedFile(f"{path} is damaged (cut short or altered: {len(data)} bytes, checksum does not match)")
    return io.BytesIO(payload)


# ---- one process per run directory ----------------------------------------------------------------------------
class RunLocked(InputError):
    """Another process holds the run directory's lock (a ValueError subclass: one line on the command line)."""


@contextlib.contextmanager
def locked(directory: Path, wait: bool = False) -> Iterator[None]:
    """Hold DIR/run.lock (an operating-system lock, filelock) while a process works on the run: a second process
    waits (`wait`) or gets RunLocked naming the holder's host and pid (DIR/run.holder). The operating system
    releases the lock of a process that dies, so a killed run's lock is taken over at once."""
    lock = filelock.FileLock(directory / "run.lock", timeout=-1 if wait else 0)
    try:
        lock.acquire()
    except filelock.Timeout:
        holder = directory / "run.holder"
        who = holder.read_text().strip() if holder.is_file() else "another process"
        raise RunLocked(
            f"{directory} is being run by {who}: wait for it to finish (its run.log says how far it is), or stop it"
        ) from None
    try:
        started = datetime.now().isoformat(timespec="seconds")
        with atomic(directory / "run.holder") as f:
            f.write(f"host {socket.gethostname()} pid {os.getpid()} (since {started})\n".encode())
        yield
    finally:
        lock.release()
