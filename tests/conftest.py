"""Shared fixtures: a real API server process per test session for the e2e tier."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from serverproc import ServerProcess, free_port  # noqa: E402


@pytest.fixture(scope="session")
def apiserver(tmp_path_factory) -> ServerProcess:
    server = ServerProcess(tmp_path_factory.mktemp("cluster") / "data", free_port())
    server.start()
    yield server
    server.stop()
