"""Hollow nodes: many simulated kubelets in one asyncio process, as kubemark and kwok.

Scale tests of the control plane (scheduler throughput, controller behaviour with
thousands of nodes, API server load from heartbeats) need nodes that behave like
kubelets on the API (registration, node status, Lease heartbeats, pod status and the
deletion handshake) without running anything. ``pyk8s hollow-nodes --count N`` is that:
it talks to the API server only through the API, like every other component, and
carries N nodes with one client, one Node and one Pod informer, one heartbeat loop per
kind of heartbeat and a bounded number of requests in flight.

Modules: ``options`` (flags), ``ipam`` (fake node and pod addresses), ``nodestatus``
and ``podstatus`` (pure builders of what a kubelet reports), ``spread`` (periodic
work spread over a period), ``nodes`` and ``pods`` (the two halves of the kubelet),
``runner`` (wiring and shutdown).
"""

from .options import HollowOptions
from .runner import main, run

__all__ = ["HollowOptions", "main", "run"]
