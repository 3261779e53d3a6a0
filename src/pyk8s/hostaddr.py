"""The address this machine is known by: what the API server advertises and the kubelet
reports as its Node's InternalIP when no flag names one.

As upstream (kube-apiserver's ``--advertise-address`` default, the kubelet's node IP
choice): the address of the interface that holds the default route, found by
``connect``-ing a UDP socket (which sends no packet); loopback when there is no route.
"""

from __future__ import annotations

import socket

#: Any address off-link works; the kernel only picks the route and source for it.
_PROBE = ("10.255.255.255", 1)


def default_route_address() -> str:
    """The IPv4 source address the kernel would use for the default route."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect(_PROBE)
            return probe.getsockname()[0]
    except OSError:
        return "127.0.0.1"
