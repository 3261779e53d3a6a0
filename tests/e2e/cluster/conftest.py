"""Fixtures for the cluster acceptance tests: one real ``pyk8s server`` per test module.

``cluster`` is the started server (API server + controller manager + scheduler as
processes) with three hollow nodes, ``hollow-a-0``/``hollow-b-0``/``hollow-c-0`` in zones
a/b/c, each its own ``pyk8s hollow-nodes`` process so one can be stopped alone.
``kubectl`` runs the real kubectl against it; ``ns`` is a namespace of the test's own,
once its ``default`` ServiceAccount exists (the serviceaccount controller makes it).
"""

from __future__ import annotations

import re
import sys
import uuid
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent.parent))  # tests/e2e: kubectl_cli
sys.path.insert(0, str(Path(__file__).parent))

from clusterkit import Cluster, wait_until  # noqa: E402
from kubectl_cli import Kubectl  # noqa: E402

ZONES = ("a", "b", "c")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    c = Cluster(tmp_path_factory.mktemp("pyk8s-cluster"))
    try:
        c.start()
        for zone in ZONES:
            c.add_node(f"hollow-{zone}-", zone, wait=False)
        for name in c.nodes:
            wait_until(lambda: c.node_ready(name), 60, f"node {name} Ready")
        yield c
    finally:
        c.stop()


@pytest.fixture
def kubectl(cluster, tmp_path) -> Kubectl:
    return Kubectl(cluster.kubeconfig, tmp_path)


@pytest.fixture
def ns(kubectl, request) -> str:
    base = re.sub(r"[^a-z0-9-]+", "-", request.node.name.lower()).strip("-")[:40].strip("-")
    name = f"{base}-{uuid.uuid4().hex[:5]}"
    kubectl("create", "namespace", name)
    wait_until(lambda: kubectl("get", "serviceaccount", "default", "-n", name,
                               check=False).returncode == 0,
               30, f"the default ServiceAccount in {name}")
    return name
