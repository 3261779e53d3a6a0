"""The node's pod network as CNI configuration: one bridge per node, one podCIDR.

The kubelet owns this file (as kubenet did upstream) because only it knows the podCIDR the
node IPAM controller assigned to its Node; containerd's CRI plugin watches the conf dir and
runs the plugins for every sandbox. The chain is ``bridge`` (a gateway on the node, hairpin so
a pod reaches itself through a Service) with ``host-local`` IPAM, then ``portmap`` for
hostPorts. Traffic leaving the pod CIDR is masqueraded by one rule per podCIDR that the
kubelet adds (:mod:`..podnetwork`), not by the bridge's ``ipMasq``: that makes a chain and
three rules per pod, some nine iptables runs behind one lock per sandbox, which was most of
RunPodSandbox's time when 30 pods start at once. The loopback interface is not in the
chain: containerd brings ``lo`` up itself with the ``loopback`` binary from the same bin dir
(a chained ``loopback`` plugin would act on ``eth0``). host-local keeps its allocations under
the kubelet root so several nodes on one machine never hand out the same address twice.
"""

from __future__ import annotations

import ipaddress
import json
import os
from pathlib import Path

CNI_VERSION = "1.0.0"
CONF_NAME = "10-pyk8s.conflist"
DEFAULT_BRIDGE = "cni0"
DEFAULT_NETWORK = "pyk8s"


def conflist(pod_cidrs: str | list[str], *, data_dir: str, bridge: str = DEFAULT_BRIDGE,
             network: str = DEFAULT_NETWORK) -> dict:
    """The conflist for ``pod_cidrs`` (one, or one per IP family for dual-stack)."""
    cidrs = [pod_cidrs] if isinstance(pod_cidrs, str) else list(pod_cidrs)
    if not cidrs:
        raise ValueError("no podCIDR")
    if len(bridge) > 15:
        raise ValueError(f"bridge name {bridge!r} is longer than 15 characters")
    nets = [ipaddress.ip_network(c, strict=True) for c in cidrs]
    routes = [{"dst": "0.0.0.0/0" if n.version == 4 else "::/0"} for n in nets]
    return {
        "cniVersion": CNI_VERSION,
        "name": network,
        "plugins": [
            {
                "type": "bridge",
                "bridge": bridge,
                "isGateway": True,
                "ipMasq": False,
                "hairpinMode": True,
                "ipam": {
                    "type": "host-local",
                    "ranges": [[{"subnet": str(n)}] for n in nets],
                    "routes": routes,
                    "dataDir": data_dir,
                },
            },
            {"type": "portmap", "capabilities": {"portMappings": True}},
        ],
    }


def write_conflist(conf_dir: str | Path, pod_cidrs: str | list[str], *, data_dir: str,
                   bridge: str = DEFAULT_BRIDGE, network: str = DEFAULT_NETWORK) -> bool:
    """Write the conflist atomically; False (and no write) when it is already current.

    Rewriting an unchanged file would make containerd reload its CNI config for nothing.
    """
    conf_dir = Path(conf_dir)
    conf_dir.mkdir(parents=True, exist_ok=True)
    text = json.dumps(conflist(pod_cidrs, data_dir=data_dir, bridge=bridge, network=network),
                      indent=2) + "\n"
    path = conf_dir / CONF_NAME
    if path.exists() and path.read_text() == text:
        return False
    tmp = conf_dir / f".{CONF_NAME}.tmp"
    tmp.write_text(text)
    os.replace(tmp, path)
    return True
