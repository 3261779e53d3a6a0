"""Fixtures of the node acceptance suites: one ``pyk8s server`` in its own network
namespace for the whole session (starting a node costs seconds), a namespace per test."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

sys.path[:0] = [str(Path(__file__).parent), str(Path(__file__).parent.parent)]

from kubectl_cli import Kubectl  # noqa: E402
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
def kubectl(node, ns, tmp_path) -> Kubectl:
    """kubectl on the node whose kubeconfig context defaults to the test's namespace."""
    kubeconfig = tmp_path / "kubeconfig"
    shutil.copy(node.data_dir / "admin.conf", kubeconfig)
    subprocess.run(["kubectl", "config", "set-context", "--current", f"--namespace={ns}",
                    "--kubeconfig", str(kubeconfig)], check=True, capture_output=True)
    bound = Kubectl(kubeconfig, tmp_path)
    bound.prefix = node.nsenter()
    return bound
