"""The Pod Security Standards' checks (k8s.io/pod-security-admission/policy).

Each check looks at a pod's metadata and spec and answers None (allowed) or a
forbidden reason and detail worded exactly as upstream, so kubectl users see the
same messages. Baseline checks apply at baseline and restricted; at restricted,
some restricted checks replace the baseline one they tighten.
"""

from __future__ import annotations

from typing import Callable

Result = tuple[str, str] | None
Check = Callable[[dict, dict], Result]

BASELINE_CAPABILITIES = frozenset({
    "AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD",
    "NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"})
SAFE_SYSCTLS = frozenset({
    "kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.ip_unprivileged_port_start",
    "net.ipv4.tcp_syncookies", "net.ipv4.ping_group_range", "net.ipv4.ip_local_reserved_ports",
    "net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl",
    "net.ipv4.tcp_keepalive_probes", "net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem"})
SELINUX_TYPES = frozenset({"", "container_t", "container_init_t", "container_kvm_t",
                           "container_engine_t"})
RESTRICTED_OK_VOLUMES = ("configMap", "csi", "downwardAPI", "emptyDir", "ephemeral",
                         "persistentVolumeClaim", "projected", "secret")
VOLUME_TYPES = ("hostPath", "gcePersistentDisk", "awsElasticBlockStore", "gitRepo", "nfs",
                "iscsi", "glusterfs", "rbd", "flexVolume", "cinder", "cephfs", "flocker", "fc",
                "azureFile", "vsphereVolume", "quobyte", "azureDisk", "portworxVolume",
                "photonPersistentDisk", "scaleIO", "storageos", "image")
APPARMOR_ANNOTATION_PREFIX = "container.apparmor.security.beta.kubernetes.io/"


def pluralize(singular: str, plural: str, n: int) -> str:
    return singular if n == 1 else plural


def join_quote(items) -> str:
    return ", ".join('"' + str(i).replace("\\", "\\\\").replace('"', '\\"') + '"' for i in items)


def containers(spec: dict) -> list[dict]:
    """visitContainers: init containers, containers, ephemeral containers."""
    return [c for kind in ("initContainers", "containers", "ephemeralContainers")
            for c in spec.get(kind) or [] if isinstance(c, dict)]


def _sc(obj: dict) -> dict:
    return obj.get("securityContext") or {}


def _named(names: list[str]) -> str:
    return f"{pluralize('container', 'containers', len(names))} {join_quote(names)}"


def host_namespaces(meta: dict, spec: dict) -> Result:
    found = [f"{k}=true" for k in ("hostNetwork", "hostPID", "hostIPC") if spec.get(k)]
    return ("host namespaces", ", ".join(found)) if found else None


def privileged(meta: dict, spec: dict) -> Result:
    bad = [c.get("name") for c in containers(spec) if _sc(c).get("privileged")]
    return ("privileged", f"{_named(bad)} must not set securityContext.privileged=true") \
        if bad else None


def capabilities_baseline(meta: dict, spec: dict) -> Result:
    bad, caps = [], set()
    for c in containers(spec):
        added = [a for a in (_sc(c).get("capabilities") or {}).get("add") or []
                 if a not in BASELINE_CAPABILITIES]
        if added:
            bad.append(c.get("name"))
            caps.update(added)
    if not bad:
        return None
    return ("non-default capabilities", f"{_named(bad)} must not include "
            f"{join_quote(sorted(caps))} in securityContext.capabilities.add")


def capabilities_restricted(meta: dict, spec: dict) -> Result:
    missing_drop, adding, caps = [], [], set()
    for c in containers(spec):
        capabilities = _sc(c).get("capabilities")
        if not capabilities:
            missing_drop.append(c.get("name"))
            continue
        if "ALL" not in (capabilities.get("drop") or []):
            missing_drop.append(c.get("name"))
        added = [a for a in capabilities.get("add") or [] if a != "NET_BIND_SERVICE"]
        if added:
            adding.append(c.get("name"))
            caps.update(added)
    details = []
    if missing_drop:
        details.append(f'{_named(missing_drop)} must set securityContext.capabilities.drop=["ALL"]')
    if adding:
        details.append(f"{_named(adding)} must not include {join_quote(sorted(caps))} in "
                       "securityContext.capabilities.add")
    return ("unrestricted capabilities", "; ".join(details)) if details else None


def host_path_volumes(meta: dict, spec: dict) -> Result:
    bad = [v.get("name") for v in spec.get("volumes") or [] if v.get("hostPath") is not None]
    return ("hostPath volumes", f"{pluralize('volume', 'volumes', len(bad))} {join_quote(bad)}") \
        if bad else None


def host_ports(meta: dict, spec: dict) -> Result:
    bad, ports = [], set()
    for c in containers(spec):
        used = [str(p.get("hostPort")) for p in c.get("ports") or [] if p.get("hostPort")]
        if used:
            bad.append(c.get("name"))
            ports.update(used)
    if not bad:
        return None
    return ("hostPort", f"{_named(bad)} {pluralize('uses', 'use', len(bad))} "
            f"{pluralize('hostPort', 'hostPorts', len(ports))} {', '.join(sorted(ports))}")


def app_armor_profile(meta: dict, spec: dict) -> Result:
    setters, values = [], set()
    if (_sc(spec).get("appArmorProfile") or {}).get("type") == "Unconfined":
        setters.append("pod")
        values.add("Unconfined")
    bad = []
    for c in containers(spec):
        if (_sc(c).get("appArmorProfile") or {}).get("type") == "Unconfined":
            bad.append(c.get("name"))
            values.add("Unconfined")
    if bad:
        setters.append(_named(bad))
    annotations = sorted(
        f'{k}="{v}"' for k, v in (meta.get("annotations") or {}).items()
        if k.startswith(APPARMOR_ANNOTATION_PREFIX)
        and not (v in ("", "runtime/default") or v.startswith("localhost/")))
    details = [f"{' and '.join(setters)} must not set AppArmor profile type to "
               f"{join_quote(sorted(values))}"] if setters else []
    details += annotations
    if not details:
        return None
    count = len(values) + len(annotations)
    return (pluralize("forbidden AppArmor profile", "forbidden AppArmor profiles", count),
            ", ".join(details))


def se_linux_options(meta: dict, spec: dict) -> Result:
    setters, types = [], set()
    flags = {"user": False, "role": False}

    def valid(opts: dict) -> bool:
        ok = True
        if (opts.get("type") or "") not in SELINUX_TYPES:
            ok = False
            types.add(opts.get("type"))
        for key in ("user", "role"):
            if opts.get(key):
                ok, flags[key] = False, True
        return ok

    if _sc(spec).get("seLinuxOptions") and not valid(_sc(spec)["seLinuxOptions"]):
        setters.append("pod")
    bad = [c.get("name") for c in containers(spec)
           if _sc(c).get("seLinuxOptions") and not valid(_sc(c)["seLinuxOptions"])]
    if bad:
        setters.append(_named(bad))
    if not setters:
        return None
    data = []
    if types:
        data.append(f"{pluralize('type', 'types', len(types))} {join_quote(sorted(types))}")
    data += [f"{key} may not be set" for key in ("user", "role") if flags[key]]
    return ("seLinuxOptions", f"{' and '.join(setters)} set forbidden "
            f"securityContext.seLinuxOptions: {'; '.join(data)}")


def proc_mount(meta: dict, spec: dict) -> Result:
    bad, types = [], set()
    for c in containers(spec):
        mount = _sc(c).get("procMount")
        if mount is not None and mount != "Default":
            bad.append(c.get("name"))
            types.add(mount)
    if not bad:
        return None
    return ("procMount", f"{_named(bad)} must not set securityContext.procMount to "
            f"{join_quote(sorted(types))}")


def _seccomp_type(obj: dict) -> str | None:
    profile = _sc(obj).get("seccompProfile")
    return profile.get("type") if isinstance(profile, dict) else None


def seccomp_baseline(meta: dict, spec: dict) -> Result:
    setters = ["pod"] if _seccomp_type(spec) == "Unconfined" else []
    bad = [c.get("name") for c in containers(spec) if _seccomp_type(c) == "Unconfined"]
    if bad:
        setters.append(_named(bad))
    if not setters:
        return None
    return ("seccompProfile", f"{' and '.join(setters)} must not set "
            'securityContext.seccompProfile.type to "Unconfined"')


def seccomp_restricted(meta: dict, spec: dict) -> Result:
    ok = ("RuntimeDefault", "Localhost")
    setters, values, pod_set = [], set(), False
    if _sc(spec).get("seccompProfile") is not None:
        if _seccomp_type(spec) not in ok:
            setters.append("pod")
            values.add(_seccomp_type(spec))
        else:
            pod_set = True
    explicit, implicit = [], []
    for c in containers(spec):
        if _sc(c).get("seccompProfile") is not None:
            if _seccomp_type(c) not in ok:
                explicit.append(c.get("name"))
                values.add(_seccomp_type(c))
        elif not pod_set:
            implicit.append(c.get("name"))
    if explicit:
        setters.append(_named(explicit))
    if setters:
        return ("seccompProfile", f"{' and '.join(setters)} must not set "
                f"securityContext.seccompProfile.type to {join_quote(sorted(map(str, values)))}")
    if implicit:
        return ("seccompProfile", f"pod or {_named(implicit)} must set "
                'securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost"')
    return None


def sysctls(meta: dict, spec: dict) -> Result:
    bad = [s.get("name") for s in _sc(spec).get("sysctls") or []
           if s.get("name") not in SAFE_SYSCTLS]
    return ("forbidden sysctls", ", ".join(bad)) if bad else None


def windows_host_process(meta: dict, spec: dict) -> Result:
    pod = bool((_sc(spec).get("windowsOptions") or {}).get("hostProcess"))
    bad = [c.get("name") for c in containers(spec)
           if (_sc(c).get("windowsOptions") or {}).get("hostProcess")]
    setters = (["pod"] if pod else []) + ([_named(bad)] if bad else [])
    if not setters:
        return None
    return ("hostProcess", f"{' and '.join(setters)} must not set "
            "securityContext.windowsOptions.hostProcess=true")


def restricted_volumes(meta: dict, spec: dict) -> Result:
    bad, types = [], set()
    for v in spec.get("volumes") or []:
        if any(v.get(k) is not None for k in RESTRICTED_OK_VOLUMES):
            continue
        bad.append(v.get("name"))
        types.add(next((k for k in VOLUME_TYPES if v.get(k) is not None), "unknown"))
    if not bad:
        return None
    return ("restricted volume types",
            f"{pluralize('volume', 'volumes', len(bad))} {join_quote(bad)} "
            f"{pluralize('uses', 'use', len(bad))} "
            f"{pluralize('restricted volume type', 'restricted volume types', len(types))} "
            f"{join_quote(sorted(types))}")


def allow_privilege_escalation(meta: dict, spec: dict) -> Result:
    bad = [c.get("name") for c in containers(spec)
           if _sc(c).get("allowPrivilegeEscalation") is not False]
    return ("allowPrivilegeEscalation != false",
            f"{_named(bad)} must set securityContext.allowPrivilegeEscalation=false") \
        if bad else None


def run_as_non_root(meta: dict, spec: dict) -> Result:
    setters, pod_ok = [], False
    if _sc(spec).get("runAsNonRoot") is not None:
        if _sc(spec)["runAsNonRoot"] is False:
            setters.append("pod")
        else:
            pod_ok = True
    explicit, implicit = [], []
    for c in containers(spec):
        value = _sc(c).get("runAsNonRoot")
        if value is not None:
            if value is False:
                explicit.append(c.get("name"))
        elif not pod_ok:
            implicit.append(c.get("name"))
    if explicit:
        setters.append(_named(explicit))
    if setters:
        return ("runAsNonRoot != true",
                f"{' and '.join(setters)} must not set securityContext.runAsNonRoot=false")
    if implicit:
        return ("runAsNonRoot != true",
                f"pod or {_named(implicit)} must set securityContext.runAsNonRoot=true")
    return None


def run_as_user(meta: dict, spec: dict) -> Result:
    setters = ["pod"] if _sc(spec).get("runAsUser") == 0 else []
    bad = [c.get("name") for c in containers(spec) if _sc(c).get("runAsUser") == 0]
    if bad:
        setters.append(_named(bad))
    return ("runAsUser=0", f"{' and '.join(setters)} must not set runAsUser=0") \
        if setters else None


#: Check ID -> check; results are reported in ID order, as upstream sorts them.
BASELINE: dict[str, Check] = {
    "appArmorProfile": app_armor_profile,
    "capabilities_baseline": capabilities_baseline,
    "hostNamespaces": host_namespaces,
    "hostPathVolumes": host_path_volumes,
    "hostPorts": host_ports,
    "privileged": privileged,
    "procMount": proc_mount,
    "seLinuxOptions": se_linux_options,
    "seccompProfile_baseline": seccomp_baseline,
    "sysctls": sysctls,
    "windowsHostProcess": windows_host_process,
}
RESTRICTED: dict[str, Check] = {
    "allowPrivilegeEscalation": allow_privilege_escalation,
    "capabilities_restricted": capabilities_restricted,
    "restrictedVolumes": restricted_volumes,
    "runAsNonRoot": run_as_non_root,
    "runAsUser": run_as_user,
    "seccompProfile_restricted": seccomp_restricted,
}
#: Restricted checks that replace the baseline check they tighten.
OVERRIDES = {"capabilities_restricted": "capabilities_baseline",
             "restrictedVolumes": "hostPathVolumes",
             "seccompProfile_restricted": "seccompProfile_baseline"}


def checks_for(level: str) -> list[Check]:
    if level == "baseline":
        chosen = dict(BASELINE)
    elif level == "restricted":
        chosen = {**BASELINE, **RESTRICTED}
        for replacing, replaced in OVERRIDES.items():
            chosen.pop(replaced, None)
    else:
        return []
    return [chosen[check_id] for check_id in sorted(chosen)]


def failures(level: str, meta: dict, spec: dict) -> list[tuple[str, str]]:
    """(reason, detail) of every check the pod fails at ``level``, in check-ID order."""
    return [r for r in (check(meta or {}, spec or {}) for check in checks_for(level)) if r]


def forbidden_detail(results: list[tuple[str, str]]) -> str:
    """AggregateCheckResult.ForbiddenDetail: ``reason (detail), ...``."""
    return ", ".join(f"{reason} ({detail})" if detail else reason for reason, detail in results)
