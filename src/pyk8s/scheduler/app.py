"""``pyk8s scheduler``: the process around the Scheduler.

As kube-scheduler: connects with its kubeconfig, reads ``--config`` (a
KubeSchedulerConfiguration), takes the ``kube-system/kube-scheduler`` Lease when leader
election is on (losing it ends the process so the supervisor restarts it as a
follower), starts the pod (non-terminal), node, namespace, PodDisruptionBudget,
PersistentVolumeClaim, PersistentVolume and StorageClass informers, waits for them to
sync, then schedules until SIGTERM.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import uuid

from ..client import (
    Client,
    EventRecorder,
    LeaderElector,
    SharedInformerFactory,
    load_config,
)
from .framework.config import SchedulerConfig, load
from .plugins import implemented_points
from .plugins.volumebinding import VolumeStores
from .scheduler import Scheduler

log = logging.getLogger("pyk8s.scheduler")

SYNC_TIMEOUT = 120.0
POD_SELECTOR = "status.phase!=Succeeded,status.phase!=Failed"


async def run_scheduler(client: Client, config: SchedulerConfig, stop: asyncio.Event, *,
                        identity: str | None = None) -> Scheduler:
    """Informers + Scheduler until ``stop``; answers the Scheduler (for tests)."""
    factory = SharedInformerFactory(client)
    identity = identity or socket.gethostname()
    async with EventRecorder(client, reporting_controller="default-scheduler",
                             reporting_instance=identity) as recorder:
        pdbs = factory.informer("policy/v1", "PodDisruptionBudget")
        storage = {kind: factory.informer(api_version, kind) for api_version, kind in (
            ("v1", "PersistentVolumeClaim"), ("v1", "PersistentVolume"),
            ("storage.k8s.io/v1", "StorageClass"))}
        sched = Scheduler(client, config, recorder=recorder, pdbs=pdbs.store.list,
                          volume_stores=VolumeStores(*(i.store for i in storage.values())))
        for kind, informer in storage.items():
            informer.add_event_handler(on_add=sched.on_storage_event(f"{kind}Add"),
                                       on_update=sched.on_storage_event(f"{kind}Update"))
        nodes = factory.informer("v1", "Node")
        nodes.add_event_handler(on_add=sched.on_node_add, on_update=sched.on_node_update,
                                on_delete=sched.on_node_delete)
        namespaces = factory.informer("v1", "Namespace")
        namespaces.add_event_handler(on_add=sched.on_namespace, on_update=sched.on_namespace)
        pods = factory.informer("v1", "Pod", field_selector=POD_SELECTOR)
        pods.add_event_handler(on_add=sched.on_pod_add, on_update=sched.on_pod_update,
                               on_delete=sched.on_pod_delete)
        factory.start()
        try:
            if not await factory.wait_for_sync(SYNC_TIMEOUT):
                log.warning("informers did not sync within %.0fs; starting anyway",
                            SYNC_TIMEOUT)
            log.info("scheduling with profiles: %s", ", ".join(sched.profiles))
            await sched.run(stop)
        finally:
            await factory.stop()
    return sched


async def run(kubeconfig: str | None, config_path: str | None, *,
              leader_elect: bool | None) -> int:
    config = load(config_path, implemented_points())
    if leader_elect is not None:
        config.leader_elect = leader_elect
    client_config = load_config(kubeconfig, component="kube-scheduler")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with Client(client_config) as client:
        if not config.leader_elect:
            await run_scheduler(client, config, stop)
            return 0

        async def lead(lost: asyncio.Event) -> None:
            either = asyncio.Event()
            waiters = [asyncio.create_task(stop.wait()), asyncio.create_task(lost.wait())]
            relay = asyncio.create_task(asyncio.wait(waiters,
                                                     return_when=asyncio.FIRST_COMPLETED))
            relay.add_done_callback(lambda _: either.set())
            try:
                await run_scheduler(client, config, either)
            finally:
                for task in (relay, *waiters):
                    task.cancel()

        identity = f"{socket.gethostname()}_{uuid.uuid4()}"
        elector = LeaderElector(client, name=config.lease_name,
                                namespace=config.lease_namespace, identity=identity,
                                on_started_leading=lead)
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


def add_flags(p) -> None:
    p.add_argument("--kubeconfig", default=os.environ.get("KUBECONFIG"),
                   help="kubeconfig with the scheduler's credentials")
    p.add_argument("--config", default=None,
                   help="KubeSchedulerConfiguration file (kubescheduler.config.k8s.io/v1)")
    p.add_argument("--leader-elect", default=None, choices=("true", "false"),
                   help="take the kube-system/kube-scheduler Lease before scheduling "
                        "(default: the config's leaderElection.leaderElect, true)")
