"""The ``pyk8s`` command: one entry point for every component.

``pyk8s server`` is the all-in-one cluster ``make run`` starts: the control plane and,
as k3s's server does, a kubelet that makes this machine a node; ``pyk8s apiserver`` runs
just the API server. Flags follow kube-apiserver's names so that what users know carries
over.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import socket
import sys
from pathlib import Path

from .goduration import parse_duration
from .hostaddr import default_route_address

DEFAULT_DATA_DIR = "/var/lib/pyk8s"


def _add_apiserver_flags(p: argparse.ArgumentParser, bind_address: str = "127.0.0.1") -> None:
    p.add_argument("--data-dir", default=DEFAULT_DATA_DIR,
                   help="state, certificates and admin.conf live here (default %(default)s)")
    p.add_argument("--bind-address", default=bind_address,
                   help="address to serve HTTPS on (default %(default)s)")
    p.add_argument("--secure-port", type=int, default=6443, help="HTTPS port (default %(default)s)")
    p.add_argument("--advertise-address", default=None,
                   help="address other cluster members and pods reach this server at "
                        "(default: the default-route interface's address)")
    p.add_argument("--datastore-endpoint", default=None,
                   help="store URL: sqlite:///PATH/state.db (default: under --data-dir) or "
                        "memory://, etcd://HOST:2379[,HOST:2379]")
    p.add_argument("--etcd-servers", default=None,
                   help="etcd URLs, comma-separated (http(s)://HOST:2379): store the cluster in "
                        "etcd, as kube-apiserver")
    p.add_argument("--etcd-cafile", default=None, help="CA bundle verifying etcd's certificate")
    p.add_argument("--etcd-certfile", default=None, help="client certificate for etcd")
    p.add_argument("--etcd-keyfile", default=None, help="private key of --etcd-certfile")
    p.add_argument("--etcd-compaction-interval", default="5m0s",
                   help="interval of storage compaction requests, a Go duration (default "
                        "%(default)s; 0 turns compaction off)")
    p.add_argument("--event-ttl", default="1h0m0s",
                   help="amount of time to retain events, a Go duration (default %(default)s)")
    p.add_argument("--etcd-prefix", default="/registry",
                   help="prefix of every key in etcd (default %(default)s)")
    p.add_argument("--service-cluster-ip-range", default="10.96.0.0/12",
                   help="CIDR Service cluster IPs come from (default %(default)s)")
    p.add_argument("--service-node-port-range", default="30000-32767",
                   help="port range NodePorts come from (default %(default)s)")
    p.add_argument("--anonymous-auth", default="true", choices=("true", "false"),
                   help="treat requests without credentials as system:anonymous (default true)")
    p.add_argument("--token-auth-file", default=None,
                   help="static bearer tokens, CSV: token,user,uid,\"group1,group2\"")
    p.add_argument("--service-account-issuer", default="https://kubernetes.default.svc.cluster.local",
                   help="iss of ServiceAccount tokens (default %(default)s)")
    p.add_argument("--service-account-key-file", default=None,
                   help="public key verifying ServiceAccount tokens (default: DATA_DIR/pki/sa.pub)")
    p.add_argument("--service-account-signing-key-file", default=None,
                   help="private key signing ServiceAccount tokens (default: DATA_DIR/pki/sa.key)")
    p.add_argument("--authorization-mode", default="Node,RBAC",
                   help="ordered authorizers (default %(default)s)")
    p.add_argument("--enable-admission-plugins", default="",
                   help="admission plugins to enable beyond the defaults (comma-separated)")
    p.add_argument("--disable-admission-plugins", default="",
                   help="default admission plugins to disable (comma-separated)")
    p.add_argument("--encryption-provider-config", default=None,
                   help="EncryptionConfiguration file: encrypt resources (e.g. secrets) at rest")
    p.add_argument("-v", "--v", dest="verbosity", type=int, default=0,
                   help="log verbosity (0: info, 4+: debug)")


def _duration(flag: str, text: str) -> float:
    """A duration flag's seconds (kept as text in args so ``pyk8s server`` forwards it)."""
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise SystemExit(f"pyk8s: invalid value for {flag}: {exc}") from None


def _options(args: argparse.Namespace):
    from .apiserver.server import APIServerOptions

    return APIServerOptions(
        data_dir=Path(args.data_dir),
        bind_address=args.bind_address,
        secure_port=args.secure_port,
        datastore_endpoint=args.datastore_endpoint,
        etcd_servers=args.etcd_servers,
        etcd_cafile=args.etcd_cafile,
        etcd_certfile=args.etcd_certfile,
        etcd_keyfile=args.etcd_keyfile,
        etcd_prefix=args.etcd_prefix,
        service_cluster_ip_range=args.service_cluster_ip_range,
        service_node_port_range=args.service_node_port_range,
        advertise_address=args.advertise_address,
        anonymous_auth=args.anonymous_auth == "true",
        token_auth_file=args.token_auth_file,
        service_account_issuer=args.service_account_issuer,
        service_account_key_file=args.service_account_key_file,
        service_account_signing_key_file=args.service_account_signing_key_file,
        authorization_mode=args.authorization_mode,
        enable_admission_plugins=args.enable_admission_plugins,
        disable_admission_plugins=args.disable_admission_plugins,
        encryption_provider_config=args.encryption_provider_config,
        event_ttl=_duration("--event-ttl", args.event_ttl),
        etcd_compaction_interval=_duration("--etcd-compaction-interval",
                                           args.etcd_compaction_interval),
    )


def _setup_logging(verbosity: int) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbosity >= 4 else logging.INFO,
        format="%(asctime)s %(levelname).1s %(name)s: %(message)s",
        stream=sys.stderr,
    )


def _run(coro) -> None:
    """Run the component's main coroutine; a returned int becomes the exit status."""
    try:
        import uvloop
    except ImportError:
        code = asyncio.run(coro)
    else:
        code = uvloop.run(coro)
    if isinstance(code, int) and code:
        sys.exit(code)


def cmd_apiserver(args: argparse.Namespace) -> None:
    from .apiserver.server import serve_forever

    _setup_logging(args.verbosity)
    _run(serve_forever(_options(args)))


#: Components ``pyk8s server`` supervises besides the API server, with the kubeconfig
#: (in the data dir) each one uses: the API server writes the control plane's,
#: :func:`_ensure_kubelet_kubeconfig` the kubelet's.
CLIENT_COMPONENTS = (
    ("controller-manager", "controller-manager.conf", "kube_controller_manager_arg"),
    ("scheduler", "scheduler.conf", "kube_scheduler_arg"),
    ("kubelet", "kubelet.conf", "kubelet_arg"),
    ("kube-proxy", "kube-proxy.conf", "kube_proxy_arg"),
)


#: The node agent's components, which ``--disable-agent`` leaves out.
AGENT_COMPONENTS = ("kubelet", "kube-proxy")

#: Flags the supervisor gives a component, pointing it at the files the API server made.
COMPONENT_FLAGS = {
    "controller-manager": ("--controllers", "*,bootstrapsigner,tokencleaner",
                           "--cluster-signing-cert-file", "{data_dir}/pki/ca.crt",
                           "--cluster-signing-key-file", "{data_dir}/pki/ca.key",
                           "--root-ca-file", "{data_dir}/pki/ca.crt"),
    "kubelet": ("--node-name", "{node_name}", "--root-dir", "{data_dir}/kubelet",
                "--client-ca-file", "{data_dir}/pki/ca.crt", "--node-ip", "{advertise}"),
    "kube-proxy": ("--hostname-override", "{node_name}"),
}

#: ``pyk8s server`` flags that are not the API server's.
SERVER_ONLY_FLAGS = ("help", "kube_scheduler_arg", "kube_controller_manager_arg", "kubelet_arg",
                     "kube_proxy_arg", "disable", "disable_agent", "node_name", "data_dir")


def _ensure_kubelet_kubeconfig(data_dir: Path, server: str, node_name: str) -> Path:
    """``kubelet.conf`` for the server's own node: user ``system:node:<name>`` in group
    ``system:nodes``, so the Node authorizer and NodeRestriction judge it as any kubelet
    (k3s's server likewise issues its agent's client certificate). The certificate is kept
    per node name (``pki/kubelet-<name>.crt``): renaming the node never reuses another's."""
    from . import pki

    pki_dir = data_dir / "pki"
    pki_dir.mkdir(parents=True, exist_ok=True)
    ca = pki.ensure_ca(pki_dir)
    return pki.ensure_client_kubeconfig(
        ca, pki_dir, data_dir / "kubelet.conf", server, cert_name=f"kubelet-{node_name}",
        common_name=f"system:node:{node_name}", organizations=("system:nodes",))


def _apiserver_args(args: argparse.Namespace, parser: argparse.ArgumentParser) -> list[str]:
    """The flags of ``pyk8s server`` that belong to the API server, as argv."""
    out = []
    for action in parser._actions:
        dest = action.dest
        if not action.option_strings or dest in SERVER_ONLY_FLAGS:
            continue
        value = getattr(args, dest, None)
        # The server's --bind-address default (all interfaces) is not the API server's.
        if value is None or (value == action.default and dest != "bind_address"):
            continue
        out += [action.option_strings[-1] if action.option_strings[-1].startswith("--")
                else action.option_strings[0], str(value)]
    return out


def cmd_server(args: argparse.Namespace) -> None:
    from .supervisor import Component, Supervisor, component_argv

    _setup_logging(args.verbosity)
    data_dir = Path(args.data_dir).resolve()
    host = "127.0.0.1" if args.bind_address in ("0.0.0.0", "::") else args.bind_address
    apiserver_args = ["--data-dir", str(data_dir)] + _apiserver_args(args, args.parser)
    components = [Component("apiserver", component_argv("apiserver", apiserver_args),
                            ready_url=f"https://{host}:{args.secure_port}/readyz")]
    available = set(args.commands)
    node_name = args.node_name or socket.gethostname().lower()
    # Pods reach the API server through the `kubernetes` Service, whose endpoint is the
    # advertised address; this machine's Node reports the same address as its InternalIP.
    advertise = args.advertise_address or default_route_address()
    if not args.advertise_address:
        apiserver_args += ["--advertise-address", advertise]
    for command, kubeconfig, extra_dest in CLIENT_COMPONENTS:
        if command not in available or command in args.disable or (
                args.disable_agent and command in AGENT_COMPONENTS):
            continue
        if command == "kubelet":
            _ensure_kubelet_kubeconfig(data_dir, f"https://{host}:{args.secure_port}", node_name)
        argv = ["--kubeconfig", str(data_dir / kubeconfig), *COMPONENT_FLAGS.get(command, ()),
                *getattr(args, extra_dest)]
        argv = [a.replace("{data_dir}", str(data_dir)).replace("{node_name}", node_name)
                .replace("{advertise}", advertise) for a in argv]
        components.append(Component(command, component_argv(command, argv)))

    def announce() -> None:
        logging.getLogger("pyk8s").info(
            "cluster is up (%s). Point kubectl at it:\n\n    export KUBECONFIG=%s\n"
            "    kubectl get namespaces\n", ", ".join(c.name for c in components),
            data_dir / "admin.conf")

    async def main() -> int:
        return await Supervisor(components).run(on_ready=announce)

    _run(main())


def cmd_controller_manager(args: argparse.Namespace) -> None:
    from .controllermanager import options_from_args, run

    _setup_logging(args.verbosity)

    async def main() -> int:
        return await run(args.kubeconfig, options_from_args(args),
                         controllers=args.controllers,
                         leader_elect=args.leader_elect == "true",
                         use_service_account_credentials=(
                             args.use_service_account_credentials == "true"))

    _run(main())


def cmd_kube_proxy(args: argparse.Namespace) -> None:
    from .proxy.main import run

    _setup_logging(args.verbosity)
    _run(run(args))


def cmd_hollow_nodes(args: argparse.Namespace) -> None:
    from .hollow import main as hollow_main
    from .hollow.options import OptionError, options_from_args

    _setup_logging(args.verbosity)
    try:
        opts = options_from_args(args)
    except OptionError as err:
        args.parser.error(str(err))
    _run(hollow_main(args.kubeconfig, opts))


def cmd_kubelet(args: argparse.Namespace) -> None:
    from .kubelet.main import main as kubelet_main

    _setup_logging(args.verbosity)
    _run(kubelet_main(args))


def cmd_images(args: argparse.Namespace) -> None:
    from .kubelet.imagecmd import main as images_main

    _setup_logging(0)
    _run(images_main(args))


def cmd_scheduler(args: argparse.Namespace) -> None:
    from .scheduler.app import run

    _setup_logging(args.verbosity)
    leader_elect = None if args.leader_elect is None else args.leader_elect == "true"

    async def main() -> int:
        return await run(args.kubeconfig, args.config, leader_elect=leader_elect)

    _run(main())


def _controller_manager_flags(p: argparse.ArgumentParser) -> None:
    from .controllermanager import add_flags

    add_flags(p)
    p.add_argument("-v", "--v", dest="verbosity", type=int, default=0, help="log verbosity")


def _scheduler_flags(p: argparse.ArgumentParser) -> None:
    from .scheduler.app import add_flags

    add_flags(p)
    p.add_argument("-v", "--v", dest="verbosity", type=int, default=0, help="log verbosity")


def _proxy_flags(p: argparse.ArgumentParser) -> None:
    from .proxy.main import add_flags

    add_flags(p)


def _hollow_flags(p: argparse.ArgumentParser) -> None:
    from .hollow.options import add_flags

    add_flags(p)


def _kubelet_flags(p: argparse.ArgumentParser) -> None:
    from .kubelet.main import add_flags

    add_flags(p)


def _images_flags(p: argparse.ArgumentParser) -> None:
    from .kubelet.imagecmd import add_flags

    add_flags(p)


def _server_flags(p: argparse.ArgumentParser) -> None:
    _add_apiserver_flags(p, bind_address="0.0.0.0")
    p.add_argument("--kube-scheduler-arg", action="append", default=[], metavar="ARG",
                   help="extra flag for the scheduler (repeatable)")
    p.add_argument("--kube-controller-manager-arg", action="append", default=[], metavar="ARG",
                   help="extra flag for the controller manager (repeatable)")
    p.add_argument("--kubelet-arg", action="append", default=[], metavar="ARG",
                   help="extra flag for the kubelet (repeatable), e.g. "
                        "--kubelet-arg=--kill-pods-on-exit")
    p.add_argument("--kube-proxy-arg", action="append", default=[], metavar="ARG",
                   help="extra flag for kube-proxy (repeatable)")
    p.add_argument("--node-name", default=None,
                   help="name of this machine's Node (default: the hostname)")
    p.add_argument("--disable", action="append", default=[], metavar="COMPONENT",
                   help="do not run this component (scheduler, controller-manager, kubelet, kube-proxy)")
    p.add_argument("--disable-agent", action="store_true",
                   help="run the control plane alone: no kubelet or kube-proxy on this machine")


# (name, aliases, help, description, flags, command). Each command's flags are added only
# when it is the one being run: a component's flag module imports the component, and the
# five processes of `pyk8s server` should not each import all of them.
SUBCOMMANDS = (
    ("server", (), "run the all-in-one cluster (what `make run` starts)",
     "Run the all-in-one cluster in the foreground: the API server, then the components "
     "that talk to it (controller manager, scheduler and a kubelet making this machine a "
     "node), each in its own process, restarted if it dies.", _server_flags, cmd_server),
    ("apiserver", (), "run the Kubernetes API server",
     "Run the Kubernetes API server in the foreground.", _add_apiserver_flags, cmd_apiserver),
    ("controller-manager", (), "run the controller manager",
     "Run the controllers that keep resources in their desired state "
     "(kube-controller-manager).", _controller_manager_flags, cmd_controller_manager),
    ("scheduler", (), "run the scheduler",
     "Run the scheduler that binds pods to nodes (kube-scheduler).", _scheduler_flags,
     cmd_scheduler),
    ("kube-proxy", ("proxy",), "run the network proxy (Services -> iptables)",
     "Program this node's iptables so that Service IPs and NodePorts reach their endpoints "
     "(kube-proxy).", _proxy_flags, cmd_kube_proxy),
    ("hollow-nodes", (), "simulate many nodes in one process (kubemark)",
     "Register N simulated nodes that heartbeat and report the pods bound to them as "
     "running, as kubemark's hollow kubelets and kwok do; nothing is run.", _hollow_flags,
     cmd_hollow_nodes),
    ("kubelet", (), "run the node agent",
     "Register this machine as a Node and run the pods bound to it through a CRI container "
     "runtime (kubelet).", _kubelet_flags, cmd_kubelet),
    ("images", (), "manage the node's images (import archives)",
     "Manage the images of the kubelet's containerd.", _images_flags, cmd_images),
)


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser; given ``command``, only that subcommand gets its flags (cheaper to build)."""
    parser = argparse.ArgumentParser(prog="pyk8s", description="Kubernetes written in Python.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, aliases, help_text, description, add_flags, func in SUBCOMMANDS:
        p = sub.add_parser(name, aliases=list(aliases), help=help_text, description=description)
        if command is None or command == name or command in aliases:
            add_flags(p)
        p.set_defaults(func=func, parser=p)
    return parser


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser(next((a for a in argv if not a.startswith("-")), ""))
    args = parser.parse_args(argv)
    args.commands = tuple(_subcommands(parser))
    args.func(args)


def _subcommands(parser: argparse.ArgumentParser) -> list[str]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return list(action.choices)
    return []


if __name__ == "__main__":
    main()
