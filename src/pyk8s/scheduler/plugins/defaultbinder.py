"""DefaultBinder: binds through the pods/binding subresource, as upstream."""

from __future__ import annotations

from ...client.errors import ClientError
from ..framework.interface import CycleState, Status, error

NAME = "DefaultBinder"


class DefaultBinder:
    name = NAME

    def __init__(self, client: object) -> None:
        self.pods = client.api("v1", "Pod")

    async def bind(self, state: CycleState, pod: dict, node_name: str) -> Status | None:
        meta = pod["metadata"]
        body = {"apiVersion": "v1", "kind": "Binding",
                "metadata": {"name": meta["name"], "namespace": meta["namespace"],
                             "uid": meta.get("uid")},
                "target": {"apiVersion": "v1", "kind": "Node", "name": node_name}}
        try:
            await self.pods.create(body, namespace=meta["namespace"], name=meta["name"],
                                   subresource="binding")
        except ClientError as err:
            return error(f"binding rejected: {err}")
        return None


def new(args: dict, handle) -> DefaultBinder:
    return DefaultBinder(handle.client)
