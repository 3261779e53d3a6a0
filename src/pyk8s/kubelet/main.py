"""``pyk8s kubelet``: the node agent's process, wiring its parts together.

Start-up follows the kubelet: connect with the given kubeconfig (the admin one in
tests, ``system:node:<name>`` credentials in a real cluster), register the Node, start
the informers (pods with ``spec.nodeName=<node>``, Services for the environment),
then run until SIGTERM: the node status loop, the Lease heartbeat, the pod workers
with their relist, the static pods when ``--pod-manifest-path`` is set, and the HTTPS
server for logs and exec (``server.py``) when a ``--port`` is given. On stop
the workers end but containers keep running, so a restarted kubelet adopts its pods
(their containers are found again by the labels they carry).
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
from dataclasses import dataclass, field
from pathlib import Path

from .. import pki
from ..client import Client, Config, EventRecorder, SharedInformerFactory, load_config
from ..client.informers import DeletedFinalStateUnknown
from .actions import RestartBackoff
from .kuberuntime import PodRuntime, RuntimeOptions
from .lease import NodeLease
from .nodestatus import KUBELET_PORT, NodeStatusManager, allocatable, read_machine
from .podworkers import PodWorkers
from .runtime import Runtime
from .server import KubeletServer, ServerTLS, SubjectAccessReviewer
from .static import StaticPods, is_mirror, is_static
from .volumes import VolumeManager

log = logging.getLogger("pyk8s.kubelet")

SYNC_TIMEOUT = 60.0


@dataclass
class KubeletOptions:
    node_name: str
    root_dir: str = "/var/lib/pyk8s/kubelet"
    container_runtime_endpoint: str = "unix:///run/containerd/containerd.sock"
    pod_manifest_path: str = ""
    node_ip: str = ""
    pod_cidr: str = ""
    cluster_dns: tuple[str, ...] = ()
    cluster_domain: str = "cluster.local"
    node_status_update_frequency: float = 10.0
    lease_duration: int = 40
    lease_renew_interval: float = 10.0
    relist_period: float = 1.0
    pod_resync: float = 10.0
    static_period: float = 20.0
    labels: dict[str, str] = field(default_factory=dict)
    port: int = 0  # the HTTPS server's port (the CLI's default 10250); 0: no server
    address: str = "0.0.0.0"
    tls_cert_file: str = ""
    tls_private_key_file: str = ""
    client_ca_file: str = ""
    authorization_mode: str = "Webhook"  # or AlwaysAllow (any authenticated client)


def detect_node_ip() -> str:
    try:
        return socket.gethostbyname(socket.gethostname())
    except OSError:
        return "127.0.0.1"


def connect_runtime(endpoint: str) -> Runtime:
    from .runtime.cri import CRIRuntime

    return CRIRuntime(endpoint)


async def run(opts: KubeletOptions, config: Config, stop: asyncio.Event, *,
              runtime: Runtime, ready: asyncio.Event | None = None) -> None:
    """Run the kubelet until ``stop`` is set."""
    os.makedirs(opts.root_dir, exist_ok=True)
    node_ip = opts.node_ip or detect_node_ip()
    async with Client(config) as client, \
            EventRecorder(client, reporting_controller="kubelet",
                          reporting_instance=opts.node_name) as recorder:
        nodes = NodeStatusManager(client, runtime, node_name=opts.node_name, node_ip=node_ip,
                                  root_dir=opts.root_dir, pod_cidr=opts.pod_cidr, labels=opts.labels,
                                  update_frequency=opts.node_status_update_frequency,
                                  kubelet_port=opts.port or KUBELET_PORT)
        if not await nodes.register(stop):
            return
        lease = NodeLease(client, opts.node_name, lambda: nodes.uid,
                          duration=opts.lease_duration, renew_interval=opts.lease_renew_interval)
        factory = SharedInformerFactory(client)
        pods = factory.informer("v1", "Pod", field_selector=f"spec.nodeName={opts.node_name}")
        services = factory.informer("v1", "Service")
        factory.start()
        server: KubeletServer | None = None
        try:
            if not await factory.wait_for_sync(SYNC_TIMEOUT):
                log.warning("informers did not sync within %.0fs; starting anyway",
                            SYNC_TIMEOUT)
            machine_allocatable = allocatable(read_machine(opts.root_dir))
            backoff = RestartBackoff()
            pod_runtime = PodRuntime(
                client, runtime, recorder,
                RuntimeOptions(node_name=opts.node_name, host_ip=node_ip,
                               log_root=os.path.join(opts.root_dir, "pod-logs"),
                               cluster_dns=opts.cluster_dns,
                               cluster_domain=opts.cluster_domain),
                services=services.store, allocatable=machine_allocatable, backoff=backoff)
            volumes = VolumeManager(client, opts.root_dir, allocatable=machine_allocatable)
            static: StaticPods | None = None

            def target(pod: dict):
                if is_static(pod):
                    return static.target(pod) if static else None
                meta = pod["metadata"]
                found = pods.store.get(f"{meta['namespace']}/{meta['name']}")
                if found is None or found["metadata"].get("uid") != meta["uid"]:
                    return None
                return meta["name"], meta["namespace"], meta["uid"], found.get("status") or {}

            workers = PodWorkers(client=client, runtime=runtime, pod_runtime=pod_runtime,
                                 volumes=volumes, recorder=recorder, backoff=backoff,
                                 host_ip=node_ip, runtime_name=nodes.runtime_name,
                                 target=target, is_static=is_static,
                                 resync=opts.pod_resync, relist_period=opts.relist_period)
            if opts.pod_manifest_path:
                static = StaticPods(client, path=opts.pod_manifest_path,
                                    node_name=opts.node_name, node_uid=lambda: nodes.uid,
                                    workers=workers, pods=pods.store,
                                    period=opts.static_period)
            _watch_pods(pods, workers, static)
            if opts.port:
                authorize = (SubjectAccessReviewer(client, opts.node_name)
                             if opts.authorization_mode == "Webhook" else None)
                server = KubeletServer(runtime, lambda ns, name: pods.store.get(f"{ns}/{name}"),
                                       authorize=authorize)
                await server.start(opts.address, opts.port, serving_tls(opts, node_ip))
            log.info("kubelet %s running (node IP %s, runtime %s)", opts.node_name, node_ip,
                     nodes.runtime_name)
            if ready is not None:
                ready.set()
            async with asyncio.TaskGroup() as group:
                group.create_task(nodes.run(stop), name="node status")
                group.create_task(lease.run(stop), name="node lease")
                group.create_task(workers.run(stop), name="pod workers")
                if static is not None:
                    group.create_task(static.run(stop), name="static pods")
        finally:
            if server is not None:
                await server.stop()
            await factory.stop()


def serving_tls(opts: KubeletOptions, node_ip: str) -> ServerTLS:
    """The flags' certificate, else a self-signed ``<root>/pki/kubelet.crt`` as upstream."""
    if opts.tls_cert_file:
        return ServerTLS(opts.tls_cert_file, opts.tls_private_key_file, opts.client_ca_file)
    directory = Path(opts.root_dir) / "pki"
    pair = pki.ensure_self_signed(
        pki.KeyPair(directory / "kubelet.crt", directory / "kubelet.key"),
        common_name=f"{opts.node_name}@kubelet", dns_names=(opts.node_name,),
        ip_addresses=(node_ip,))
    return ServerTLS(str(pair.cert_path), str(pair.key_path), opts.client_ca_file)


def _watch_pods(informer, workers: PodWorkers, static: StaticPods | None) -> None:
    """Feed the pod workers from the pod informer (mirror pods go to the static source)."""

    def changed(pod: dict) -> None:
        if is_mirror(pod):
            if static is not None:
                static.on_mirror_event()
            return
        workers.update(pod)

    def deleted(obj) -> None:
        pod = obj.obj if isinstance(obj, DeletedFinalStateUnknown) else obj
        if is_mirror(pod):
            if static is not None:
                static.on_mirror_event()
            return
        workers.remove(pod)

    informer.add_event_handler(on_add=changed, on_update=lambda old, new: changed(new),
                               on_delete=deleted)


async def main(args) -> int:
    """The process: signals set the stop event; the runtime is closed on the way out."""
    opts = options_from_args(args)
    config = load_config(args.kubeconfig, component="kubelet")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    runtime = connect_runtime(opts.container_runtime_endpoint)
    try:
        await run(opts, config, stop, runtime=runtime)
    finally:
        close = getattr(runtime, "close", None)
        if close is not None:
            await close()
    return 0


def options_from_args(args) -> KubeletOptions:
    labels = dict(item.split("=", 1) for item in filter(None, args.node_labels.split(",")))
    return KubeletOptions(
        node_name=args.node_name or socket.gethostname().lower(), root_dir=args.root_dir,
        container_runtime_endpoint=args.container_runtime_endpoint,
        pod_manifest_path=args.pod_manifest_path or "", node_ip=args.node_ip or "",
        pod_cidr=args.pod_cidr or "",
        cluster_dns=tuple(filter(None, args.cluster_dns.split(","))),
        cluster_domain=args.cluster_domain, labels=labels, port=args.port,
        address=args.address, tls_cert_file=args.tls_cert_file or "",
        tls_private_key_file=args.tls_private_key_file or "",
        client_ca_file=args.client_ca_file or "", authorization_mode=args.authorization_mode)


def add_flags(p) -> None:
    p.add_argument("--kubeconfig", default=os.environ.get("KUBECONFIG"),
                   help="kubeconfig with the kubelet's credentials")
    p.add_argument("--node-name", default=None, help="name of the Node (default: hostname)")
    p.add_argument("--container-runtime-endpoint",
                   default="unix:///run/containerd/containerd.sock",
                   help="CRI endpoint of the container runtime (default %(default)s)")
    p.add_argument("--root-dir", default="/var/lib/pyk8s/kubelet",
                   help="directory for pod volumes and state (default %(default)s)")
    p.add_argument("--pod-manifest-path", default=None,
                   help="directory of static pod manifests")
    p.add_argument("--node-ip", default=None, help="the node's InternalIP (default: detected)")
    p.add_argument("--pod-cidr", default=None,
                   help="pod CIDR to register the Node with (when node IPAM does not set one)")
    p.add_argument("--cluster-dns", default="", help="DNS server IPs for ClusterFirst pods")
    p.add_argument("--cluster-domain", default="cluster.local",
                   help="cluster DNS domain (default %(default)s)")
    p.add_argument("--node-labels", default="", help="labels to add to the Node: k=v,k2=v2")
    p.add_argument("--port", type=int, default=KUBELET_PORT,
                   help="HTTPS port for logs and exec (0: none; default %(default)s)")
    p.add_argument("--address", default="0.0.0.0",
                   help="address to serve on (default %(default)s)")
    p.add_argument("--tls-cert-file", default=None,
                   help="serving certificate (default: self-signed under --root-dir/pki)")
    p.add_argument("--tls-private-key-file", default=None, help="key of --tls-cert-file")
    p.add_argument("--client-ca-file", default=None,
                   help="CA whose client certificates are accepted (the API server's)")
    p.add_argument("--authorization-mode", default="Webhook",
                   choices=("Webhook", "AlwaysAllow"),
                   help="authorize clients by SubjectAccessReview, or allow all "
                        "authenticated ones (default %(default)s)")
    p.add_argument("-v", "--v", dest="verbosity", type=int, default=0, help="log verbosity")
