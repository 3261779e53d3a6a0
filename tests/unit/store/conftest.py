"""Store fixtures: a throwaway etcd per test for the etcd variants of the contract suite.

Every contract test expects a fresh store (revision 0, nothing compacted), and an etcd's
revision is global, so each etcd test gets its own etcd process (~0.2 s to start).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Iterator

import pytest

sys.path.insert(0, str(Path(__file__).parents[2]))

from etcdproc import EtcdProcess  # noqa: E402


@pytest.fixture
def etcd(tmp_path: Path) -> Iterator[EtcdProcess]:
    proc = EtcdProcess(tmp_path / "etcd").start()
    try:
        yield proc
    finally:
        proc.stop()
