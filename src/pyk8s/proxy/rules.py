"""The whole iptables-restore input for kube-proxy's iptables mode, computed purely.

Given Services, EndpointSlices and this node's settings, ``compute`` returns the
``filter`` and ``nat`` tables exactly as upstream's syncProxyRules writes them
(pkg/proxy/iptables/proxier.go), so what users know from ``iptables-save`` on a real
node carries over: the same chain names (``KUBE-SVC-``/``KUBE-SVL-``/``KUBE-EXT-``/
``KUBE-SEP-`` + the first 16 base32 characters of a SHA-256 of
``namespace/name:port`` + protocol [+ ``ip:port``]), the same comments (none on the
per-endpoint and load-balancing rules above 1,000 endpoints: upstream's large cluster
mode), ``statistic``
probabilities 1/n, 1/(n-1), ..., ``recent`` lists for ClientIP affinity, the
0x4000 masquerade mark, REJECT (no endpoints) and DROP (no local endpoints for a
``Local`` policy) in the filter table.

Every chain kube-proxy owns is declared in the text, so ``iptables-restore --noflush``
replaces each one wholesale; chains from a previous sync that are no longer wanted are
declared and deleted (``-X``) at the end. The jumps from the built-in chains are not in
the text (a restore cannot add them idempotently): ``JUMPS`` lists them for the
applier. Keeping this module free of I/O lets unit tests be tables and lets the
benchmark time computing apart from applying.

Speed (5,000 services must not take seconds): each service port's rules are built as a
``_Block`` of lines, and a ``RuleCache`` the proxier keeps between syncs maps (service
port, endpoints) to its block, so a resync only rebuilds the services that changed and
joins the rest. Chain names are base32 of 80 hash bits through a 1,024-entry table of
character pairs (the stdlib's b32encode is pure Python and was a third of the time).
The jumps of KUBE-SERVICES and KUBE-NODEPORTS are ordered by target, descending, for
iptables-nft-restore's sake (see ``iptables``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Iterable

from .model import Categorized, ServicePort, categorize, service_ports, slice_endpoints

SERVICES = "KUBE-SERVICES"
EXTERNAL_SERVICES = "KUBE-EXTERNAL-SERVICES"
NODEPORTS = "KUBE-NODEPORTS"
POSTROUTING = "KUBE-POSTROUTING"
MARK_MASQ = "KUBE-MARK-MASQ"
FORWARD = "KUBE-FORWARD"
PROXY_FIREWALL = "KUBE-PROXY-FIREWALL"
FIREWALL = "KUBE-FIREWALL"

FILTER_CHAINS = (SERVICES, EXTERNAL_SERVICES, FORWARD, NODEPORTS, PROXY_FIREWALL, FIREWALL)
NAT_CHAINS = (SERVICES, NODEPORTS, POSTROUTING, MARK_MASQ)
#: Above this many endpoints in all, rules of the per-endpoint and load-balancing chains
#: go without comments, as upstream's "large cluster mode" (faster restores).
LARGE_CLUSTER_ENDPOINTS = 1000
#: Prefixes of the per-service chains; any such chain not written by a sync is stale.
OWNED_PREFIXES = ("KUBE-SVC-", "KUBE-SVL-", "KUBE-EXT-", "KUBE-FW-", "KUBE-SEP-")

NEW = ("-m", "conntrack", "--ctstate", "NEW")
#: (table, built-in chain, kube chain, comment, extra match), as upstream's iptablesJumpChains.
JUMPS: tuple[tuple[str, str, str, str, tuple[str, ...]], ...] = (
    ("filter", "INPUT", EXTERNAL_SERVICES, "kubernetes externally-visible service portals", NEW),
    ("filter", "FORWARD", EXTERNAL_SERVICES, "kubernetes externally-visible service portals",
     NEW),
    ("filter", "INPUT", NODEPORTS, "kubernetes health check service ports", ()),
    ("filter", "FORWARD", SERVICES, "kubernetes service portals", NEW),
    ("filter", "OUTPUT", SERVICES, "kubernetes service portals", NEW),
    ("filter", "FORWARD", FORWARD, "kubernetes forwarding rules", ()),
    ("filter", "INPUT", PROXY_FIREWALL, "kubernetes load balancer firewall", NEW),
    ("filter", "OUTPUT", PROXY_FIREWALL, "kubernetes load balancer firewall", NEW),
    ("filter", "FORWARD", PROXY_FIREWALL, "kubernetes load balancer firewall", NEW),
    ("filter", "INPUT", FIREWALL, "kubernetes firewall", ()),
    ("filter", "OUTPUT", FIREWALL, "kubernetes firewall", ()),
    ("nat", "OUTPUT", SERVICES, "kubernetes service portals", ()),
    ("nat", "PREROUTING", SERVICES, "kubernetes service portals", ()),
    ("nat", "POSTROUTING", POSTROUTING, "kubernetes postrouting rules", ()),
)


@dataclass(frozen=True)
class ProxyConfig:
    node_name: str
    cluster_cidr: str | None = "10.244.0.0/16"  # None: no "off-cluster source" masquerade
    nodeport_ips: tuple[str, ...] | None = None  # None: every local address
    localhost_nodeports: bool = True
    masquerade_all: bool = False
    masquerade_bit: int = 14

    @property
    def mark(self) -> str:
        value = 1 << self.masquerade_bit
        return f"{value:#x}/{value:#x}"


@dataclass
class Ruleset:
    filter: str
    nat: str
    nat_chains: set[str] = field(default_factory=set)
    services: int = 0
    endpoints: int = 0
    filter_rules: int = 0
    nat_rules: int = 0  # written by this restore
    nat_rules_total: int = 0  # owned, including chains a partial sync left alone
    no_local_internal: int = 0  # Local internal policy, endpoints but none here
    no_local_external: int = 0  # the same for an externally accessible Local policy

    @property
    def text(self) -> str:
        return self.filter + self.nat


_BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_PAIRS = [a + b for a in _BASE32 for b in _BASE32]  # 10 bits -> 2 characters


def _hash(*parts: str) -> str:
    """The first 16 base32 characters of the SHA-256 of ``parts`` (upstream's names)."""
    n = int.from_bytes(hashlib.sha256("".join(parts).encode()).digest()[:10], "big")
    p = _PAIRS
    return (p[n >> 70] + p[(n >> 60) & 1023] + p[(n >> 50) & 1023] + p[(n >> 40) & 1023]
            + p[(n >> 30) & 1023] + p[(n >> 20) & 1023] + p[(n >> 10) & 1023] + p[n & 1023])


def svc_chain(sp: ServicePort) -> str:
    return "KUBE-SVC-" + _hash(sp.name_string, sp.protocol)


def svl_chain(sp: ServicePort) -> str:
    return "KUBE-SVL-" + _hash(sp.name_string, sp.protocol)


def ext_chain(sp: ServicePort) -> str:
    return "KUBE-EXT-" + _hash(sp.name_string, sp.protocol)


def sep_chain(sp: ServicePort, endpoint: str) -> str:
    return "KUBE-SEP-" + _hash(sp.name_string, sp.protocol, endpoint)


def comment(text: str) -> str:
    return f'-m comment --comment "{text}"' if " " in text else f"-m comment --comment {text}"


def probability(n: int) -> str:
    return f"{1.0 / n:0.10f}"


class _Block:
    """One service port's chain declarations and rules in both tables, as lines."""

    __slots__ = ("filter_rules", "nat_chains", "nat_rules", "chain_rules")

    def __init__(self) -> None:
        self.filter_rules: list[str] = []
        self.nat_chains: list[str] = []
        self.nat_rules: list[str] = []  # KUBE-SERVICES / KUBE-NODEPORTS
        self.chain_rules: list[str] = []  # the per-service chains


class RuleCache:
    """The blocks of the last sync by (service port, endpoints, large cluster mode), for
    one ProxyConfig.

    A block is a pure function of its key and the config, so it can be reused as long as
    neither changed; each ``compute`` keeps only the blocks it used."""

    def __init__(self) -> None:
        self.config: ProxyConfig | None = None
        self.blocks: dict[tuple, _Block] = {}


def _endpoint_comment(text: str, large: bool) -> str:
    """`` -m comment ...`` for a rule of a per-endpoint or load-balancing chain; none in
    large cluster mode, as upstream's appendServiceCommentLocked."""
    return "" if large else " " + comment(text)


def _policy_chain_rules(t: _Block, sp: ServicePort, chain: str, endpoints: list,
                        seps: dict[str, str], large: bool) -> None:
    """The load-balancing rules of a KUBE-SVC/KUBE-SVL chain (affinity first)."""
    name = sp.name_string
    addresses = [str(ep) for ep in endpoints]
    if sp.affinity_seconds:
        for address in addresses:
            sep = seps[address]
            t.chain_rules.append(
                f"-A {chain}{_endpoint_comment(f'{name} -> {address}', large)} -m recent "
                f"--name {sep} --rcheck --seconds {sp.affinity_seconds} --reap -j {sep}")
    n = len(addresses)
    for i, address in enumerate(addresses):
        stat = (f" -m statistic --mode random --probability {probability(n - i)}"
                if i < n - 1 else "")
        t.chain_rules.append(f"-A {chain}{_endpoint_comment(f'{name} -> {address}', large)}"
                             f"{stat} -j {seps[address]}")


def _service(sp: ServicePort, cat: Categorized, cfg: ProxyConfig, large: bool) -> _Block:
    t = _Block()
    seps = {address: sep_chain(sp, address) for address in map(str, cat.reachable)}
    name, proto = sp.name_string, sp.protocol
    match = f"-m {proto} -p {proto}"
    cluster_chain = svc_chain(sp)
    local_chain = svl_chain(sp) if sp.uses_local_endpoints else ""
    external_chain = ext_chain(sp) if sp.externally_accessible else ""
    internal_chain = local_chain if sp.internal_local else cluster_chain
    has_internal = cat.has_any and not (sp.internal_local and not cat.local)
    external_policy_chain = local_chain if sp.external_local else cluster_chain
    has_external = cat.has_any and not (sp.external_local and not cat.local)
    uses_external_chain = cat.has_any and sp.externally_accessible

    if not cat.has_any:
        internal_target = external_target = "REJECT"
        internal_comment = external_comment = comment(f"{name} has no endpoints")
    else:
        internal_target = external_target = "DROP"
        internal_comment = external_comment = comment(f"{name} has no local endpoints")

    ip_port = f"-d {sp.cluster_ip} --dport {sp.port}"
    if has_internal:
        t.nat_rules.append(f"-A {SERVICES} {comment(f'{name} cluster IP')} {match} {ip_port} "
                           f"-j {internal_chain}")
    else:
        t.filter_rules.append(f"-A {SERVICES} {internal_comment} {match} {ip_port} "
                              f"-j {internal_target}")

    for kind, ips in (("external IP", sp.external_ips),
                      ("loadbalancer IP", sp.load_balancer_ips)):
        for ip in ips:
            dest = f"-d {ip} --dport {sp.port}"
            if cat.has_any:
                t.nat_rules.append(f"-A {SERVICES} {comment(f'{name} {kind}')} {match} {dest} "
                                   f"-j {external_chain}")
            if not has_external:
                t.filter_rules.append(f"-A {EXTERNAL_SERVICES} {external_comment} {match} "
                                      f"{dest} -j {external_target}")

    if sp.node_port:
        if cat.has_any:
            t.nat_rules.append(f"-A {NODEPORTS} {comment(name)} {match} "
                               f"--dport {sp.node_port} -j {external_chain}")
        if not has_external:
            t.filter_rules.append(f"-A {EXTERNAL_SERVICES} {external_comment} -m addrtype "
                                  f"--dst-type LOCAL {match} --dport {sp.node_port} "
                                  f"-j {external_target}")
    if sp.health_check_node_port:
        t.filter_rules.append(f"-A {NODEPORTS} {comment(f'{name} health check node port')} "
                              f"-m tcp -p tcp --dport {sp.health_check_node_port} -j ACCEPT")

    if has_internal:
        masq = f"-A {internal_chain} {comment(f'{name} cluster IP')} {match} {ip_port}"
        if cfg.masquerade_all:
            t.chain_rules.append(f"{masq} -j {MARK_MASQ}")
        elif cfg.cluster_cidr:
            t.chain_rules.append(f"{masq} ! -s {cfg.cluster_cidr} -j {MARK_MASQ}")

    if uses_external_chain:
        _external_chain(t, sp, cfg, external_chain, cluster_chain, external_policy_chain,
                        has_external)

    if sp.uses_cluster_endpoints and cat.cluster:
        t.nat_chains.append(cluster_chain)
        _policy_chain_rules(t, sp, cluster_chain, cat.cluster, seps, large)
    if sp.uses_local_endpoints and cat.local:
        t.nat_chains.append(local_chain)
        _policy_chain_rules(t, sp, local_chain, cat.local, seps, large)

    note = _endpoint_comment(name, large)
    for ep, (address, sep) in zip(cat.reachable, seps.items()):
        t.nat_chains.append(sep)
        t.chain_rules.append(f"-A {sep}{note} -s {ep.ip} -j {MARK_MASQ}")
        recent = f" -m recent --name {sep} --set" if sp.affinity_seconds else ""
        t.chain_rules.append(f"-A {sep}{note}{recent} {match} -j DNAT "
                             f"--to-destination {address}")
    return t


def _external_chain(t: _Block, sp: ServicePort, cfg: ProxyConfig, chain: str,
                    cluster_chain: str, policy_chain: str, has_external: bool) -> None:
    """KUBE-EXT-*: masquerade (Cluster policy) or keep the client IP (Local policy)."""
    name = sp.name_string
    t.nat_chains.append(chain)
    if not sp.external_local:
        t.chain_rules.append(f"-A {chain} "
                           f"{comment(f'masquerade traffic for {name} external destinations')}"
                           f" -j {MARK_MASQ}")
    else:
        if cfg.cluster_cidr:
            t.chain_rules.append(f"-A {chain} "
                               f"{comment(f'pod traffic for {name} external destinations')} "
                               f"-s {cfg.cluster_cidr} -j {cluster_chain}")
        local_comment = comment(f"masquerade LOCAL traffic for {name} external destinations")
        t.chain_rules.append(f"-A {chain} {local_comment} -m addrtype --src-type LOCAL "
                           f"-j {MARK_MASQ}")
        route_comment = comment(f"route LOCAL traffic for {name} external destinations")
        t.chain_rules.append(f"-A {chain} {route_comment} -m addrtype --src-type LOCAL "
                           f"-j {cluster_chain}")
    if has_external:
        t.chain_rules.append(f"-A {chain} -j {policy_chain}")


def _jump_target(rule: str) -> str:
    return rule[rule.rindex(" ") + 1:]


def _static_rules(cfg: ProxyConfig) -> tuple[list[str], list[str]]:
    """Rules of the fixed chains that do not depend on Services: (filter, nat)."""
    mark = cfg.mark
    bit = mark.split("/")[0]
    filt = [
        f"-A {FORWARD} -m conntrack --ctstate INVALID -j DROP",
        f'-A {FORWARD} {comment("kubernetes forwarding rules")} -m mark --mark {mark} -j ACCEPT',
        f'-A {FORWARD} {comment("kubernetes forwarding conntrack rule")} -m conntrack '
        f"--ctstate RELATED,ESTABLISHED -j ACCEPT",
    ]
    if cfg.localhost_nodeports:
        filt.append(f'-A {FIREWALL} {comment("block incoming localnet connections")} '
                    f"-d 127.0.0.0/8 ! -s 127.0.0.0/8 -m conntrack ! --ctstate "
                    f"RELATED,ESTABLISHED,DNAT -j DROP")
    nat = [
        f"-A {POSTROUTING} -m mark ! --mark {mark} -j RETURN",
        f"-A {POSTROUTING} -j MARK --xor-mark {bit}",
        f'-A {POSTROUTING} {comment("kubernetes service traffic requiring SNAT")} '
        f"-j MASQUERADE --random-fully",
        f"-A {MARK_MASQ} -j MARK --or-mark {bit}",
    ]
    return filt, nat


def _nodeports_jumps(cfg: ProxyConfig) -> list[str]:
    """The last rules of nat KUBE-SERVICES: which destinations count as NodePort addresses."""
    note = comment("kubernetes service nodeports; NOTE: this must be the last rule in this chain")
    if cfg.nodeport_ips is None:
        local = "" if cfg.localhost_nodeports else " ! -d 127.0.0.0/8"
        return [f"-A {SERVICES} {note} -m addrtype --dst-type LOCAL{local} -j {NODEPORTS}"]
    return [f"-A {SERVICES} {note} -d {ip} -j {NODEPORTS}" for ip in cfg.nodeport_ips]


def compute(services: Iterable[dict], slices: Iterable[dict], cfg: ProxyConfig, *,
            existing_nat_chains: Iterable[str] = (),
            changed: set[tuple[str, str]] | None = None,
            cache: RuleCache | None = None) -> Ruleset:
    """The restore text for both tables; stale per-service chains among
    ``existing_nat_chains`` (from iptables-save or the previous sync) are deleted.

    ``changed`` makes a partial sync, as upstream's: only the per-service chains of
    those (namespace, name) Services are written; the others are left as they are
    (restoring chains costs time, even unchanged ones). The top-level chains are always
    written whole. ``cache`` reuses the blocks of services whose rules cannot differ
    from the last call's."""
    by_service: dict[tuple[str, str], list[dict]] = {}
    for es in slices:
        meta = es.get("metadata") or {}
        owner = (meta.get("labels") or {}).get("kubernetes.io/service-name")
        if owner:
            by_service.setdefault((meta.get("namespace", ""), owner), []).append(es)
    ports = sorted((sp for svc in services for sp in service_ports(svc)),
                   key=lambda sp: (sp.name_string, sp.protocol))
    endpoints_of = [slice_endpoints(by_service.get((sp.namespace, sp.name), ()),
                                    sp.port_name, sp.protocol) for sp in ports]
    large = sum(map(len, endpoints_of)) > LARGE_CLUSTER_ENDPOINTS
    previous = cache.blocks if cache is not None and cache.config == cfg else {}
    blocks: dict[tuple, _Block] = {}
    static_filter, static_nat = _static_rules(cfg)
    filter_rules = list(static_filter)
    service_rules: list[str] = []
    chain_rules: list[str] = []
    written_chains: list[str] = []
    endpoint_count = skipped_rules = no_local_internal = no_local_external = 0
    active: set[str] = set()
    for sp, endpoints in zip(ports, endpoints_of):
        endpoint_count += len(endpoints)
        cat = categorize(sp, endpoints, cfg.node_name)
        no_local_internal += sp.internal_local and not cat.local
        no_local_external += sp.external_local and not cat.local
        key = (sp, tuple(endpoints), large)
        block = previous.get(key) or _service(sp, cat, cfg, large)
        blocks[key] = block
        filter_rules += block.filter_rules
        service_rules += block.nat_rules
        active.update(block.nat_chains)
        if changed is not None and (sp.namespace, sp.name) not in changed:
            skipped_rules += len(block.chain_rules)
        else:
            chain_rules += block.chain_rules
            written_chains += block.nat_chains
    if cache is not None:
        cache.config, cache.blocks = cfg, blocks

    # Rules of KUBE-SERVICES / KUBE-NODEPORTS match disjoint destinations, so their order
    # is free (upstream's follows Go's map order); by jump target, descending, keeps
    # iptables-nft-restore's list of chain names cheap to insert into (see iptables.py).
    service_rules.sort(key=_jump_target, reverse=True)
    nat_rules = static_nat + service_rules + chain_rules + _nodeports_jumps(cfg)
    stale = sorted(c for c in set(existing_nat_chains) - active
                   if c.startswith(OWNED_PREFIXES))
    filter_text = "\n".join(["*filter", *(f":{c} - [0:0]" for c in FILTER_CHAINS),
                             *filter_rules, "COMMIT", ""])
    nat_text = "\n".join(["*nat", *(f":{c} - [0:0]" for c in NAT_CHAINS),
                          *(f":{c} - [0:0]" for c in written_chains),
                          *(f":{c} - [0:0]" for c in stale),
                          *nat_rules, *(f"-X {c}" for c in stale), "COMMIT", ""])
    return Ruleset(filter=filter_text, nat=nat_text, nat_chains=active, services=len(ports),
                   endpoints=endpoint_count, filter_rules=len(filter_rules),
                   nat_rules=len(nat_rules), nat_rules_total=len(nat_rules) + skipped_rules,
                   no_local_internal=no_local_internal, no_local_external=no_local_external)
