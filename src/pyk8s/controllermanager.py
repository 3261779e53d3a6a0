"""``pyk8s controller-manager``: runs the controllers, one active replica at a time.

As kube-controller-manager: it connects with its own kubeconfig, takes the
``kube-system/kube-controller-manager`` Lease when ``--leader-elect`` is on (only
the leader runs controllers; losing the lease ends the process so the supervisor
restarts it as a follower), starts the shared informers every selected controller
asked for, waits for them to sync, then runs the controllers until SIGTERM.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import signal
import socket
import uuid

from .client import Client, EventRecorder, LeaderElector, SharedInformerFactory, load_config
from .controllers import ControllerContext, select
from .controllers.base import ControllerManagerOptions
from .controllers.credentials import ServiceAccountCredentials, account_for, cluster_ca

log = logging.getLogger("pyk8s.controller-manager")

SYNC_TIMEOUT = 120.0


async def _run_controllers(client: Client, opts: ControllerManagerOptions, spec: str,
                           stop: asyncio.Event, credentials: ServiceAccountCredentials | None
                           ) -> None:
    factory = SharedInformerFactory(client)
    identity = socket.gethostname()
    async with EventRecorder(client, reporting_controller="kube-controller-manager",
                             reporting_instance=identity) as recorder:
        controllers = []
        for cls in select(spec):
            own = client
            if credentials is not None:
                own = await credentials.client_for(account_for(cls.name))
            ctx = ControllerContext(client=own, informers=factory, options=opts,
                                    recorder=recorder)
            controllers.append(cls(ctx))
        log.info("starting controllers: %s", ", ".join(c.name for c in controllers))
        factory.start()
        try:
            if not await factory.wait_for_sync(SYNC_TIMEOUT):
                log.warning("informers did not sync within %.0fs; starting anyway",
                            SYNC_TIMEOUT)
            async with asyncio.TaskGroup() as group:
                for controller in controllers:
                    group.create_task(controller.run(stop), name=controller.name)
        finally:
            await factory.stop()


async def run(kubeconfig: str | None, opts: ControllerManagerOptions, *, controllers: str,
              leader_elect: bool, use_service_account_credentials: bool = True) -> int:
    config = load_config(kubeconfig, component="kube-controller-manager")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with Client(config) as client:
        credentials = None
        if use_service_account_credentials:
            credentials = ServiceAccountCredentials(
                client, config, cluster_ca(kubeconfig, opts.root_ca_file))
        try:
            return await _elect_and_run(client, opts, controllers, leader_elect, stop,
                                        credentials)
        finally:
            if credentials is not None:
                await credentials.close()


async def _elect_and_run(client: Client, opts: ControllerManagerOptions, controllers: str,
                         leader_elect: bool, stop: asyncio.Event,
                         credentials: ServiceAccountCredentials | None) -> int:
    if not leader_elect:
        await _run_controllers(client, opts, controllers, stop, credentials)
        return 0

    async def lead(lost: asyncio.Event) -> None:
        both = asyncio.Event()

        async def relay() -> None:
            await asyncio.wait([asyncio.create_task(stop.wait()),
                                asyncio.create_task(lost.wait())],
                               return_when=asyncio.FIRST_COMPLETED)
            both.set()

        relay_task = asyncio.create_task(relay())
        try:
            await _run_controllers(client, opts, controllers, both, credentials)
        except Exception:
            log.exception("controllers stopped on an error")
            raise
        finally:
            relay_task.cancel()

    identity = f"{socket.gethostname()}_{uuid.uuid4()}"
    elector = LeaderElector(client, name="kube-controller-manager", namespace="kube-system",
                            identity=identity, on_started_leading=lead)
    election = asyncio.create_task(elector.run())
    stopped = asyncio.create_task(stop.wait())
    done, _ = await asyncio.wait([election, stopped], return_when=asyncio.FIRST_COMPLETED)
    if stopped in done:
        election.cancel()
        await asyncio.gather(election, return_exceptions=True)
        return 0
    stopped.cancel()
    log.error("leader election lost")
    return 1


def options_from_args(args) -> ControllerManagerOptions:
    return ControllerManagerOptions(
        node_monitor_grace_period=args.node_monitor_grace_period,
        node_startup_grace_period=args.node_startup_grace_period,
        cluster_cidr=args.cluster_cidr,
        node_cidr_mask_size=args.node_cidr_mask_size,
        allocate_node_cidrs=args.allocate_node_cidrs == "true",
        cluster_signing_cert_file=args.cluster_signing_cert_file,
        cluster_signing_key_file=args.cluster_signing_key_file,
        cluster_signing_duration=args.cluster_signing_duration,
        root_ca_file=args.root_ca_file,
        terminated_pod_gc_threshold=args.terminated_pod_gc_threshold,
        concurrent_syncs=args.concurrent_syncs,
    )


def seconds(value: str) -> float:
    """A Go duration (``40s``, ``5m``, ``1h30m``) or plain seconds."""
    if re.fullmatch(r"\d+(\.\d+)?", value):
        return float(value)
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|s|m|h)", value)
    if not parts or "".join(n + u for n, u in parts) != value:
        raise ValueError(f"invalid duration {value!r}")
    scale = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    return sum(float(n) * scale[u] for n, u in parts)


def add_flags(p) -> None:
    p.add_argument("--kubeconfig", default=os.environ.get("KUBECONFIG"),
                   help="kubeconfig with the controller manager's credentials")
    p.add_argument("--leader-elect", default="true", choices=("true", "false"),
                   help="take the kube-system/kube-controller-manager Lease before running")
    p.add_argument("--use-service-account-credentials", default="true",
                   choices=("true", "false"),
                   help="run each controller with its own ServiceAccount's token (default true)")
    p.add_argument("--controllers", default="*",
                   help="controllers to run: '*' (the defaults), 'name', '-name', comma-separated")
    p.add_argument("--node-monitor-grace-period", type=seconds, default=40.0,
                   help="how long a node may go without renewing its Lease (default 40s)")
    p.add_argument("--node-startup-grace-period", type=seconds, default=60.0,
                   help="grace for a node that never reported (default 60s)")
    p.add_argument("--cluster-cidr", default="10.244.0.0/16",
                   help="pod network from which node pod CIDRs are allocated")
    p.add_argument("--node-cidr-mask-size", type=int, default=24,
                   help="prefix length of each node's pod CIDR (default 24)")
    p.add_argument("--allocate-node-cidrs", default="true", choices=("true", "false"),
                   help="give each Node a spec.podCIDR from --cluster-cidr")
    p.add_argument("--cluster-signing-cert-file", default=None,
                   help="CA certificate that signs approved CSRs")
    p.add_argument("--cluster-signing-key-file", default=None,
                   help="CA key that signs approved CSRs")
    p.add_argument("--cluster-signing-duration", type=seconds, default=365 * 24 * 3600.0,
                   help="longest lifetime of certificates the CSR signer issues (default 8760h)")
    p.add_argument("--root-ca-file", default=None,
                   help="CA published as kube-root-ca.crt in every namespace")
    p.add_argument("--terminated-pod-gc-threshold", type=int, default=12500,
                   help="terminated pods kept before PodGC deletes the oldest")
    p.add_argument("--concurrent-syncs", type=int, default=5,
                   help="workers per controller (default 5)")
