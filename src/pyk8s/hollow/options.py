"""The flags of ``pyk8s hollow-nodes`` and the validated options they become.

Parsing is kept apart from the running code so that bad flags fail before any
request is made (a ``--taints`` typo should not register a thousand half-right
Nodes), and so the parsing rules can be tested as plain tables. Flag names follow
the kubelet's where one exists (``--register-with-taints`` is ``--taints`` here,
``--node-labels`` is ``--labels``; durations accept Go's ``10s``/``5m`` form).
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import re
from dataclasses import dataclass, field

from .ipam import fallback_subnet_count

TAINT_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")

_QUANTITY = re.compile(r"^(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+|[KMGTPE]i|[mkMGTPE])?$")
_LABEL_VALUE = re.compile(r"^(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$")
_NAME = re.compile(r"^[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")
_PREFIX = re.compile(r"^[a-z0-9](?:[-a-z0-9.]{0,251}[a-z0-9])?$")
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")
_DURATION_SCALE = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


@dataclass(frozen=True)
class HollowOptions:
    """Everything one hollow-nodes process needs to know (besides where the API is)."""

    count: int
    name_prefix: str = "hollow-node-"
    capacity: dict = field(default_factory=lambda: {
        "cpu": "4", "memory": "16Gi", "pods": "110", "ephemeral-storage": "100Gi"})
    labels: dict = field(default_factory=dict)
    taints: tuple = ()
    pod_cidr_base: str = "10.244.0.0/16"
    pod_cidr_mask_size: int = 24
    node_ip_range: str = "10.255.0.0/16"
    first_index: int = 0
    lease_duration: int = 40
    node_status_update_frequency: float = 10.0
    node_status_report_frequency: float = 300.0
    max_inflight: int = 50
    delete_nodes_on_exit: bool = False

    def node_name(self, index: int) -> str:
        return f"{self.name_prefix}{self.first_index + index}"

    @property
    def lease_renew_interval(self) -> float:
        """A quarter of the lease duration, as the kubelet's renewIntervalFraction."""
        return self.lease_duration * 0.25


class OptionError(ValueError):
    """A flag value that cannot describe a hollow node."""


def duration(value: str) -> float:
    """A Go duration (``10s``, ``5m``, ``1m30s``) or plain seconds."""
    if re.fullmatch(r"\d+(\.\d+)?", value):
        return float(value)
    parts = _DURATION_PART.findall(value)
    if not parts or "".join(n + u for n, u in parts) != value:
        raise argparse.ArgumentTypeError(f"invalid duration {value!r}")
    return sum(float(n) * _DURATION_SCALE[u] for n, u in parts)


def _qualified_name(key: str) -> bool:
    prefix, _, name = key.rpartition("/")
    return bool(_NAME.match(name)) and (not prefix or bool(_PREFIX.match(prefix)))


def parse_labels(text: str) -> dict:
    """``k=v,k2=v2`` into a dict, checking keys and values as label syntax."""
    labels: dict = {}
    for item in filter(None, (part.strip() for part in (text or "").split(","))):
        key, sep, value = item.partition("=")
        if not sep or not _qualified_name(key) or not _LABEL_VALUE.match(value):
            raise OptionError(f"invalid label {item!r}: want key=value")
        labels[key] = value
    return labels


def parse_taints(text: str) -> tuple:
    """``k=v:Effect,k:Effect`` into Taint dicts, as the kubelet's --register-with-taints."""
    taints = []
    for item in filter(None, (part.strip() for part in (text or "").split(","))):
        spec, sep, effect = item.rpartition(":")
        key, _, value = spec.partition("=")
        if not sep or effect not in TAINT_EFFECTS or not _qualified_name(key) \
                or not _LABEL_VALUE.match(value):
            raise OptionError(f"invalid taint {item!r}: want key[=value]:"
                              f"{'|'.join(TAINT_EFFECTS)}")
        taint = {"key": key, "effect": effect}
        if value:
            taint["value"] = value
        taints.append(taint)
    return tuple(taints)


def _quantity(flag: str, value: str) -> str:
    if not _QUANTITY.match(value):
        raise OptionError(f"--{flag}: {value!r} is not a quantity (e.g. 4, 500m, 16Gi)")
    return value


def validate(opts: HollowOptions) -> HollowOptions:
    """Check the options fit together (address ranges big enough for --count)."""
    if opts.count < 1:
        raise OptionError("--count must be at least 1")
    if not _PREFIX.match(opts.node_name(0)):
        raise OptionError(f"--name-prefix {opts.name_prefix!r} does not make valid node names")
    last = opts.first_index + opts.count
    try:
        subnets = fallback_subnet_count(opts.pod_cidr_base, opts.pod_cidr_mask_size)
        node_ips = ipaddress.ip_network(opts.node_ip_range).num_addresses - 2
    except ValueError as err:
        raise OptionError(str(err)) from None
    if last > subnets:
        raise OptionError(
            f"--pod-cidr-base {opts.pod_cidr_base} holds {subnets} /{opts.pod_cidr_mask_size} "
            f"subnets, too few for node indexes up to {last - 1}: widen it (e.g. 10.64.0.0/10)")
    if last > node_ips:
        raise OptionError(f"--node-ip-range {opts.node_ip_range} has {node_ips} addresses, "
                          f"too few for node indexes up to {last - 1}")
    return opts


def add_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--kubeconfig", default=os.environ.get("KUBECONFIG"),
                   help="kubeconfig the hollow kubelets authenticate with")
    p.add_argument("--count", type=int, required=True, help="how many nodes to simulate")
    p.add_argument("--name-prefix", default="hollow-node-",
                   help="node names are PREFIX + index (default %(default)s)")
    p.add_argument("--first-index", type=int, default=0,
                   help="index of the first node, to run several processes side by side")
    p.add_argument("--cpu", default="4", help="cpu capacity per node (default %(default)s)")
    p.add_argument("--memory", default="16Gi", help="memory capacity (default %(default)s)")
    p.add_argument("--pods", default="110", help="pod capacity (default %(default)s)")
    p.add_argument("--ephemeral-storage", default="100Gi",
                   help="ephemeral-storage capacity (default %(default)s)")
    p.add_argument("--labels", default="", help="extra node labels, k=v,k2=v2")
    p.add_argument("--taints", default="", help="taints registered with, k=v:Effect,...")
    p.add_argument("--pod-cidr-base", default="10.244.0.0/16",
                   help="pod addresses come from node i's i-th subnet of this range while "
                        "the Node has no spec.podCIDR (default %(default)s)")
    p.add_argument("--pod-cidr-mask-size", type=int, default=24,
                   help="prefix length of those per-node subnets (default %(default)s)")
    p.add_argument("--node-ip-range", default="10.255.0.0/16",
                   help="fake InternalIPs (never contacted) come from here (default %(default)s)")
    p.add_argument("--node-lease-duration-seconds", type=int, default=40,
                   help="Lease duration; renewed every quarter of it (default %(default)s)")
    p.add_argument("--node-status-update-frequency", type=duration, default=10.0,
                   help="how often node status is recomputed and posted if changed (10s)")
    p.add_argument("--node-status-report-frequency", type=duration, default=300.0,
                   help="how often node status is posted when unchanged (5m)")
    p.add_argument("--max-inflight", type=int, default=50,
                   help="API requests in flight at once (default %(default)s)")
    p.add_argument("--delete-nodes-on-exit", action="store_true",
                   help="delete the Nodes and their Leases on SIGTERM (default: leave them "
                        "to go NotReady like dead nodes)")
    p.add_argument("-v", "--v", dest="verbosity", type=int, default=0, help="log verbosity")


def options_from_args(args: argparse.Namespace) -> HollowOptions:
    capacity = {name: _quantity(flag, getattr(args, attr)) for name, flag, attr in (
        ("cpu", "cpu", "cpu"), ("memory", "memory", "memory"), ("pods", "pods", "pods"),
        ("ephemeral-storage", "ephemeral-storage", "ephemeral_storage"))}
    return validate(HollowOptions(
        count=args.count, name_prefix=args.name_prefix, first_index=args.first_index,
        capacity=capacity, labels=parse_labels(args.labels), taints=parse_taints(args.taints),
        pod_cidr_base=args.pod_cidr_base, pod_cidr_mask_size=args.pod_cidr_mask_size,
        node_ip_range=args.node_ip_range, lease_duration=args.node_lease_duration_seconds,
        node_status_update_frequency=args.node_status_update_frequency,
        node_status_report_frequency=args.node_status_report_frequency,
        max_inflight=args.max_inflight, delete_nodes_on_exit=args.delete_nodes_on_exit))
