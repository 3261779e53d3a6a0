"""Container defaults and validation, as pkg/apis/core/v1/defaults.go and validation.go do them.

Pods, pod templates and every workload's template hold containers; their defaults
(image pull policy from the tag, termination message, probe timings, port
protocols) and checks (names, images, ports, env, mounts, resources, probes) live
here once and are applied by :mod:`pyk8s.apiserver.kinds.podspec`.
"""

from __future__ import annotations

import re
from typing import Any

from ..errors import FieldError, duplicate, forbidden, invalid, not_supported, required
from ..validation import (
    is_http_header_name,
    is_valid_port_name,
    is_valid_port_num,
    validate_dns1123_label,
    validate_nonnegative,
    validate_port_num_or_name,
)
from .quantity import parse_quantity

PROTOCOLS = ["SCTP", "TCP", "UDP"]
PULL_POLICIES = ["Always", "IfNotPresent", "Never"]
_PROBES = ("livenessProbe", "readinessProbe", "startupProbe")
_HANDLERS = ("exec", "httpGet", "tcpSocket", "grpc")
_LIFECYCLE_HANDLERS = ("exec", "httpGet", "tcpSocket", "sleep")
_STANDARD_RESOURCES = ("cpu", "memory", "ephemeral-storage")


def image_tag(image: str) -> str:
    """The tag kubelet would pull: "latest" when neither tag nor digest is given.

    Like upstream's ParseImageName an unparsable reference yields no tag.
    """
    if not image or image != image.strip() or re.search(r"\s", image):
        return ""
    name, _, digest = image.partition("@")
    last = name.rsplit("/", 1)[-1]
    tag = last.partition(":")[2] if ":" in last else ""
    path = name.rsplit(":", 1)[0] if tag else name
    first = path.split("/", 1)
    repo = first[1] if len(first) == 2 and re.search(r"[.:]|^localhost$", first[0]) else path
    if re.search("[A-Z]", repo):
        return ""
    return tag or ("" if digest else "latest")


def default_container(c: dict) -> None:
    """SetDefaults_Container plus the nested defaults the generated defaulters apply."""
    if not c.get("imagePullPolicy"):
        c["imagePullPolicy"] = (
            "Always" if image_tag(c.get("image") or "") == "latest" else "IfNotPresent"
        )
    c.setdefault("terminationMessagePath", "/dev/termination-log")
    c.setdefault("terminationMessagePolicy", "File")
    if not isinstance(c.get("resources"), dict):
        c["resources"] = {}
    for port in c.get("ports") or []:
        port.setdefault("protocol", "TCP")
    for env in c.get("env") or []:
        field_ref = (env.get("valueFrom") or {}).get("fieldRef")
        if isinstance(field_ref, dict):
            field_ref.setdefault("apiVersion", "v1")
    for probe_name in _PROBES:
        probe = c.get(probe_name)
        if isinstance(probe, dict):
            probe.setdefault("timeoutSeconds", 1)
            probe.setdefault("periodSeconds", 10)
            probe.setdefault("successThreshold", 1)
            probe.setdefault("failureThreshold", 3)
            _default_handler(probe)
    for hook in ("postStart", "preStop"):
        handler = (c.get("lifecycle") or {}).get(hook)
        if isinstance(handler, dict):
            _default_handler(handler)


def _default_handler(handler: dict) -> None:
    http = handler.get("httpGet")
    if isinstance(http, dict):
        http.setdefault("path", "/")
        http.setdefault("scheme", "HTTP")
    grpc = handler.get("grpc")
    if isinstance(grpc, dict):
        grpc.setdefault("service", "")


def validate_container_common(c: dict, path: str, volumes: set[str]) -> list[FieldError]:
    """validateContainerCommon: what regular and init containers share."""
    errs: list[FieldError] = []
    name = c.get("name") or ""
    if not name:
        errs.append(required(f"{path}.name"))
    else:
        errs += validate_dns1123_label(f"{path}.name", name)
    if not c.get("image"):
        errs.append(required(f"{path}.image"))
    policy = c.get("terminationMessagePolicy")
    if not policy:
        errs.append(required(f"{path}.terminationMessagePolicy"))
    elif policy not in ("File", "FallbackToLogsOnError"):
        errs.append(
            not_supported(
                f"{path}.terminationMessagePolicy", policy, ["File", "FallbackToLogsOnError"]
            )
        )
    errs += _validate_ports(c.get("ports") or [], f"{path}.ports")
    errs += _validate_env(c.get("env") or [], f"{path}.env")
    errs += _validate_env_from(c.get("envFrom") or [], f"{path}.envFrom")
    errs += _validate_mounts(c.get("volumeMounts") or [], f"{path}.volumeMounts", volumes)
    pull = c.get("imagePullPolicy")
    if not pull:
        errs.append(required(f"{path}.imagePullPolicy"))
    elif pull not in PULL_POLICIES:
        errs.append(not_supported(f"{path}.imagePullPolicy", pull, PULL_POLICIES))
    errs += _validate_resources(c.get("resources") or {}, f"{path}.resources")
    return errs


def _validate_ports(ports: list, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    names: set[str] = set()
    for i, port in enumerate(ports):
        p = f"{path}[{i}]"
        name = port.get("name") or ""
        if name:
            msgs = is_valid_port_name(name)
            if msgs:
                errs += [invalid(f"{p}.name", name, m) for m in msgs]
            elif name in names:
                errs.append(duplicate(f"{p}.name", name))
            else:
                names.add(name)
        cport = port.get("containerPort")
        if not cport:
            errs.append(required(f"{p}.containerPort"))
        else:
            errs += [invalid(f"{p}.containerPort", cport, m) for m in is_valid_port_num(cport)]
        if port.get("hostPort"):
            errs += [
                invalid(f"{p}.hostPort", port["hostPort"], m)
                for m in is_valid_port_num(port["hostPort"])
            ]
        protocol = port.get("protocol")
        if not protocol:
            errs.append(required(f"{p}.protocol"))
        elif protocol not in PROTOCOLS:
            errs.append(not_supported(f"{p}.protocol", protocol, PROTOCOLS))
    return errs


def _validate_env(env: list, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    for i, var in enumerate(env):
        p = f"{path}[{i}]"
        name = var.get("name") or ""
        if not name:
            errs.append(required(f"{p}.name"))
        elif any(ord(ch) < 32 or ord(ch) > 126 or ch == "=" for ch in name):
            errs.append(
                invalid(
                    f"{p}.name",
                    name,
                    "a valid environment variable name must "
                    "consist only of printable ASCII characters other than '='",
                )
            )
        source = var.get("valueFrom")
        if source is None:
            continue
        kinds = [
            k
            for k in ("fieldRef", "resourceFieldRef", "configMapKeyRef", "secretKeyRef")
            if source.get(k)
        ]
        vp = f"{p}.valueFrom"
        if not kinds:
            errs.append(
                invalid(
                    vp,
                    "",
                    "must specify one of: `fieldRef`, `resourceFieldRef`, "
                    "`configMapKeyRef` or `secretKeyRef`",
                )
            )
        elif var.get("value"):
            errs.append(invalid(vp, "", "may not be specified when `value` is not empty"))
        elif len(kinds) > 1:
            errs.append(invalid(vp, "", "may not have more than one field specified at a time"))
        for ref in ("configMapKeyRef", "secretKeyRef"):
            if source.get(ref) and not source[ref].get("key"):
                errs.append(required(f"{vp}.{ref}.key"))
        field_ref = source.get("fieldRef")
        if field_ref and not field_ref.get("fieldPath"):
            errs.append(required(f"{vp}.fieldRef.fieldPath"))
    return errs


def _validate_env_from(sources: list, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    for i, src in enumerate(sources):
        refs = [k for k in ("configMapRef", "secretRef") if src.get(k) is not None]
        if not refs:
            errs.append(invalid(path, "", "must specify one of: `configMapRef` or `secretRef`"))
        elif len(refs) > 1:
            errs.append(invalid(path, "", "may not have more than one field specified at a time"))
        for ref in refs:
            if not (src[ref] or {}).get("name"):
                errs.append(required(f"{path}[{i}].{ref}.name"))
    return errs


def _validate_mounts(mounts: list, path: str, volumes: set[str]) -> list[FieldError]:
    errs: list[FieldError] = []
    seen: set[str] = set()
    for i, m in enumerate(mounts):
        p = f"{path}[{i}]"
        name = m.get("name") or ""
        if not name:
            errs.append(required(f"{p}.name"))
        if name not in volumes:
            errs.append(FieldError("FieldValueNotFound", f"{p}.name", "", name))
        mount_path = m.get("mountPath") or ""
        if not mount_path:
            errs.append(required(f"{p}.mountPath"))
        if mount_path in seen:
            errs.append(invalid(f"{p}.mountPath", mount_path, "must be unique"))
        seen.add(mount_path)
        if m.get("subPath") and m.get("subPathExpr"):
            errs.append(
                invalid(
                    f"{p}.subPathExpr",
                    m["subPathExpr"],
                    "subPathExpr and subPath are mutually exclusive",
                )
            )
    return errs


def _overcommittable(name: str) -> bool:
    return not name.startswith("hugepages-") and ("/" not in name or "kubernetes.io/" in name)


def _validate_resources(res: dict, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    limits, requests = res.get("limits") or {}, res.get("requests") or {}
    for kind, values in (("limits", limits), ("requests", requests)):
        for name, value in values.items():
            p = f"{path}.{kind}[{name}]"
            if (
                "/" not in name
                and name not in _STANDARD_RESOURCES
                and not name.startswith("hugepages-")
            ):
                errs.append(invalid(p, name, "must be a standard resource for containers"))
            quantity = parse_quantity(value)
            if quantity is None:
                errs.append(
                    invalid(
                        p,
                        value,
                        "quantities must match the regular expression "
                        "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'",
                    )
                )
            elif quantity < 0:
                errs.append(invalid(p, value, "must be greater than or equal to 0"))
    for name, value in requests.items():
        req, lim = parse_quantity(value), parse_quantity(limits.get(name))
        if req is None or lim is None:
            continue
        if req != lim and not _overcommittable(name):
            errs.append(
                invalid(
                    f"{path}.requests", value, f"must be equal to {name} limit of {limits[name]}"
                )
            )
        elif req > lim:
            errs.append(
                invalid(
                    f"{path}.requests",
                    value,
                    f"must be less than or equal to {name} limit of {limits[name]}",
                )
            )
    return errs


def validate_handler(
    handler: dict, path: str, kinds: tuple[str, ...] = _HANDLERS
) -> list[FieldError]:
    """validateHandler: exactly one handler type (exec, httpGet, ...), well formed."""
    present = [h for h in kinds if handler.get(h) is not None]
    if not present:
        return [required(path, "must specify a handler type")]
    errs = [
        forbidden(f"{path}.{h}", "may not specify more than 1 handler type") for h in present[1:]
    ]
    kind = present[0]
    body = handler[kind] or {}
    p = f"{path}.{kind}"
    if kind == "exec" and not body.get("command"):
        errs.append(required(f"{p}.command"))
    elif kind == "httpGet":
        if not body.get("path"):
            errs.append(required(f"{p}.path"))
        errs += validate_port_num_or_name(f"{p}.port", body.get("port"))
        if body.get("scheme") not in ("HTTP", "HTTPS"):
            errs.append(not_supported(f"{p}.scheme", body.get("scheme"), ["HTTP", "HTTPS"]))
        for j, header in enumerate(body.get("httpHeaders") or []):
            errs += [
                invalid(f"{p}.httpHeaders[{j}].name", header.get("name"), m)
                for m in is_http_header_name(header.get("name") or "")
            ]
    elif kind == "tcpSocket":
        errs += validate_port_num_or_name(f"{p}.port", body.get("port"))
    elif kind == "grpc":
        errs += [
            invalid(f"{p}.port", body.get("port"), m) for m in is_valid_port_num(body.get("port"))
        ]
    return errs


def validate_probe(probe: Any, path: str, *, single_success: bool) -> list[FieldError]:
    if not isinstance(probe, dict):
        return []
    errs = validate_handler(probe, path)
    for f in (
        "initialDelaySeconds",
        "timeoutSeconds",
        "periodSeconds",
        "successThreshold",
        "failureThreshold",
    ):
        errs += validate_nonnegative(f"{path}.{f}", probe.get(f))
    grace = probe.get("terminationGracePeriodSeconds")
    if grace is not None and grace <= 0:
        errs.append(
            invalid(f"{path}.terminationGracePeriodSeconds", grace, "must be greater than 0")
        )
    if single_success and probe.get("successThreshold", 1) != 1:
        errs.append(invalid(f"{path}.successThreshold", probe.get("successThreshold"), "must be 1"))
    return errs


def validate_lifecycle_and_probes(c: dict, path: str) -> list[FieldError]:
    errs: list[FieldError] = []
    for hook in ("postStart", "preStop"):
        handler = (c.get("lifecycle") or {}).get(hook)
        if isinstance(handler, dict):
            errs += validate_handler(handler, f"{path}.lifecycle.{hook}", _LIFECYCLE_HANDLERS)
    errs += validate_probe(c.get("livenessProbe"), f"{path}.livenessProbe", single_success=True)
    errs += validate_probe(c.get("readinessProbe"), f"{path}.readinessProbe", single_success=False)
    errs += validate_probe(c.get("startupProbe"), f"{path}.startupProbe", single_success=True)
    return errs


def host_port_conflicts(containers: list, path: str, seen: set[str]) -> list[FieldError]:
    """AccumulateUniqueHostPorts: one hostIP/protocol/hostPort per pod."""
    errs: list[FieldError] = []
    for ci, c in enumerate(containers):
        for pi, port in enumerate(c.get("ports") or []):
            host_port = port.get("hostPort")
            if not host_port:
                continue
            key = f"{port.get('hostIP') or ''}/{port.get('protocol') or ''}/{host_port}"
            if key in seen:
                errs.append(duplicate(f"{path}[{ci}].ports[{pi}].hostPort", key))
            seen.add(key)
    return errs
