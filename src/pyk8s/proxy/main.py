"""``pyk8s kube-proxy``: the process, its flags, and ``--dry-run-rules``.

As upstream's kube-proxy it runs on every node with its own kubeconfig, watches
Services, EndpointSlices and its own Node, and programs iptables until SIGTERM,
serving its health (``--healthz-bind-address``, default 0.0.0.0:10256) and metrics
(``--metrics-bind-address``, default 127.0.0.1:10249) over HTTP meanwhile.
``--dry-run-rules`` computes the rules once from the synced caches and writes the
``iptables-restore`` input to stdout without touching the host: handy to see what a
Service turns into, and safe on any machine.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
import sys

from ..client import Client, load_config
from ..controllermanager import seconds
from .health import Servers, health_app, metrics_app
from .iptables import Iptables
from .proxier import Proxier
from .rules import ProxyConfig

log = logging.getLogger("pyk8s.kube-proxy")


def add_flags(p) -> None:
    p.add_argument("--kubeconfig", default=os.environ.get("KUBECONFIG"),
                   help="kubeconfig with kube-proxy's credentials")
    p.add_argument("--hostname-override", default=None,
                   help="this node's name (default: the host name)")
    p.add_argument("--cluster-cidr", default="10.244.0.0/16",
                   help="pod network; traffic to services from outside it is masqueraded "
                        "('' disables that rule)")
    p.add_argument("--proxy-mode", default="iptables", choices=("iptables",),
                   help="how services are implemented (only iptables)")
    p.add_argument("--iptables-min-sync-period", type=seconds, default=1.0,
                   help="minimum time between syncs (default 1s)")
    p.add_argument("--iptables-sync-period", type=seconds, default=30.0,
                   help="maximum time between full syncs (default 30s)")
    p.add_argument("--iptables-masquerade-bit", type=int, default=14,
                   help="fwmark bit that marks packets to masquerade (default 14)")
    p.add_argument("--masquerade-all", action="store_true",
                   help="masquerade all traffic to cluster IPs")
    p.add_argument("--iptables-localhost-nodeports", default="true", choices=("true", "false"),
                   help="accept NodePort connections on 127.0.0.1 (default true)")
    p.add_argument("--nodeport-addresses", default="",
                   help="CIDRs (or 'primary') whose local addresses accept NodePorts, "
                        "comma-separated (default: every local address)")
    p.add_argument("--healthz-bind-address", default="0.0.0.0:10256",
                   help="HOST:PORT of the health server (/healthz, /livez); '' disables it "
                        "(default %(default)s)")
    p.add_argument("--metrics-bind-address", default="127.0.0.1:10249",
                   help="HOST:PORT of the metrics server (/metrics); '' disables it "
                        "(default %(default)s)")
    p.add_argument("--dry-run-rules", action="store_true",
                   help="print the iptables-restore input once and exit; change nothing")
    p.add_argument("-v", "--v", dest="verbosity", type=int, default=0, help="log verbosity")


def config_from_args(args) -> ProxyConfig:
    return ProxyConfig(node_name=(args.hostname_override or socket.gethostname()).lower(),
                       cluster_cidr=args.cluster_cidr or None,
                       localhost_nodeports=args.iptables_localhost_nodeports == "true",
                       masquerade_all=args.masquerade_all,
                       masquerade_bit=args.iptables_masquerade_bit)


async def run(args) -> int:
    config = config_from_args(args)
    nodeport_addresses = tuple(a.strip() for a in args.nodeport_addresses.split(",")
                               if a.strip())
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with Client(load_config(args.kubeconfig, component="kube-proxy")) as client:
        proxier = Proxier(client, config, Iptables(),
                          min_sync_period=args.iptables_min_sync_period,
                          sync_period=args.iptables_sync_period,
                          nodeport_addresses=nodeport_addresses)
        log.info("kube-proxy for node %s (mode iptables, cluster CIDR %s)",
                 config.node_name, config.cluster_cidr)
        if not args.dry_run_rules:
            servers = Servers()
            try:
                await servers.start("healthz", health_app(proxier.health, proxier.metrics),
                                    args.healthz_bind_address)
                await servers.start("metrics", metrics_app(proxier.metrics),
                                    args.metrics_bind_address)
                await proxier.run(stop)
            finally:
                await servers.stop()
            return 0
        proxier.factory.start()
        try:
            await proxier.wait_for_sync(60)
            ruleset = await proxier.rules()
        finally:
            await proxier.factory.stop()
        sys.stdout.write(ruleset.text)
        return 0
