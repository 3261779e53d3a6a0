"""Fixtures of the node acceptance suites: one ``pyk8s server`` in its own network
namespace for the whole session (starting a node costs seconds), a namespace per test."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

sys.path[:0] = [str(Path(__file__).parent), str(Path(__file__).parent.parent)]

from nodekit import NodeHost  # noqa: E402


@pytest.fixture(scope="session")
def node(tmp_path_factory) -> NodeHost:
    host = NodeHost(tmp_path_factory.mktemp("netns-node"))
    try:
        host.start()
        yield host
    finally:
        host.stop()


@pytest.fixture
def ns(node, request) -> str:
    """A namespace of the test's own, named after it."""
    return node.namespace(re.sub(r"[^a-z0-9-]+", "-", request.node.name.lower()).strip("-"))


@pytest.fixture
def kubectl(node, ns):
    """kubectl on the node, defaulting to the test's namespace."""
    node.kubectl.env["POD_NAMESPACE"] = ns
    return node.kubectl
