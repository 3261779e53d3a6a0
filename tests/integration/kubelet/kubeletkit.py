"""What the kubelet integration tests share (polling is tests/polling.py): the node's own
kubeconfig, and a namespace ready for pods (used by the ``admin`` and ``namespace``
fixtures in conftest.py)."""

from __future__ import annotations

import secrets
from pathlib import Path

from pyk8s import pki


def node_kubeconfig(apiserver, node: str, directory: Path) -> Path:
    """A kubeconfig for ``system:node:<node>`` signed by the test server's CA."""
    ca = pki.ensure_ca(apiserver.data_dir / "pki")
    return pki.ensure_client_kubeconfig(ca, directory, directory / "kubelet.conf",
                                        apiserver.url, cert_name="kubelet",
                                        common_name=f"system:node:{node}",
                                        organizations=("system:nodes",))


async def create_pod_namespace(admin) -> str:
    """A fresh namespace with what pods in it need before any controller runs: the
    ``default`` ServiceAccount and the ``kube-root-ca.crt`` ConfigMap the projected
    kube-api-access volume reads (the root-ca-cert-publisher's job upstream)."""
    name = f"kl-{secrets.token_hex(4)}"
    await admin.api("v1", "Namespace").create({"metadata": {"name": name}})
    await admin.api("v1", "ServiceAccount").create({"metadata": {"name": "default"}},
                                                   namespace=name)
    await admin.api("v1", "ConfigMap").create(
        {"metadata": {"name": "kube-root-ca.crt"}, "data": {"ca.crt": "test-ca"}},
        namespace=name)
    return name
