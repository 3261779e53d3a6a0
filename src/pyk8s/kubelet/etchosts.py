"""The kubelet-managed ``/etc/hosts`` of a pod's containers, as upstream's ``ensureHostsFile``.

Every container of a pod gets the same hosts file, kept in the pod's directory and
bind-mounted at ``/etc/hosts`` (unless the container mounts something there itself),
so that a pod resolves its own hostname to its IP and sees its ``hostAliases``:

* a pod on the pod network: localhost lines, then each pod IP with the pod's hostname
  (``<hostname>.<subdomain>.<namespace>.svc.<cluster domain>`` first when the pod has a
  subdomain);
* a ``hostNetwork`` pod: the node's own ``/etc/hosts``;

both under upstream's header and followed by the ``hostAliases`` entries. The file is
rewritten whenever a container starts, so it follows a new sandbox's IP.
"""

from __future__ import annotations

import os

HEADER = "# Kubernetes-managed hosts file.\n"
LOCALHOST = ("127.0.0.1\tlocalhost\n"
             "::1\tlocalhost ip6-localhost ip6-loopback\n"
             "fe00::0\tip6-localnet\n"
             "fe00::0\tip6-mcastprefix\n"
             "fe00::1\tip6-allnodes\n"
             "fe00::2\tip6-allrouters\n")
CONTAINER_PATH = "/etc/hosts"
NODE_HOSTS = "/etc/hosts"


def hosts_file_content(pod: dict, pod_ips: list[str], cluster_domain: str,
                       node_hosts: str = "") -> str:
    """The file for ``pod`` (``node_hosts``: the node's file, for hostNetwork pods)."""
    spec, meta = pod.get("spec") or {}, pod["metadata"]
    if spec.get("hostNetwork"):
        body = node_hosts
    else:
        hostname = spec.get("hostname") or meta["name"][:63]
        subdomain = spec.get("subdomain")
        names = hostname
        if subdomain:
            namespace = meta.get("namespace", "default")
            names = f"{hostname}.{subdomain}.{namespace}.svc.{cluster_domain}\t{hostname}"
        body = LOCALHOST + "".join(f"{ip}\t{names}\n" for ip in pod_ips)
    return HEADER + body + _aliases(spec.get("hostAliases") or ())


def _aliases(aliases) -> str:
    if not aliases:
        return ""
    lines = [f"{a.get('ip', '')}\t" + "\t".join(a.get("hostnames") or ()) + "\n"
             for a in aliases]
    return "\n# Entries added by HostAliases.\n" + "".join(lines)


def wants_hosts_file(container: dict) -> bool:
    """False when the container mounts something at /etc/hosts itself."""
    return not any(os.path.normpath(m.get("mountPath") or "") == CONTAINER_PATH
                   for m in container.get("volumeMounts") or ())


def write_hosts_file(path: str, content: str) -> None:
    """Write ``path`` in place (blocking: run it in a thread). In place, as upstream: the
    pod's running containers have this inode bind-mounted and must see the new content."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    try:
        with open(path, encoding="utf-8") as current:
            if current.read() == content:
                return
    except FileNotFoundError:
        pass
    with open(path, "w", encoding="utf-8") as out:
        out.write(content)
    os.chmod(path, 0o644)


def read_node_hosts() -> str:
    try:
        with open(NODE_HOSTS, encoding="utf-8") as f:
            return f.read()
    except OSError:
        return ""
