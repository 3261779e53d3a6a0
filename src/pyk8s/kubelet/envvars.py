"""A container's environment, as ``makeEnvironmentVariables`` builds it.

Pure functions: the caller fetches the ConfigMaps and Secrets the container refers to
(:func:`referenced`) and the Services of the namespace, then :func:`build_env` yields
the ordered variables:

1. ``envFrom`` sources in order (each key prefixed; keys that are not valid variable
   names are skipped);
2. ``env`` entries in order, values expanded with ``$(VAR)`` against what is defined
   so far plus the service variables; ``valueFrom`` reads the pod (fieldRef), the
   container's resources (resourceFieldRef), ConfigMaps and Secrets;
3. the service variables (``{SVC}_SERVICE_HOST``, docker-link style ``{SVC}_PORT_...``)
   for every Service of the pod's namespace when ``enableServiceLinks`` (default true),
   and always for ``default/kubernetes``, unless a variable of that name is already set.

A missing non-optional ConfigMap, Secret or key raises :class:`ConfigError`, which the
pod worker reports as ``CreateContainerConfigError``.
"""

from __future__ import annotations

import base64
import re

from .resources import divided

MASTER_SERVICE = ("default", "kubernetes")
_VALID_NAME = re.compile(r"^[-._a-zA-Z][-._a-zA-Z0-9]*$")


class ConfigError(Exception):
    """The container cannot be configured yet (CreateContainerConfigError)."""


# -- $(VAR) expansion -------------------------------------------------------------------

def expand(text: str, lookup: dict[str, str]) -> str:
    """Expand ``$(VAR)`` from ``lookup``; ``$$`` escapes; unknown references stay as-is."""
    out, i, n = [], 0, len(text)
    while i < n:
        ch = text[i]
        if ch != "$" or i + 1 >= n:
            out.append(ch)
            i += 1
            continue
        nxt = text[i + 1]
        if nxt == "$":
            out.append("$")
            i += 2
        elif nxt == "(":
            end = text.find(")", i + 2)
            if end < 0:
                out.append(text[i:])
                break
            name = text[i + 2:end]
            out.append(lookup[name] if name in lookup else text[i:end + 1])
            i = end + 1
        else:
            out.append(ch)
            i += 1
    return "".join(out)


# -- service links ----------------------------------------------------------------------

def _env_name(name: str) -> str:
    return name.upper().replace("-", "_")


def service_env(services: list[dict], namespace: str, enable_links: bool) -> dict[str, str]:
    """The Service variables for a pod in ``namespace`` (services of all namespaces given)."""
    chosen: dict[str, dict] = {}
    master = None
    for svc in services:
        meta = svc.get("metadata") or {}
        ip = (svc.get("spec") or {}).get("clusterIP")
        if not ip or ip == "None":
            continue
        if (meta.get("namespace"), meta.get("name")) == MASTER_SERVICE:
            master = svc
        if meta.get("namespace") == namespace and enable_links:
            chosen[meta["name"]] = svc
    if master is not None:
        chosen.setdefault(MASTER_SERVICE[1], master)
    env: dict[str, str] = {}
    for name in sorted(chosen):
        env.update(_one_service(chosen[name]))
    return env


def _one_service(svc: dict) -> dict[str, str]:
    spec = svc.get("spec") or {}
    prefix, ip = _env_name(svc["metadata"]["name"]), spec["clusterIP"]
    ports = spec.get("ports") or []
    env = {f"{prefix}_SERVICE_HOST": ip}
    if not ports:
        return env
    env[f"{prefix}_SERVICE_PORT"] = str(ports[0]["port"])
    for port in ports:
        if port.get("name"):
            env[f"{prefix}_SERVICE_PORT_{_env_name(port['name'])}"] = str(port["port"])
    first = ports[0]
    env[f"{prefix}_PORT"] = f"{first.get('protocol', 'TCP').lower()}://{ip}:{first['port']}"
    for port in ports:
        proto = port.get("protocol", "TCP")
        base = f"{prefix}_PORT_{port['port']}_{proto.upper()}"
        env[base] = f"{proto.lower()}://{ip}:{port['port']}"
        env[f"{base}_PROTO"] = proto.lower()
        env[f"{base}_PORT"] = str(port["port"])
        env[f"{base}_ADDR"] = ip
    return env


# -- valueFrom --------------------------------------------------------------------------

def referenced(container: dict) -> tuple[set[str], set[str]]:
    """Names of the ConfigMaps and Secrets the container's environment reads."""
    configmaps, secrets = set(), set()
    for src in container.get("envFrom") or ():
        if src.get("configMapRef"):
            configmaps.add(src["configMapRef"]["name"])
        if src.get("secretRef"):
            secrets.add(src["secretRef"]["name"])
    for var in container.get("env") or ():
        ref = var.get("valueFrom") or {}
        if ref.get("configMapKeyRef"):
            configmaps.add(ref["configMapKeyRef"]["name"])
        if ref.get("secretKeyRef"):
            secrets.add(ref["secretKeyRef"]["name"])
    return configmaps, secrets


def configmap_data(cm: dict) -> dict[str, str]:
    data = dict(cm.get("data") or {})
    for key, value in (cm.get("binaryData") or {}).items():
        data[key] = base64.b64decode(value).decode("utf-8", "replace")
    return data


def secret_data(secret: dict) -> dict[str, str]:
    data = {k: base64.b64decode(v).decode("utf-8", "replace")
            for k, v in (secret.get("data") or {}).items()}
    data.update(secret.get("stringData") or {})
    return data


def field_value(pod: dict, path: str, *, host_ip: str, pod_ip: str) -> str:
    """The value of a downward-API ``fieldRef.fieldPath``."""
    meta, spec = pod.get("metadata") or {}, pod.get("spec") or {}
    match = re.fullmatch(r"metadata\.(labels|annotations)\['(.+)'\]", path)
    if match:
        return (meta.get(match.group(1)) or {}).get(match.group(2), "")
    if path in ("metadata.labels", "metadata.annotations"):
        items = meta.get(path.split(".")[1]) or {}
        return "\n".join(f'{k}="{v}"' for k, v in sorted(items.items()))
    simple = {"metadata.name": meta.get("name", ""),
              "metadata.namespace": meta.get("namespace", ""),
              "metadata.uid": meta.get("uid", ""),
              "spec.nodeName": spec.get("nodeName", ""),
              "spec.serviceAccountName": spec.get("serviceAccountName", ""),
              "status.hostIP": host_ip, "status.hostIPs": host_ip,
              "status.podIP": pod_ip, "status.podIPs": pod_ip}
    if path not in simple:
        raise ConfigError(f"unsupported fieldPath {path!r}")
    return simple[path]


def resource_value(container: dict, ref: dict, allocatable: dict[str, str]) -> str:
    """A ``resourceFieldRef`` value; an unset limit reads the node's allocatable."""
    resource = ref["resource"]
    kind, _, name = resource.partition(".")
    value = ((container.get("resources") or {}).get(kind) or {}).get(name)
    if value is None and kind == "limits":
        value = allocatable.get(name)
    if value is None:
        value = "0"
    return divided(value, ref.get("divisor"))


def _keyed(source: dict, kind: str, objects: dict[str, dict[str, str]]) -> str | None:
    data = objects.get(source["name"])
    optional = bool(source.get("optional"))
    if data is None:
        if optional:
            return None
        raise ConfigError(f'{kind} "{source["name"]}" not found')
    if source["key"] not in data:
        if optional:
            return None
        raise ConfigError(f'couldn\'t find key {source["key"]} in {kind} {source["name"]}')
    return data[source["key"]]


def build_env(container: dict, pod: dict, *, services: dict[str, str],
              configmaps: dict[str, dict[str, str]], secrets: dict[str, dict[str, str]],
              host_ip: str, pod_ip: str, allocatable: dict[str, str]) -> dict[str, str]:
    """The container's environment in definition order (``configmaps``/``secrets`` map
    a name to its decoded data; a name absent there does not exist)."""
    env: dict[str, str] = {}
    for src in container.get("envFrom") or ():
        prefix = src.get("prefix", "")
        ref, kind, table = (src["configMapRef"], "configmap", configmaps) \
            if src.get("configMapRef") else (src["secretRef"], "secret", secrets)
        data = table.get(ref["name"])
        if data is None:
            if ref.get("optional"):
                continue
            raise ConfigError(f'{kind} "{ref["name"]}" not found')
        for key, value in data.items():
            if _VALID_NAME.match(prefix + key):
                env[prefix + key] = value
    for var in container.get("env") or ():
        value = _env_value(var, container, pod, env, services=services,
                           configmaps=configmaps, secrets=secrets, host_ip=host_ip,
                           pod_ip=pod_ip, allocatable=allocatable)
        if value is not None:
            env[var["name"]] = value
    for key, value in services.items():
        env.setdefault(key, value)
    return env


def _env_value(var: dict, container: dict, pod: dict, env: dict[str, str], *,
               services: dict[str, str], configmaps: dict, secrets: dict, host_ip: str,
               pod_ip: str, allocatable: dict[str, str]) -> str | None:
    source = var.get("valueFrom")
    if not source:
        return expand(var.get("value", ""), {**services, **env})
    if source.get("fieldRef"):
        return field_value(pod, source["fieldRef"]["fieldPath"], host_ip=host_ip,
                           pod_ip=pod_ip)
    if source.get("resourceFieldRef"):
        return resource_value(container, source["resourceFieldRef"], allocatable)
    if source.get("configMapKeyRef"):
        return _keyed(source["configMapKeyRef"], "configmap", configmaps)
    if source.get("secretKeyRef"):
        return _keyed(source["secretKeyRef"], "secret", secrets)
    raise ConfigError(f"unsupported valueFrom for {var['name']}")
