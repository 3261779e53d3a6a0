"""What every controller shares: the context it runs in and the work-queue loop.

Controllers follow client-go's sample-controller: informer event handlers only
enqueue ``namespace/name`` keys; workers take keys off a rate-limited queue (never
the same key on two workers) and call :meth:`Controller.sync`, which re-reads the
object from the informer cache and drives the cluster toward it (level-triggered,
idempotent). Errors requeue the key with per-item backoff. Cached objects are
shared: copy before changing.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any, ClassVar

from ..client import Client, EventRecorder, RateLimitingQueue, SharedInformerFactory, run_workers
from ..client.meta import meta_namespace_key


@dataclass
class ControllerManagerOptions:
    """kube-controller-manager's flags that controllers read."""

    node_monitor_grace_period: float = 40.0
    node_startup_grace_period: float = 60.0
    node_eviction_rate: float = 0.1
    cluster_cidr: str = "10.244.0.0/16"
    node_cidr_mask_size: int = 24
    allocate_node_cidrs: bool = True
    cluster_signing_cert_file: str | None = None
    cluster_signing_key_file: str | None = None
    cluster_signing_duration: float = 365 * 24 * 3600.0
    root_ca_file: str | None = None
    terminated_pod_gc_threshold: int = 12500
    concurrent_syncs: int = 5
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class ControllerContext:
    client: Client
    informers: SharedInformerFactory
    options: ControllerManagerOptions
    recorder: EventRecorder


class Controller:
    """Base class: subclasses register informers in :meth:`setup` and implement :meth:`sync`."""

    name: ClassVar[str] = "controller"
    workers: ClassVar[int] = 5

    def __init__(self, ctx: ControllerContext) -> None:
        self.ctx = ctx
        self.client = ctx.client
        self.log = logging.getLogger(f"pyk8s.controllers.{self.name}")
        self.queue = RateLimitingQueue(name=self.name)
        self.setup()

    def setup(self) -> None:
        """Create informers (via ``self.ctx.informers``) and hook event handlers."""

    async def sync(self, key: str) -> None:
        """Reconcile the object named by ``key`` (``namespace/name`` or ``name``)."""
        raise NotImplementedError

    def enqueue(self, obj: Any) -> None:
        """Queue the key of an object (or of a DeletedFinalStateUnknown tombstone)."""
        key = getattr(obj, "key", None) or meta_namespace_key(obj)
        self.queue.add(key)

    async def run(self, stop: asyncio.Event) -> None:
        """Process keys until ``stop`` is set; extra loops can be added by overriding."""
        await run_workers(self.queue, self.sync, workers=self.workers, stop=stop)
