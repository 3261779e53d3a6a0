"""Chooses a store backend from a datastore URL, as kine chooses by scheme."""

from __future__ import annotations

from urllib.parse import urlparse

from .interface import Store


def open_store(url: str, *, etcd_prefix: str = "/registry", etcd_ca: str | None = None,
               etcd_cert: str | None = None, etcd_key: str | None = None,
               ttls: dict[str, float] | None = None) -> Store:
    """``memory://``, ``sqlite:///abs/path/state.db``, or an etcd cluster: either
    ``etcd://host:2379[,host:2379]`` or kube-apiserver's ``--etcd-servers`` form,
    ``http(s)://host:2379[,http(s)://host:2379]`` (``https`` or a CA/client certificate
    means TLS). The ``etcd_*`` options are kube-apiserver's ``--etcd-*`` flags. ``ttls``
    (key prefix -> seconds) makes etcd write such keys with a lease; the other backends
    ignore it (their owner runs :class:`~pyk8s.store.expiry.ExpirySweeper`)."""
    scheme = urlparse(url).scheme
    if scheme == "memory":
        from .memory import MemoryStore

        return MemoryStore()
    if scheme == "sqlite":
        from .sqlite import SQLiteStore

        path = url[len("sqlite://") :]
        return SQLiteStore(path)
    if is_etcd(url):
        from .etcd import EtcdStore

        endpoints, tls = etcd_endpoints(url)
        return EtcdStore(endpoints, prefix=etcd_prefix, tls=tls, ca=etcd_ca, cert=etcd_cert,
                         key=etcd_key,
                         ttls={p: max(1, round(t)) for p, t in (ttls or {}).items() if t > 0})
    raise ValueError(f"unsupported datastore endpoint {url!r} "
                     "(use sqlite:///PATH, memory:// or etcd://HOST:PORT[,HOST:PORT])")


def is_etcd(url: str) -> bool:
    """Whether ``url`` names an etcd cluster (whose keys expire by lease, in etcd)."""
    return urlparse(url).scheme in ("etcd", "http", "https")


def etcd_endpoints(url: str) -> tuple[list[str], bool]:
    """``host:port`` endpoints of an etcd URL list, and whether any asks for TLS."""
    endpoints, tls = [], False
    for part in url.split(","):
        part = part.strip()
        if not part:
            continue
        if "://" in part:
            scheme, _, part = part.partition("://")
            if scheme not in ("etcd", "http", "https"):
                raise ValueError(f"unsupported etcd endpoint scheme {scheme!r} in {url!r}")
            tls = tls or scheme == "https"
        host = part.rstrip("/")
        if not host:
            raise ValueError(f"empty etcd endpoint in {url!r}")
        endpoints.append(host if ":" in host.rsplit("]", 1)[-1] else f"{host}:2379")
    if not endpoints:
        raise ValueError(f"no etcd endpoints in {url!r}")
    return endpoints, tls
