"""From a pod's spec to the CRI configs: the sandbox and each container.

``generatePodSandboxConfig`` and ``generateContainerConfig`` in pure form. The labels
and annotations written here are how the kubelet finds its pods again in the runtime
(after a restart too): the sandbox and every container carry the pod's uid, name and
namespace; a container also carries its spec name, the hash of its spec (a changed
spec means restart) and its restart count, which the pod status reports.
"""

from __future__ import annotations

import hashlib
import json
import os

from .envvars import expand
from .resources import cpu_quota, cpu_shares, memory_bytes
from .runtime import ContainerConfig, Mount, PodSandboxConfig

POD_UID = "io.kubernetes.pod.uid"
POD_NAME = "io.kubernetes.pod.name"
POD_NAMESPACE = "io.kubernetes.pod.namespace"
CONTAINER_NAME = "io.kubernetes.container.name"
CONTAINER_HASH = "io.kubernetes.container.hash"
RESTART_COUNT = "io.kubernetes.container.restartCount"
TERMINATION_GRACE = "io.kubernetes.pod.terminationGracePeriod"
SANDBOX_ATTEMPT = "io.kubernetes.sandbox.attempt"


def pod_labels(pod: dict) -> dict[str, str]:
    meta = pod["metadata"]
    return {POD_UID: meta["uid"], POD_NAME: meta["name"],
            POD_NAMESPACE: meta.get("namespace", "default")}


def container_hash(container: dict) -> str:
    """A stable hash of the fields whose change restarts the container (upstream hashes
    the spec without its resources, which may be resized in place)."""
    fields = {k: v for k, v in container.items() if k != "resources"}
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:16]


def sandbox_config(pod: dict, *, attempt: int, log_root: str, cluster_dns: list[str],
                   cluster_domain: str) -> PodSandboxConfig:
    meta, spec = pod["metadata"], pod.get("spec") or {}
    namespace = meta.get("namespace", "default")
    ports = [{"protocol": p.get("protocol", "TCP"), "container_port": p["containerPort"],
              "host_port": p["hostPort"], "host_ip": p.get("hostIP", "")}
             for c in spec.get("containers") or () for p in c.get("ports") or ()
             if p.get("hostPort")]
    config = PodSandboxConfig(
        name=meta["name"], namespace=namespace, uid=meta["uid"], attempt=attempt,
        # none for hostNetwork pods, as upstream: the runtime keeps the node's UTS namespace
        hostname="" if spec.get("hostNetwork") else spec.get("hostname") or meta["name"][:63],
        log_directory=sandbox_log_dir(log_root, namespace, meta["name"], meta["uid"]),
        labels={**(meta.get("labels") or {}), **pod_labels(pod)},
        annotations={**(meta.get("annotations") or {}), SANDBOX_ATTEMPT: str(attempt)},
        host_network=bool(spec.get("hostNetwork")), host_pid=bool(spec.get("hostPID")),
        host_ipc=bool(spec.get("hostIPC")), share_pid=bool(spec.get("shareProcessNamespace")),
        port_mappings=ports)
    policy = spec.get("dnsPolicy", "ClusterFirst")
    cluster_first = policy == "ClusterFirstWithHostNet" or (
        policy == "ClusterFirst" and not spec.get("hostNetwork"))
    if cluster_first and cluster_dns:
        config.dns_servers = list(cluster_dns)
        config.dns_searches = [f"{namespace}.svc.{cluster_domain}",
                               f"svc.{cluster_domain}", cluster_domain]
        config.dns_options = ["ndots:5"]
    dns = spec.get("dnsConfig") or {}
    config.dns_servers += dns.get("nameservers") or []
    config.dns_searches += dns.get("searches") or []
    config.dns_options += [o["name"] + (f":{o['value']}" if o.get("value") else "")
                           for o in dns.get("options") or ()]
    return config


def sandbox_log_dir(log_root: str, namespace: str, name: str, uid: str) -> str:
    """The log directory of a pod's sandbox (CRI ``log_directory``)."""
    return os.path.join(log_root, f"{namespace}_{name}_{uid}")


def container_log_path(name: str, restart_count: int) -> str:
    """A container's log file relative to its sandbox's directory (CRI ``log_path``)."""
    return f"{name}/{restart_count}.log"


def mounts(container: dict, volume_paths: dict[str, str]) -> list[Mount]:
    """The container's volumeMounts as host paths (a subPath is a path inside the
    volume, created when missing as upstream does)."""
    out = []
    for vm in container.get("volumeMounts") or ():
        host = volume_paths.get(vm["name"])
        if host is None:
            continue
        if vm.get("subPath"):
            host = os.path.join(host, vm["subPath"])
            if not os.path.exists(host):
                os.makedirs(host, exist_ok=True)
        out.append(Mount(container_path=vm["mountPath"], host_path=host,
                         readonly=bool(vm.get("readOnly"))))
    return out


def container_config(pod: dict, container: dict, *, env: dict[str, str], restart_count: int,
                     volume_paths: dict[str, str]) -> ContainerConfig:
    """The CRI ContainerConfig for ``container`` of ``pod`` (env already built)."""
    name = container["name"]
    resources = container.get("resources") or {}
    requests, limits = resources.get("requests") or {}, resources.get("limits") or {}
    quota, period = cpu_quota(limits.get("cpu"))
    config = ContainerConfig(
        name=name, image=container.get("image", ""), attempt=restart_count,
        command=[expand(a, env) for a in container.get("command") or ()],
        args=[expand(a, env) for a in container.get("args") or ()],
        working_dir=container.get("workingDir", ""), envs=dict(env),
        mounts=mounts(container, volume_paths), log_path=container_log_path(name, restart_count),
        labels={**pod_labels(pod), CONTAINER_NAME: name},
        annotations={CONTAINER_HASH: container_hash(container),
                     RESTART_COUNT: str(restart_count),
                     TERMINATION_GRACE: str(_grace(pod))},
        stdin=bool(container.get("stdin")), stdin_once=bool(container.get("stdinOnce")),
        tty=bool(container.get("tty")),
        cpu_shares=cpu_shares(requests.get("cpu"), limits.get("cpu")),
        cpu_quota=quota, cpu_period=period,
        memory_limit_bytes=memory_bytes(limits.get("memory")))
    _security(config, pod, container)
    return config


def _grace(pod: dict) -> int:
    spec = pod.get("spec") or {}
    value = spec.get("terminationGracePeriodSeconds")
    return 30 if value is None else int(value)


def _security(config: ContainerConfig, pod: dict, container: dict) -> None:
    pod_ctx = (pod.get("spec") or {}).get("securityContext") or {}
    ctx = container.get("securityContext") or {}
    user = ctx.get("runAsUser", pod_ctx.get("runAsUser"))
    group = ctx.get("runAsGroup", pod_ctx.get("runAsGroup"))
    config.run_as_user = None if user is None else int(user)
    config.run_as_group = None if group is None else int(group)
    config.privileged = bool(ctx.get("privileged"))
    config.readonly_rootfs = bool(ctx.get("readOnlyRootFilesystem"))
    caps = ctx.get("capabilities") or {}
    config.add_capabilities = list(caps.get("add") or ())
    config.drop_capabilities = list(caps.get("drop") or ())
    config.no_new_privs = ctx.get("allowPrivilegeEscalation") is False
    profile = ctx.get("seccompProfile") or pod_ctx.get("seccompProfile") or {}
    config.seccomp = profile.get("type") if profile.get("type") in SECCOMP_TYPES else ""
    groups = [int(g) for g in pod_ctx.get("supplementalGroups") or ()]
    if pod_ctx.get("fsGroup") is not None:
        groups.append(int(pod_ctx["fsGroup"]))
    config.supplemental_groups = groups


#: seccompProfile types passed to the runtime; Localhost profiles are not supported.
SECCOMP_TYPES = ("RuntimeDefault", "Unconfined")


def effective_non_root(pod: dict, container: dict) -> tuple[bool, int | None]:
    """(runAsNonRoot, runAsUser), the container's context overriding the pod's."""
    pod_ctx = (pod.get("spec") or {}).get("securityContext") or {}
    ctx = container.get("securityContext") or {}
    user = ctx.get("runAsUser", pod_ctx.get("runAsUser"))
    return bool(ctx.get("runAsNonRoot", pod_ctx.get("runAsNonRoot"))), \
        None if user is None else int(user)


def non_root_problem(pod: dict, container: dict, image_uid: int | None,
                     image_user: str) -> str:
    """Why ``container`` may not run under runAsNonRoot ("" when it may), as upstream's
    verifyRunAsNonRoot: the effective runAsUser decides, else the image's user."""
    non_root, user = effective_non_root(pod, container)
    if not non_root:
        return ""
    meta = pod["metadata"]
    where = f'(pod: "{meta["name"]}_{meta.get("namespace", "")}({meta.get("uid", "")})", ' \
            f'container: {container["name"]})'
    if user is not None:
        return f"container's runAsUser breaks non-root policy {where}" if user == 0 else ""
    if image_uid == 0:
        return f"container has runAsNonRoot and image will run as root {where}"
    if image_uid is None and image_user:
        return (f"container has runAsNonRoot and image has non-numeric user ({image_user}), "
                f"cannot verify user is non-root {where}")
    return ""
