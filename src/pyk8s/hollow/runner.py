"""Wiring of one hollow-nodes process: client, informers, nodes, pods, shutdown.

Start-up order matters: the Node and Pod informers start first (so pods already bound
to our nodes are queued while we register), registration of all nodes runs with the
request semaphore as its only throttle, the informers must have synced before pods
are synced (a pod's address depends on its Node's spec.podCIDR, read from the cache),
and only then do the heartbeat loops start. On stop (SIGTERM) the loops end and
nothing more is written: the Leases expire and the node lifecycle controller marks
the nodes NotReady, as for machines that died; ``--delete-nodes-on-exit`` removes them
instead.
"""

from __future__ import annotations

import asyncio
import logging
import signal

from ..client import Client, Config, SharedInformerFactory, load_config
from .nodes import NodeFleet, build_nodes
from .options import HollowOptions
from .pods import PodRunner
from .spread import Spread

log = logging.getLogger("pyk8s.hollow")

SYNC_TIMEOUT = 120.0
#: Connections beyond the request semaphore: the two informers' watch streams and lists.
SPARE_CONNECTIONS = 4


async def run(opts: HollowOptions, config: Config, stop: asyncio.Event, *,
              ready: asyncio.Event | None = None) -> None:
    """Simulate ``opts.count`` nodes until ``stop`` is set; ``ready`` is set once every
    node is registered and the caches have synced."""
    loop = asyncio.get_running_loop()
    limit = asyncio.Semaphore(opts.max_inflight)
    async with Client(config, connection_limit=opts.max_inflight + SPARE_CONNECTIONS) as client:
        factory = SharedInformerFactory(client)
        nodes = build_nodes(opts)
        fleet = NodeFleet(client, opts, nodes, factory.informer("v1", "Node"), limit)
        pods = PodRunner(client, factory.informer("v1", "Pod", field_selector="spec.nodeName!="),
                         fleet, limit, workers=opts.max_inflight)
        factory.start()
        try:
            began = loop.time()
            await fleet.register_all(stop)
            if stop.is_set():
                return
            log.info("registered %d nodes in %.1fs", len(nodes), loop.time() - began)
            if not await factory.wait_for_sync(SYNC_TIMEOUT):
                log.warning("informers did not sync within %.0fs; going on", SYNC_TIMEOUT)
            if ready is not None:
                ready.set()
            names = list(nodes)
            async with asyncio.TaskGroup() as group:
                group.create_task(Spread("leases", opts.lease_renew_interval,
                                         fleet.renew_lease).run(names, stop))
                group.create_task(Spread("node-status", opts.node_status_update_frequency,
                                         fleet.update_status).run(names, stop))
                group.create_task(pods.run(stop))
            if opts.delete_nodes_on_exit:
                await fleet.delete_all()
                log.info("deleted %d nodes", len(nodes))
        finally:
            await factory.stop()


async def main(kubeconfig: str | None, opts: HollowOptions) -> int:
    """The ``pyk8s hollow-nodes`` process: run until SIGTERM or SIGINT."""
    config = load_config(kubeconfig, component="hollow-node")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await run(opts, config, stop)
    return 0
