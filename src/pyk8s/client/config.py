"""Where the API server is and how to authenticate to it: kubeconfig or in-cluster.

Mirrors client-go's ``rest.Config`` as built by ``clientcmd`` (kubeconfig files: clusters,
users, contexts, current-context, ``*-data`` fields next to file fields, relative paths
resolved against the kubeconfig's directory) and ``rest.InClusterConfig`` (the service
account token, re-read when the file changes so projected-token rotation just works).
The result is one immutable ``Config`` the ``Client`` turns into an aiohttp session.
"""

from __future__ import annotations

import base64
import os
import ssl
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from .. import __version__

SERVICE_ACCOUNT_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")


class ConfigError(Exception):
    """The kubeconfig or in-cluster environment does not describe a usable client."""


def user_agent(component: str) -> str:
    """The User-Agent components send, e.g. ``pyk8s-scheduler/0.1.0``."""
    return f"pyk8s-{component}/{__version__}"


class TokenFile:
    """A bearer token read from a file, re-read whenever the file's mtime or size changes."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._stamp: tuple[int, int] | None = None
        self._token = ""

    def __call__(self) -> str:
        st = self.path.stat()
        stamp = (st.st_mtime_ns, st.st_size)
        if stamp != self._stamp:
            self._token = self.path.read_text().strip()
            self._stamp = stamp
        return self._token


@dataclass(frozen=True)
class Config:
    """Everything needed to reach and authenticate to one API server."""

    server: str
    ssl_context: ssl.SSLContext | bool | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    token: Callable[[], str] | None = None
    user_agent: str = user_agent("client")
    namespace: str = "default"

    def request_headers(self) -> dict[str, str]:
        """Headers for one request (the token is fetched per request so rotation applies)."""
        out = {"User-Agent": self.user_agent, **self.headers}
        if self.token is not None:
            out["Authorization"] = f"Bearer {self.token()}"
        return out

    def with_user_agent(self, agent: str) -> Config:
        return Config(self.server, self.ssl_context, self.headers, self.token, agent,
                      self.namespace)


def _decode(data: str) -> bytes:
    return base64.b64decode(data)


def _resolve(base: Path, path: str | None) -> Path | None:
    if not path:
        return None
    p = Path(path).expanduser()
    return p if p.is_absolute() else base / p


def _pem(section: dict, name: str, base: Path) -> bytes | None:
    """A PEM blob from ``<name>-data`` (base64) or the file ``<name>``; data wins, as upstream."""
    if section.get(f"{name}-data"):
        return _decode(section[f"{name}-data"])
    path = _resolve(base, section.get(name))
    return path.read_bytes() if path else None


def _load_cert_chain(ctx: ssl.SSLContext, cert: bytes, key: bytes) -> None:
    """``load_cert_chain`` only reads files: stage the PEMs in a private temp dir."""
    with tempfile.TemporaryDirectory() as tmp:
        cert_path, key_path = Path(tmp, "tls.crt"), Path(tmp, "tls.key")
        cert_path.write_bytes(cert)
        key_path.touch(mode=0o600)
        key_path.write_bytes(key)
        ctx.load_cert_chain(cert_path, key_path)


def build_ssl_context(*, ca: bytes | None, cert: bytes | None = None, key: bytes | None = None,
                      insecure: bool = False) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cadata=ca.decode() if ca else None)
    if insecure:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if cert or key:
        if not (cert and key):
            raise ConfigError("client certificate and key must be given together")
        _load_cert_chain(ctx, cert, key)
    return ctx


def _named(doc: dict, kind: str, name: str) -> dict:
    for entry in doc.get(kind) or []:
        if entry.get("name") == name:
            return entry.get(kind[:-1]) or {}
    raise ConfigError(f"kubeconfig has no {kind[:-1]} named {name!r}")


def default_kubeconfig_path() -> Path:
    """``$KUBECONFIG`` (first existing entry) or ``~/.kube/config``."""
    for entry in (os.environ.get("KUBECONFIG") or "").split(os.pathsep):
        if entry and Path(entry).expanduser().exists():
            return Path(entry).expanduser()
    return Path.home() / ".kube" / "config"


def parse_kubeconfig(doc: dict, *, base: Path, context: str | None = None,
                     agent: str = user_agent("client")) -> Config:
    """A Config from a parsed kubeconfig document whose relative paths are under ``base``."""
    context_name = context or doc.get("current-context")
    if not context_name:
        raise ConfigError("kubeconfig has no current-context and none was given")
    ctx = _named(doc, "contexts", context_name)
    cluster = _named(doc, "clusters", ctx.get("cluster", ""))
    user = _named(doc, "users", ctx["user"]) if ctx.get("user") else {}
    server = cluster.get("server")
    if not server:
        raise ConfigError(f"cluster {ctx.get('cluster')!r} has no server")
    headers: dict[str, str] = {}
    token: Callable[[], str] | None = None
    if user.get("token"):
        headers["Authorization"] = f"Bearer {user['token']}"
    elif user.get("tokenFile"):
        token = TokenFile(_resolve(base, user["tokenFile"]))
    ssl_context = None
    if server.startswith("https"):
        ssl_context = build_ssl_context(
            ca=_pem(cluster, "certificate-authority", base),
            cert=_pem(user, "client-certificate", base), key=_pem(user, "client-key", base),
            insecure=bool(cluster.get("insecure-skip-tls-verify")))
    return Config(server=server.rstrip("/"), ssl_context=ssl_context, headers=headers,
                  token=token, user_agent=agent, namespace=ctx.get("namespace") or "default")


def load_kubeconfig(path: str | Path | None = None, *, context: str | None = None,
                    component: str = "client") -> Config:
    """A Config from a kubeconfig file (default: ``$KUBECONFIG`` or ``~/.kube/config``)."""
    path = Path(path).expanduser() if path else default_kubeconfig_path()
    doc = yaml.safe_load(path.read_text()) or {}
    return parse_kubeconfig(doc, base=path.resolve().parent, context=context,
                            agent=user_agent(component))


def load_incluster_config(*, root: Path = SERVICE_ACCOUNT_DIR,
                          env: Mapping[str, str] | None = None,
                          component: str = "client") -> Config:
    """A Config from a pod's service account, as ``rest.InClusterConfig``."""
    env = os.environ if env is None else env
    host, port = env.get("KUBERNETES_SERVICE_HOST"), env.get("KUBERNETES_SERVICE_PORT")
    if not host or not port:
        raise ConfigError("not in a cluster: KUBERNETES_SERVICE_HOST/PORT are not set")
    if ":" in host:
        host = f"[{host}]"
    root = Path(root)
    ca_path = root / "ca.crt"
    ns_path = root / "namespace"
    return Config(
        server=f"https://{host}:{port}",
        ssl_context=build_ssl_context(ca=ca_path.read_bytes() if ca_path.exists() else None),
        token=TokenFile(root / "token"), user_agent=user_agent(component),
        namespace=ns_path.read_text().strip() if ns_path.exists() else "default")


def load_config(kubeconfig: str | Path | None = None, *, context: str | None = None,
                component: str = "client") -> Config:
    """An explicit kubeconfig if given, else in-cluster if in a pod, else the default file."""
    if kubeconfig is None and os.environ.get("KUBERNETES_SERVICE_HOST"):
        return load_incluster_config(component=component)
    return load_kubeconfig(kubeconfig, context=context, component=component)
