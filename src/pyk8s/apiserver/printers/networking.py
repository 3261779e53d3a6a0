"""Networking kinds: Ingress, IngressClass and NetworkPolicy (``networking.k8s.io/v1``) and
EndpointSlice (``discovery.k8s.io/v1``).

Lists are cut at three entries followed by ``+ N more...`` as upstream does, and an ingress's
PORTS column only says whether TLS is configured (``80`` or ``80, 443``).
"""

from __future__ import annotations

import datetime

from .base import Printer, age_column, age_of, column, dig, name_column, name_of
from .core import load_balancer_addresses
from .descriptions import doc
from .labels import format_label_selector

_MAX_SHOWN = 3


def list_with_more(shown: list[str], total: int, limit: int = _MAX_SHOWN) -> str:
    """``listWithMoreString``: the shown items, ``+ N more...``, or ``<unset>`` when empty."""
    text = ",".join(shown[:limit])
    if total > limit:
        return f"{text} + {total - limit} more..."
    return text or "<unset>"


# --- Ingress ----------------------------------------------------------------------------------


def _hosts(rules: object) -> str:
    """``formatHosts``: up to three hosts, ``*`` when no rule names one."""
    rules = [r for r in rules if isinstance(r, dict)] if isinstance(rules, list) else []
    hosts: list[str] = []
    more = False
    for rule in rules:
        if len(hosts) == _MAX_SHOWN:
            more = True
        if not more and rule.get("host"):
            hosts.append(str(rule["host"]))
    if not hosts:
        return "*"
    text = ",".join(hosts)
    return f"{text} + {len(rules) - _MAX_SHOWN} more..." if more else text


def _ingress_cells(ingress: dict, now: datetime.datetime) -> list:
    spec = ingress.get("spec") or {}
    class_name = spec.get("ingressClassName")
    return [
        name_of(ingress),
        "<none>" if class_name is None else str(class_name),
        _hosts(spec.get("rules")),
        load_balancer_addresses(ingress.get("status") or {}),
        "80, 443" if spec.get("tls") else "80",
        age_of(ingress, now),
    ]


INGRESS = Printer(
    [
        name_column(),
        column(
            "Class",
            "string",
            "The name of the IngressClass resource that should be used for additional "
            "configuration",
        ),
        column(
            "Hosts",
            "string",
            "Hosts that incoming requests are matched against before the ingress rule",
        ),
        column(
            "Address", "string", "Address is a list containing ingress points for the load-balancer"
        ),
        column("Ports", "string", "Ports of TLS configurations that open"),
        age_column(),
    ],
    _ingress_cells,
)


def _ingress_class_parameters(spec: dict) -> str:
    params = spec.get("parameters")
    if not isinstance(params, dict):
        return "<none>"
    text = str(params.get("kind") or "")
    if params.get("apiGroup") is not None:
        text += "." + str(params["apiGroup"])
    return text + "/" + str(params.get("name") or "")


INGRESS_CLASS = Printer(
    [
        name_column(),
        column("Controller", "string", "Controller that is responsible for handling this class"),
        column("Parameters", "string", "A reference to a resource with additional parameters"),
        age_column(),
    ],
    lambda obj, now: [
        name_of(obj),
        str(dig(obj, "spec", "controller", default="")),
        _ingress_class_parameters(obj.get("spec") or {}),
        age_of(obj, now),
    ],
)

# --- NetworkPolicy ----------------------------------------------------------------------------

NETWORK_POLICY = Printer(
    [
        name_column(),
        column("Pod-Selector", "string", doc("extensions/v1beta1.NetworkPolicySpec.podSelector")),
        age_column(),
    ],
    lambda obj, now: [
        name_of(obj),
        # spec.podSelector is a struct, not a pointer: unset means empty, i.e. everything.
        format_label_selector(dig(obj, "spec", "podSelector", default={})),
        age_of(obj, now),
    ],
)

# --- EndpointSlice ----------------------------------------------------------------------------


def _slice_ports(ports: object) -> str:
    items = [p for p in ports if isinstance(p, dict)] if isinstance(ports, list) else []
    shown = []
    for port in items[:_MAX_SHOWN]:
        if port.get("port") is not None:
            shown.append(str(port["port"]))
        elif port.get("name") is not None:
            shown.append(str(port["name"]))
        else:
            shown.append("*")
    return list_with_more(shown, len(items))


def _slice_endpoints(endpoints: object) -> str:
    addresses = [
        str(address)
        for endpoint in (endpoints if isinstance(endpoints, list) else [])
        if isinstance(endpoint, dict)
        for address in endpoint.get("addresses") or []
    ]
    return list_with_more(addresses, len(addresses))


_SLICE = "discovery/v1beta1.EndpointSlice."

ENDPOINT_SLICE = Printer(
    [
        name_column(),
        column("AddressType", "string", doc(_SLICE + "addressType")),
        column("Ports", "string", doc(_SLICE + "ports")),
        column("Endpoints", "string", doc(_SLICE + "endpoints")),
        age_column(),
    ],
    lambda obj, now: [
        name_of(obj),
        str(obj.get("addressType") or ""),
        _slice_ports(obj.get("ports")),
        _slice_endpoints(obj.get("endpoints")),
        age_of(obj, now),
    ],
)

PRINTERS = {
    ("networking.k8s.io", "Ingress"): INGRESS,
    ("networking.k8s.io", "IngressClass"): INGRESS_CLASS,
    ("networking.k8s.io", "NetworkPolicy"): NETWORK_POLICY,
    ("discovery.k8s.io", "EndpointSlice"): ENDPOINT_SLICE,
}
