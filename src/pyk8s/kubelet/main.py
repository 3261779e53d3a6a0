"""``pyk8s kubelet``: the node agent's process, wiring its parts together.

Start-up follows the kubelet: connect with the given kubeconfig (the admin one in
tests, ``system:node:<name>`` credentials in a real cluster), register the Node, start
the informers (pods with ``spec.nodeName=<node>``, Services for the environment),
then run until SIGTERM: the node status loop, the Lease heartbeat, the pod workers
with their relist, the static pods when ``--pod-manifest-path`` is set, and the HTTPS
server for logs and exec (``server.py``) when a ``--port`` is given. On stop
the workers end but containers keep running, so a restarted kubelet adopts its pods
(their containers are found again by the labels they carry).

The runtime is the CRI endpoint given by ``--container-runtime-endpoint``, or, without
one, a containerd of the kubelet's own under ``--root-dir`` (:mod:`.ownruntime`, as k3s):
the kubelet then also owns the pod network's CNI config, written from the watched Node's
podCIDR (:mod:`.podnetwork`) and its registry mirrors (``--registry-mirror``). Air-gap
image archives in ``<root-dir>/agent/images/`` are imported at start, as k3s's are.
``--kill-pods-on-exit`` removes every pod when it stops.
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
from ..hostaddr import default_route_address
from ..client import Client, Config, EventRecorder, SharedInformerFactory, load_config
from ..client.informers import DeletedFinalStateUnknown
from .actions import RestartBackoff
from .kuberuntime import PodRuntime, RuntimeOptions
from .lease import NodeLease
from .logrotation import DEFAULT_MAX_FILES, DEFAULT_MAX_SIZE, ContainerLogManager
from .nodestatus import KUBELET_PORT, NodeStatusManager, allocatable, read_machine
from .ownruntime import own_containerd
from .podnetwork import NetworkOptions, PodNetwork
from .podworkers import PodWorkers
from .resources import memory_bytes
from .runtime import Runtime
from .runtime.containerd import parse_registry_mirror
from .runtime.cri import CRIRuntime
from .server import KubeletServer, ServerTLS, SubjectAccessReviewer
from .static import StaticPods, is_mirror, is_static
from .volumes import VolumeManager

log = logging.getLogger("pyk8s.kubelet")

SYNC_TIMEOUT = 60.0


@dataclass
class KubeletOptions:
    node_name: str
    root_dir: str = "/var/lib/pyk8s/kubelet"
    container_runtime_endpoint: str = ""  # "": start a containerd of our own
    image_cache_dir: str = ""  # offline image tarballs (default: <root_dir>/offline-images)
    kill_pods_on_exit: bool = False
    registry_mirrors: dict[str, tuple[str, ...]] = field(default_factory=dict)
    cni_bridge: str = "cni0"
    cni_network: str = "pyk8s"
    cluster_cidr: str = "10.244.0.0/16"
    service_cidr: str = "10.96.0.0/12"
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
    container_log_max_size: int = DEFAULT_MAX_SIZE  # bytes; a running container's log
    container_log_max_files: int = DEFAULT_MAX_FILES  # per container, the current included


def detect_node_ip() -> str:
    """As upstream's kubelet: the host name's address unless that is loopback (Debian maps
    it to 127.0.1.1), then the default-route interface's address."""
    try:
        address = socket.gethostbyname(socket.gethostname())
    except OSError:
        address = ""
    if address and not address.startswith("127."):
        return address
    return default_route_address()


def connect_runtime(endpoint: str) -> CRIRuntime:
    return CRIRuntime(endpoint)


async def run_with_runtime(opts: KubeletOptions, config: Config, stop: asyncio.Event, *,
                           ready: asyncio.Event | None = None) -> None:
    """Connect to the runtime, or start a containerd of our own, and run until ``stop``."""
    if opts.container_runtime_endpoint:
        if opts.registry_mirrors:
            log.warning("--registry-mirror is ignored with --container-runtime-endpoint: "
                        "configure that runtime's mirrors yourself")
        runtime = connect_runtime(opts.container_runtime_endpoint)
        try:
            await run(opts, config, stop, runtime=runtime, ready=ready)
        finally:
            await runtime.close()
        return
    cache = opts.image_cache_dir or os.path.join(opts.root_dir, "offline-images")
    async with own_containerd(opts.root_dir, image_cache_dir=cache,
                              kill_pods_on_exit=opts.kill_pods_on_exit,
                              registry_mirrors=opts.registry_mirrors) as (runtime, copts):
        network = NetworkOptions(
            conf_dir=copts.cni_conf_dir, data_dir=copts.cni_data_dir, bridge=opts.cni_bridge,
            network=opts.cni_network,
            unreachable=tuple(filter(None, (opts.service_cidr, opts.cluster_cidr))),
            service_cidr=opts.service_cidr)
        await run(opts, config, stop, runtime=runtime, ready=ready, network=network)


async def run(opts: KubeletOptions, config: Config, stop: asyncio.Event, *,
              runtime: Runtime, ready: asyncio.Event | None = None,
              network: NetworkOptions | None = None) -> None:
    """Run the kubelet until ``stop`` is set; with ``network``, it owns the CNI config."""
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
        pod_network = None
        if network is not None:
            pod_network = PodNetwork(network, runtime, on_ready=nodes.poke)
            node = factory.informer("v1", "Node",
                                    field_selector=f"metadata.name={opts.node_name}")
            node.add_event_handler(on_add=pod_network.node_changed,
                                   on_update=lambda old, new: pod_network.node_changed(new))
        factory.start()
        server: KubeletServer | None = None
        volumes: VolumeManager | None = None
        try:
            if not await factory.wait_for_sync(SYNC_TIMEOUT):
                log.warning("informers did not sync within %.0fs; starting anyway",
                            SYNC_TIMEOUT)
            machine_allocatable = allocatable(read_machine(opts.root_dir))
            backoff = RestartBackoff()
            volumes = VolumeManager(client, opts.root_dir, allocatable=machine_allocatable)
            pod_runtime = PodRuntime(
                client, runtime, recorder,
                RuntimeOptions(node_name=opts.node_name, host_ip=node_ip,
                               log_root=os.path.join(opts.root_dir, "pod-logs"),
                               cluster_dns=opts.cluster_dns,
                               cluster_domain=opts.cluster_domain,
                               pods_dir=os.path.join(opts.root_dir, "pods")),
                services=services.store, allocatable=machine_allocatable, backoff=backoff,
                configmaps=volumes.configmaps, secrets=volumes.secrets)
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
                if pod_network is not None:
                    group.create_task(pod_network.run(stop), name="pod network")
                group.create_task(ContainerLogManager(
                    runtime, os.path.join(opts.root_dir, "pod-logs"),
                    max_size=opts.container_log_max_size,
                    max_files=opts.container_log_max_files).run(stop), name="log rotation")
        finally:
            if server is not None:
                await server.stop()
            if volumes is not None:
                await volumes.close()
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
    await run_with_runtime(opts, config, stop)
    return 0


def registry_mirrors(values: list[str]) -> dict[str, tuple[str, ...]]:
    """Repeated ``REGISTRY=URL`` flags -> {registry: (URL, ...)} in the order given."""
    mirrors: dict[str, tuple[str, ...]] = {}
    for value in values:
        registry, url = parse_registry_mirror(value)
        mirrors[registry] = (*mirrors.get(registry, ()), url)
    return mirrors


def options_from_args(args) -> KubeletOptions:
    labels = dict(item.split("=", 1) for item in filter(None, args.node_labels.split(",")))
    return KubeletOptions(
        node_name=args.node_name or socket.gethostname().lower(), root_dir=args.root_dir,
        container_runtime_endpoint=args.container_runtime_endpoint or "",
        image_cache_dir=args.image_cache_dir or "", kill_pods_on_exit=args.kill_pods_on_exit,
        registry_mirrors=registry_mirrors(args.registry_mirror),
        cni_bridge=args.cni_bridge_name, cni_network=args.cni_network_name,
        cluster_cidr=args.cluster_cidr, service_cidr=args.service_cidr,
        pod_manifest_path=args.pod_manifest_path or "", node_ip=args.node_ip or "",
        pod_cidr=args.pod_cidr or "",
        cluster_dns=tuple(filter(None, args.cluster_dns.split(","))),
        cluster_domain=args.cluster_domain, labels=labels, port=args.port,
        address=args.address, tls_cert_file=args.tls_cert_file or "",
        tls_private_key_file=args.tls_private_key_file or "",
        client_ca_file=args.client_ca_file or "", authorization_mode=args.authorization_mode,
        container_log_max_size=_log_size(args.container_log_max_size),
        container_log_max_files=_log_files(args.container_log_max_files))


def _log_files(count: int) -> int:
    if count < 2:  # upstream's validation: the current file and at least one rotated
        raise SystemExit("pyk8s kubelet: invalid --container-log-max-files: must be "
                         "greater than 1")
    return count


def _log_size(text: str) -> int:
    try:
        size = memory_bytes(text)
    except ValueError:
        size = 0
    if size <= 0:
        raise SystemExit(f"pyk8s kubelet: invalid --container-log-max-size {text!r}")
    return size


def add_flags(p) -> None:
    p.add_argument("--kubeconfig", default=os.environ.get("KUBECONFIG"),
                   help="kubeconfig with the kubelet's credentials")
    p.add_argument("--node-name", default=None, help="name of the Node (default: hostname)")
    p.add_argument("--container-runtime-endpoint", default="",
                   help="CRI endpoint of the container runtime, unix:///PATH (default: start "
                        "a containerd of the kubelet's own under --root-dir)")
    p.add_argument("--image-cache-dir", default=None,
                   help="where the offline pause/busybox image tarballs are kept "
                        "(default: ROOT_DIR/offline-images)")
    p.add_argument("--kill-pods-on-exit", action="store_true",
                   help="with its own containerd: stop and remove every pod when the kubelet "
                        "stops (default: containers keep running and are adopted on restart)")
    p.add_argument("--registry-mirror", action="append", default=[], metavar="REGISTRY=URL",
                   help="pull REGISTRY's images from URL instead, e.g. "
                        "docker.io=http://127.0.0.1:5000 (repeatable; with the kubelet's own "
                        "containerd)")
    p.add_argument("--cni-bridge-name", default="cni0",
                   help="bridge of the pod network (default %(default)s)")
    p.add_argument("--cni-network-name", default="pyk8s",
                   help="CNI network name; CNI tags its iptables rules with it "
                        "(default %(default)s)")
    p.add_argument("--cluster-cidr", default="10.244.0.0/16",
                   help="pod addresses of the whole cluster: routed 'unreachable' here "
                        "unless a more specific route exists (\"\" to skip)")
    p.add_argument("--service-cidr", default="10.96.0.0/12",
                   help="Service cluster IPs: routed to an empty bridge (pyk8s-svc0), "
                        "'unreachable' without it, so only proxy rules take such packets "
                        "anywhere "
                        "(\"\" to skip)")
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
    p.add_argument("--container-log-max-size", default="10Mi",
                   help="a running container's log is rotated past this size (default "
                        "%(default)s)")
    p.add_argument("--container-log-max-files", type=int, default=DEFAULT_MAX_FILES,
                   help="log files kept per container, the current one included (default "
                        "%(default)s)")
    p.add_argument("-v", "--v", dest="verbosity", type=int, default=0, help="log verbosity")
