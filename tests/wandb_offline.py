"""Read back what W&B wrote offline: the runs under DIR/wandb, from their transaction logs (run-<id>.wandb).

The log is W&B's LevelDB-style record file (a 7-byte header ':W&B', magic, version; then 32 KiB blocks of records,
each a 7-byte header -- CRC32C, length, type: full, first, middle or last part -- and a protobuf `Record`). W&B's
Python package no longer ships a reader (its service, written in Go, does), so the tests carry this one.
"""

import json
import struct
from dataclasses import dataclass, field
from pathlib import Path

from wandb.proto import wandb_internal_pb2

BLOCK = 32 * 1024
HEADER = 7
FULL, FIRST, MIDDLE, LAST = 1, 2, 3, 4


def records(path: Path):
    """Every complete record of a transaction log (a record cut short by a killed process ends the scan)."""
    data = path.read_bytes()
    assert data[:4] == b":W&B", path
    pos, parts = HEADER, b""
    while pos + HEADER <= len(data):
        left = BLOCK - pos % BLOCK
        if left < HEADER:  # a block's tail too short for a header is padding
            pos += left
            continue
        _, length, kind = struct.unpack("<IHB", data[pos : pos + HEADER])
        if kind == 0:  # zero padding to the block's end
            pos += left
            continue
        if pos + HEADER + length > len(data):
            return
        parts += data[pos + HEADER : pos + HEADER + length]
        pos += HEADER + length
        if kind in (FULL, LAST):
            record = wandb_internal_pb2.Record()
            record.ParseFromString(parts)
            yield record
            parts = b""


@dataclass
class OfflineRun:
    """One offline run directory: the run's id, config and history rows (each {key: value}, '_step' included)."""

    path: Path
    run_id: str = ""
    config: dict = field(default_factory=dict)
    history: list[dict] = field(default_factory=list)

    def steps(self, key: str) -> list[int]:
        """The steps at which `key` was logged."""
        return [row["_step"] for row in self.history if key in row]

    def logged(self) -> set[str]:
        return {key for row in self.history for key in row}


def offline_runs(directory: Path) -> list[OfflineRun]:
    """The offline runs W&B wrote under directory/wandb, oldest first (those killed before writing any record
    included, with no id). W&B's service in this process is shut down first: a finished run's last records reach
    its file only then."""
    import wandb

    wandb.teardown()
    runs = []
    for run_dir in sorted((directory / "wandb").glob("offline-run-*")):
        run = OfflineRun(run_dir)
        for log in run_dir.glob("run-*.wandb"):
            for record in records(log):
                kind = record.WhichOneof("record_type")
                if kind == "run":
                    run.run_id = record.run.run_id
                    run.config |= {i.key: json.loads(i.value_json) for i in record.run.config.update}
                elif kind == "history":
                    row = {i.key or "/".join(i.nested_key): json.loads(i.value_json) for i in record.history.item}
                    run.history.append(row)
        runs.append(run)
    return runs
