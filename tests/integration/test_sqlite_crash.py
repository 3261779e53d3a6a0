"""SIGKILL a process writing to a SQLiteStore: every acknowledged write must survive.

The child (sqlite_crash_writer.py) prints each write right after the store acknowledged
it; whatever it printed before the kill must be in the file when the store reopens.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from pyk8s.store.sqlite import SQLiteStore

HELPER = Path(__file__).with_name("sqlite_crash_writer.py")


def value(key: str, version: int) -> bytes:
    return f"{key}#{version}#".encode() + b"x" * 200


def run_and_kill(db: Path, tag: str, out: Path, kill_after: float) -> dict[str, int]:
    """Run the writer, SIGKILL it ``kill_after`` s into its load; return acknowledged writes."""
    with out.open("wb") as sink:
        proc = subprocess.Popen([sys.executable, str(HELPER), str(db), tag, "8"], stdout=sink)
    try:
        deadline = time.monotonic() + 10
        while out.stat().st_size < 1000:  # under load before the clock starts
            assert proc.poll() is None, "writer exited early"
            assert time.monotonic() < deadline, "writer never started writing"
            time.sleep(0.02)
        time.sleep(kill_after)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    acked: dict[str, int] = {}
    for line in out.read_text().split("\n")[:-1]:  # a torn last line was not printed whole
        key, version = line.split()
        acked[key] = max(acked.get(key, 0), int(version))
    return acked


async def test_acknowledged_writes_survive_sigkill(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    last_revision = 0
    for n, kill_after in enumerate([0.3, 1.0, 1.7]):
        acked = run_and_kill(db, f"run{n}", tmp_path / f"out{n}.txt", kill_after)
        assert len(acked) > 100, "the writer acknowledged too little to test anything"
        store = SQLiteStore(str(db))
        await store.start()
        try:
            revision = await store.current_revision()
            assert revision > last_revision
            listed = {kv.key: kv for kv in (await store.list(f"/crash/run{n}/")).items}
            missing = [key for key in acked if key not in listed]
            assert not missing, f"{len(missing)} acknowledged keys lost, e.g. {missing[:3]}"
            for key, version in acked.items():
                kv = listed[key]
                # a write that committed but was not yet printed may be newer: never older
                assert kv.value in (value(key, version), value(key, 1)), key
                assert kv.mod_revision <= revision
            # the reopened store keeps working and keeps counting up
            assert await store.create(f"/after/run{n}", b"ok") > revision
            last_revision = await store.current_revision()
        finally:
            await store.close()
