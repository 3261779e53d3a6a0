"""PodSpec defaults and validation shared by Pods, PodTemplates and workload templates.

Upstream applies SetDefaults_PodSpec (and the volume/container defaults nested in
it) to every pod template, while SetDefaults_Pod adds a few Pod-only defaults;
ValidatePodSpec and ValidatePodTemplateSpec are likewise shared. Strategies for
Pods, ReplicaSets, Deployments, Jobs, ... call into this module.
"""

from __future__ import annotations

import copy
from typing import Any

from ..errors import (
    FieldError,
    duplicate,
    field_not_found,
    forbidden,
    invalid,
    not_supported,
    required,
)
from ..validation import (
    inclusive_range_error,
    is_dns1123_subdomain,
    is_valid_label_value,
    validate_annotations,
    validate_dns1123_label,
    validate_ip,
    validate_labels,
    validate_qualified_name,
)
from .containers import (
    default_container,
    host_port_conflicts,
    validate_container_common,
    validate_lifecycle_and_probes,
)

RESTART_POLICIES = ["Always", "OnFailure", "Never"]
DNS_POLICIES = ["ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"]
TAINT_EFFECTS = ["NoSchedule", "PreferNoSchedule", "NoExecute"]
MAX_INT32 = 2**31 - 1

#: Volume sources and the defaults their generated defaulters set.
VOLUME_SOURCE_DEFAULTS: dict[str, dict[str, Any]] = {
    "hostPath": {"type": ""},
    "secret": {"defaultMode": 420},
    "configMap": {"defaultMode": 420},
    "downwardAPI": {"defaultMode": 420},
    "projected": {"defaultMode": 420},
    "iscsi": {"iscsiInterface": "default"},
    "rbd": {"pool": "rbd", "user": "admin", "keyring": "/etc/ceph/keyring"},
    "azureDisk": {
        "cachingMode": "ReadWrite",
        "fsType": "ext4",
        "readOnly": False,
        "kind": "Shared",
    },
    "scaleIO": {"storageMode": "ThinProvisioned", "fsType": "xfs"},
}


def _default_field_refs(items: Any) -> None:
    for item in items or []:
        if isinstance(item.get("fieldRef"), dict):
            item["fieldRef"].setdefault("apiVersion", "v1")


def _default_volume(vol: dict) -> None:
    if not any(k != "name" and v is not None for k, v in vol.items()):
        vol["emptyDir"] = {}
    for source, defaults in VOLUME_SOURCE_DEFAULTS.items():
        if isinstance(vol.get(source), dict):
            for key, value in defaults.items():
                vol[source].setdefault(key, value)
    _default_field_refs((vol.get("downwardAPI") or {}).get("items"))
    for src in (vol.get("projected") or {}).get("sources") or []:
        _default_field_refs((src.get("downwardAPI") or {}).get("items"))
        if isinstance(src.get("serviceAccountToken"), dict):
            src["serviceAccountToken"].setdefault("expirationSeconds", 3600)
    claim = (vol.get("ephemeral") or {}).get("volumeClaimTemplate")
    if isinstance(claim, dict):
        claim.setdefault("spec", {}).setdefault("volumeMode", "Filesystem")


def default_pod_spec(spec: dict) -> None:
    """SetDefaults_PodSpec and the nested container/volume defaults (pods and templates)."""
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("restartPolicy", "Always")
    if not isinstance(spec.get("securityContext"), dict):
        spec["securityContext"] = {}
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("schedulerName", "default-scheduler")
    # v1 keeps the deprecated serviceAccount in step with serviceAccountName.
    if not spec.get("serviceAccountName") and spec.get("serviceAccount"):
        spec["serviceAccountName"] = spec["serviceAccount"]
    if spec.get("serviceAccountName"):
        spec["serviceAccount"] = spec["serviceAccountName"]
    for vol in spec.get("volumes") or []:
        _default_volume(vol)
    for kind in ("initContainers", "containers", "ephemeralContainers"):
        for c in spec.get(kind) or []:
            default_container(c)


def default_pod_only(spec: dict) -> None:
    """SetDefaults_Pod: requests from limits, service links, host-network ports."""
    for kind in ("containers", "initContainers"):
        for c in spec.get(kind) or []:
            res = c.get("resources") or {}
            if res.get("limits"):
                requests = res.setdefault("requests", {})
                for name, value in res["limits"].items():
                    requests.setdefault(name, copy.deepcopy(value))
            if spec.get("hostNetwork"):
                for port in c.get("ports") or []:
                    if not port.get("hostPort"):
                        port["hostPort"] = port.get("containerPort")
    spec.setdefault("enableServiceLinks", True)


def default_template(template: Any) -> None:
    """PodSpec defaults on a template; its zero creationTimestamp shows as null like upstream's."""
    if isinstance(template, dict):
        if not isinstance(template.get("metadata"), dict):
            template["metadata"] = {}
        template["metadata"].setdefault("creationTimestamp", None)
        if not isinstance(template.get("spec"), dict):
            template["spec"] = {}
        default_pod_spec(template["spec"])


# ---- validation ------------------------------------------------------------

#: The field each common volume source cannot do without.
_REQUIRED_SOURCE_FIELD = {
    "hostPath": "path",
    "secret": "secretName",
    "configMap": "name",
    "persistentVolumeClaim": "claimName",
    "nfs": "server",
}


def _validate_volumes(volumes: list, path: str) -> tuple[set[str], list[FieldError]]:
    errs: list[FieldError] = []
    names: set[str] = set()
    for i, vol in enumerate(volumes):
        p = f"{path}[{i}]"
        verrs: list[FieldError] = []
        sources = [k for k, v in vol.items() if k != "name" and v is not None]
        if not sources:
            verrs.append(required(p, "must specify a volume type"))
        verrs += [
            forbidden(f"{p}.{k}", "may not specify more than 1 volume type") for k in sources[1:]
        ]
        name = vol.get("name") or ""
        if not name:
            verrs.append(required(f"{p}.name"))
        else:
            verrs += validate_dns1123_label(f"{p}.name", name)
        if name in names:
            verrs.append(duplicate(f"{p}.name", name))
        source = vol.get(sources[0]) if sources else None
        key = _REQUIRED_SOURCE_FIELD.get(sources[0]) if sources else None
        if key and isinstance(source, dict) and not source.get(key):
            verrs.append(required(f"{p}.{sources[0]}.{key}"))
        if verrs:
            errs += verrs
        else:
            names.add(name)
    return names, errs


def _validate_containers(spec: dict, path: str, volumes: set[str]) -> list[FieldError]:
    containers = spec.get("containers") or []
    errs: list[FieldError] = []
    if not containers:
        errs.append(required(f"{path}.containers"))
    names: set[str] = set()
    for i, c in enumerate(containers):
        p = f"{path}.containers[{i}]"
        errs += validate_container_common(c, p, volumes)
        if c.get("name") in names:
            errs.append(duplicate(f"{p}.name", c.get("name")))
        else:
            names.add(c.get("name"))
        errs += validate_lifecycle_and_probes(c, p)
        if c.get("restartPolicy") is not None:
            errs.append(forbidden(f"{p}.restartPolicy", "may not be set for non-init containers"))
    errs += host_port_conflicts(containers, f"{path}.containers", set())
    for i, c in enumerate(spec.get("initContainers") or []):
        p = f"{path}.initContainers[{i}]"
        errs += validate_container_common(c, p, volumes)
        restart = c.get("restartPolicy")
        if restart is not None and restart != "Always":
            errs.append(not_supported(f"{p}.restartPolicy", restart, ["Always"]))
        if c.get("name") in names:
            errs.append(duplicate(f"{p}.name", c.get("name")))
        elif c.get("name"):
            names.add(c["name"])
        errs += host_port_conflicts([c], f"{path}.initContainers", set())
        if restart == "Always":
            errs += validate_lifecycle_and_probes(c, p)
        else:
            for f in ("lifecycle", "livenessProbe", "readinessProbe", "startupProbe"):
                if c.get(f) is not None:
                    errs.append(
                        forbidden(
                            f"{p}.{f}",
                            "may not be set for init containers without restartPolicy=Always",
                        )
                    )
    targets = set(names)
    for i, c in enumerate(spec.get("ephemeralContainers") or []):
        p = f"{path}.ephemeralContainers[{i}]"
        errs += validate_container_common(c, p, volumes)
        if c.get("name") in names:
            errs.append(duplicate(f"{p}.name", c.get("name")))
        elif c.get("name"):
            names.add(c["name"])
        target = c.get("targetContainerName")
        if target and target not in targets:
            errs.append(field_not_found(f"{p}.targetContainerName", target))
        errs += _ephemeral_only(c, p)
    return errs


#: What an ephemeral container may not have, in upstream's field order: they are not to
#: be relied on for the pod's service (validateEphemeralContainers' allow list).
_NOT_FOR_EPHEMERAL = ("ports", "resources", "resizePolicy", "restartPolicy", "livenessProbe",
                      "readinessProbe", "startupProbe", "lifecycle")
_EPHEMERAL_MESSAGE = "cannot be set for an Ephemeral Container"


def _ephemeral_only(c: dict, path: str) -> list[FieldError]:
    errs = [forbidden(f"{path}.{name}", _EPHEMERAL_MESSAGE)
            for name in _NOT_FOR_EPHEMERAL if c.get(name) not in (None, {}, [], "")]
    for i, mount in enumerate(c.get("volumeMounts") or []):
        for name in ("subPath", "subPathExpr"):
            if mount.get(name):
                errs.append(forbidden(f"{path}.volumeMounts[{i}].{name}", _EPHEMERAL_MESSAGE))
    return errs


def validate_tolerations(tolerations: list, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    for i, t in enumerate(tolerations):
        p = f"{path}[{i}]"
        key, op, effect = t.get("key") or "", t.get("operator") or "", t.get("effect") or ""
        if key:
            errs += validate_qualified_name(f"{p}.key", key)
        if not key and op != "Exists":
            errs.append(
                invalid(
                    f"{p}.operator",
                    op,
                    "operator must be Exists when `key` is empty, "
                    'which means "match all values and all keys"',
                )
            )
        if t.get("tolerationSeconds") is not None and effect != "NoExecute":
            errs.append(
                invalid(
                    f"{p}.effect",
                    effect,
                    "effect must be 'NoExecute' when `tolerationSeconds` is set",
                )
            )
        value = t.get("value") or ""
        if op in ("Equal", ""):
            msgs = is_valid_label_value(value)
            if msgs:
                errs.append(invalid(f"{p}.operator", value, ";".join(msgs)))
        elif op == "Exists":
            if value:
                errs.append(
                    invalid(
                        f"{p}.operator", value, "value must be empty when `operator` is 'Exists'"
                    )
                )
        else:
            errs.append(not_supported(f"{p}.operator", op, ["Equal", "Exists"]))
        if effect and effect not in TAINT_EFFECTS:
            errs.append(not_supported(f"{p}.effect", effect, TAINT_EFFECTS))
    return errs


def _validate_enum(path: str, value: Any, allowed: list[str]) -> list[FieldError]:
    if not value:
        return [required(path)]
    return [] if value in allowed else [not_supported(path, value, allowed)]


def _validate_names(spec: dict, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    for f in ("serviceAccountName", "nodeName", "priorityClassName"):
        if spec.get(f):
            errs += [invalid(f"{path}.{f}", spec[f], m) for m in is_dns1123_subdomain(spec[f])]
    for f in ("hostname", "subdomain"):
        if spec.get(f):
            errs += validate_dns1123_label(f"{path}.{f}", spec[f])
    return errs


def validate_pod_spec(spec: dict, path: str, *, is_pod: bool) -> list[FieldError]:
    """ValidatePodSpec (plus the Pod-only container checks when ``is_pod``)."""
    errs: list[FieldError] = []
    if spec.get("terminationGracePeriodSeconds") is None:
        errs.append(required(f"{path}.terminationGracePeriodSeconds"))
    volumes, verrs = _validate_volumes(spec.get("volumes") or [], f"{path}.volumes")
    errs += verrs
    errs += _validate_containers(spec, path, volumes)
    if spec.get("hostNetwork"):
        for i, c in enumerate(spec.get("containers") or []):
            for j, port in enumerate(c.get("ports") or []):
                hp, cp = port.get("hostPort") or 0, port.get("containerPort")
                if (is_pod or hp != 0) and hp != cp:
                    errs.append(
                        invalid(
                            f"{path}.containers[{i}].ports[{j}].hostPort",
                            hp,
                            "must match `containerPort` when `hostNetwork` is true",
                        )
                    )
    errs += _validate_enum(f"{path}.restartPolicy", spec.get("restartPolicy"), RESTART_POLICIES)
    errs += _validate_enum(f"{path}.dnsPolicy", spec.get("dnsPolicy"), DNS_POLICIES)
    errs += validate_labels(f"{path}.nodeSelector", spec.get("nodeSelector"))
    for i, secret in enumerate(spec.get("imagePullSecrets") or []):
        if set(secret) - {"name"}:
            errs.append(invalid(f"{path}.imagePullSecrets[{i}]", secret, "only name may be set"))
    if spec.get("dnsPolicy") == "None":
        config = spec.get("dnsConfig")
        if config is None:
            errs.append(
                required(f"{path}.dnsConfig", "must provide `dnsConfig` when `dnsPolicy` is None")
            )
        elif not config.get("nameservers"):
            errs.append(
                required(
                    f"{path}.dnsConfig.nameservers",
                    "must provide at least one DNS nameserver when `dnsPolicy` is None",
                )
            )
    for i, ns in enumerate((spec.get("dnsConfig") or {}).get("nameservers") or []):
        errs += validate_ip(f"{path}.dnsConfig.nameservers[{i}]", ns)
    for i, gate in enumerate(spec.get("readinessGates") or []):
        errs += validate_qualified_name(
            f"{path}.readinessGates[{i}].conditionType", gate.get("conditionType") or ""
        )
    seen_gates: set[str] = set()
    for i, gate in enumerate(spec.get("schedulingGates") or []):
        errs += validate_qualified_name(f"{path}.schedulingGates[{i}]", gate.get("name") or "")
        if gate.get("name") in seen_gates:
            errs.append(duplicate(f"{path}.schedulingGates[{i}]", gate.get("name")))
        seen_gates.add(gate.get("name"))
    errs += _validate_names(spec, path)
    deadline = spec.get("activeDeadlineSeconds")
    if deadline is not None and not 1 <= deadline <= MAX_INT32:
        errs.append(
            invalid(f"{path}.activeDeadlineSeconds", deadline, inclusive_range_error(1, MAX_INT32))
        )
    errs += validate_tolerations(spec.get("tolerations") or [], f"{path}.tolerations")
    for i, alias in enumerate(spec.get("hostAliases") or []):
        errs += validate_ip(f"{path}.hostAliases[{i}].ip", alias.get("ip"))
    policy = spec.get("preemptionPolicy")
    if policy is not None:
        errs += _validate_enum(
            f"{path}.preemptionPolicy", policy, ["PreemptLowerPriority", "Never"]
        )
    os_name = (spec.get("os") or {}).get("name")
    if spec.get("os") is not None and os_name not in ("linux", "windows"):
        errs.append(not_supported(f"{path}.os.name", os_name, ["linux", "windows"]))
    if is_pod:
        for kind in ("containers", "initContainers"):
            for i, c in enumerate(spec.get(kind) or []):
                image = c.get("image") or ""
                if image != image.strip():
                    errs.append(
                        invalid(
                            f"{path}.{kind}[{i}].image",
                            image,
                            "must not have leading or trailing whitespace",
                        )
                    )
    return errs


def validate_pod_template_spec(template: Any, path: str) -> list[FieldError]:
    """ValidatePodTemplateSpec: template labels, annotations and pod spec."""
    if not isinstance(template, dict):
        return [required(path)]
    meta = template.get("metadata") or {}
    errs = validate_labels(f"{path}.labels", meta.get("labels"))
    errs += validate_annotations(f"{path}.annotations", meta.get("annotations"))
    errs += validate_pod_spec(template.get("spec") or {}, f"{path}.spec", is_pod=False)
    return errs


def template_labels(template: Any) -> dict:
    return ((template or {}).get("metadata") or {}).get("labels") or {}
