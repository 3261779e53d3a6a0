"""Builders for scheduler unit tests: plain-dict pods and nodes, NodeInfos."""

from __future__ import annotations

from pyk8s.scheduler.cache import Snapshot
from pyk8s.scheduler.framework.types import NodeInfo, PodInfo


def make_pod(name: str = "p", *, ns: str = "default", cpu: str | None = None,
             memory: str | None = None, labels: dict | None = None, node: str = "",
             priority: int = 0, ports: list | None = None, **spec) -> dict:
    requests = {k: v for k, v in (("cpu", cpu), ("memory", memory)) if v}
    container = {"name": "c", "image": "img"}
    if requests:
        container["resources"] = {"requests": requests}
    if ports:
        container["ports"] = ports
    body = {"metadata": {"name": name, "namespace": ns, "labels": labels or {},
                         "uid": f"uid-{name}"},
            "spec": {"containers": [container], "priority": priority, **spec}}
    if node:
        body["spec"]["nodeName"] = node
    return body


def make_node(name: str, *, cpu: str = "4", memory: str = "8Gi", pods: str = "110",
              labels: dict | None = None, taints: list | None = None, **spec) -> dict:
    return {"metadata": {"name": name, "labels": {"kubernetes.io/hostname": name,
                                                  **(labels or {})}},
            "spec": {"taints": taints or [], **spec},
            "status": {"allocatable": {"cpu": cpu, "memory": memory, "pods": pods}}}


def node_info(node: dict, *pods: dict) -> NodeInfo:
    info = NodeInfo()
    info.set_node(node)
    for pod in pods:
        info.add_pod(PodInfo(pod))
    return info


def snapshot(*infos: NodeInfo) -> Snapshot:
    return Snapshot.of(list(infos))


class FakeHandle:
    def __init__(self, snap: Snapshot) -> None:
        self.snapshot = snap
        self.namespace_labels: dict = {}
        self.nominator = None
