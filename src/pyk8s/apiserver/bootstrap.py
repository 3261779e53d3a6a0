"""What exists from the first start: system namespaces and the ``kubernetes`` Service.

As kube-apiserver's bootstrap controller does, the API server makes sure the
namespaces default, kube-system, kube-public and kube-node-lease exist and that the
``default/kubernetes`` Service holds the first address of the service range (its
Endpoints, which list every live API server, are
:mod:`pyk8s.apiserver.endpointreconciler`'s). It also marks the IPs and ports of the
Services already stored in the allocators.
"""

from __future__ import annotations

import ipaddress
import logging

from . import errors
from .context import ServerContext
from .objects import ObjectStore, from_kv
from .strategy import get_path

log = logging.getLogger(__name__)

SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")


async def restore_allocators(ctx: ServerContext) -> None:
    services = ctx.registry.get("", "v1", "services")
    listing = await ctx.store.list(services.prefix)
    for kv in listing.items:
        svc = from_kv(kv)
        for ip in get_path(svc, "spec", "clusterIPs", default=[]) or []:
            if ip and ip != "None":
                ctx.cluster_ips.mark_used(ip)
        for port in get_path(svc, "spec", "ports", default=[]) or []:
            if port.get("nodePort"):
                ctx.node_ports.mark_used(port["nodePort"])
        if get_path(svc, "spec", "healthCheckNodePort"):
            ctx.node_ports.mark_used(svc["spec"]["healthCheckNodePort"])


async def ensure_system_objects(ctx: ServerContext) -> None:
    objects = ObjectStore(ctx)
    namespaces = ctx.registry.get("", "v1", "namespaces")
    for name in SYSTEM_NAMESPACES:
        try:
            await objects.create(namespaces, {"metadata": {"name": name}}, None)
            log.info("created namespace %s", name)
        except errors.APIError as err:
            if err.code != 409:
                raise
    await _ensure_kubernetes_service(ctx, objects)


def first_service_ip(cidr: str) -> str:
    return str(next(ipaddress.ip_network(cidr).hosts()))


async def _ensure_kubernetes_service(ctx: ServerContext, objects: ObjectStore) -> None:
    services = ctx.registry.get("", "v1", "services")
    ip = first_service_ip(ctx.config["service_cidr"])
    svc = {
        "metadata": {"name": "kubernetes", "namespace": "default",
                     "labels": {"component": "apiserver", "provider": "kubernetes"}},
        "spec": {"type": "ClusterIP", "clusterIP": ip, "clusterIPs": [ip],
                 "sessionAffinity": "None",
                 "ports": [{"name": "https", "port": 443, "protocol": "TCP",
                            "targetPort": ctx.config["secure_port"]}]},
    }
    try:
        # as upstream's bootstrap controller: GET first; a create of an existing service
        # fails IP allocation (422) before it could fail as AlreadyExists
        await objects.get(services, "default", "kubernetes")
        return
    except errors.APIError as err:
        if err.code != 404:
            raise
    try:
        await objects.create(services, svc, "default")
        log.info("created service default/kubernetes at %s", ip)
    except errors.APIError as err:
        if err.code != 409:
            raise

