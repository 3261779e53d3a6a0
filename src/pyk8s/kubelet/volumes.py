"""A pod's volumes on this node: made ready before its containers start, kept current after.

Each volume lives under ``<root-dir>/pods/<uid>/volumes/<plugin>/<name>`` (hostPath
volumes are the host path itself). :meth:`VolumeManager.setup` is called on every pod
sync, so it is idempotent and doubles as the refresh: ConfigMap, Secret, downward API
and projected volumes are computed again and rewritten (atomically, in a worker thread,
only when their content changed), and projected ServiceAccount tokens are requested
again once 80 % of their lifetime has passed. ConfigMaps and Secrets (the
``kube-root-ca.crt`` of every projected ServiceAccount volume included) are read from
:class:`~.watchedobjects.WatchedObjects`: setup registers the pod, which starts a
single-object watch per object it refers to, and teardown releases them, so a sync
makes no API request for them and an update of one reaches its volumes at the pod's
next periodic sync, as upstream's Watch strategy.

A ``persistentVolumeClaim`` volume is the directory of the PersistentVolume the claim is
bound to (``hostPath`` or ``local``); an unbound claim holds the pod in
ContainerCreating, as upstream's kubelet. ``emptyDir`` with ``medium: Memory`` is a tmpfs
when this process may mount one; otherwise it falls back to disk, with a log line
saying so.

A volume that cannot be set up (a missing non-optional ConfigMap, one whose watch has
not listed within a second, a hostPath of the wrong type) raises :class:`VolumeError`;
the pod stays ContainerCreating and the worker retries.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import os
import shutil
import stat
import time

from ..client import Client, NotFound
from .atomicwriter import write_atomic
from .envvars import configmap_data, field_value, resource_value
from .watchedobjects import NotSynced, WatchedObjects, configmap_names, secret_names

log = logging.getLogger("pyk8s.kubelet.volumes")

ROOT_CA = "kube-root-ca.crt"
TOKEN_REFRESH_FRACTION = 0.8


class VolumeError(Exception):
    """A volume of the pod cannot be set up yet (FailedMount)."""


def _mode(item: dict, default: int | None) -> int:
    mode = item.get("mode", default)
    return 0o644 if mode is None else int(mode)


def _select(data: dict[str, bytes], items: list | None, default_mode: int | None,
            what: str, optional: bool) -> dict[str, tuple[bytes, int]]:
    if not items:
        return {k: (v, _mode({}, default_mode)) for k, v in data.items()}
    out = {}
    for item in items:
        if item["key"] not in data:
            if optional:
                continue
            raise VolumeError(f"configmap/secret references non-existent key {item['key']} "
                              f"of {what}")
        out[item["path"]] = (data[item["key"]], _mode(item, default_mode))
    return out


class VolumeManager:
    def __init__(self, client: Client, root_dir: str, *,
                 allocatable: dict[str, str] | None = None) -> None:
        self.root_dir = root_dir
        self.allocatable = allocatable or {}
        self.configmaps = WatchedObjects("configmap", client.api("v1", "ConfigMap"),
                                         configmap_names)
        self.secrets = WatchedObjects("secret", client.api("v1", "Secret"), secret_names)
        self.service_accounts = client.api("v1", "ServiceAccount")
        self.claims = client.api("v1", "PersistentVolumeClaim")
        self.volumes = client.api("v1", "PersistentVolume")
        self._tokens: dict[tuple, tuple[bytes, float]] = {}  # key -> (token, refresh at)
        self._tmpfs_failed = False
        self._written: dict[str, dict[str, tuple[bytes, int]]] = {}  # path -> its files

    def pod_dir(self, uid: str) -> str:
        return os.path.join(self.root_dir, "pods", uid)

    async def setup(self, pod: dict, *, host_ip: str, pod_ip: str) -> dict[str, str]:
        """Make every volume of ``pod`` ready; returns volume name -> host path."""
        self.configmaps.register(pod)
        self.secrets.register(pod)
        paths = {}
        for volume in (pod.get("spec") or {}).get("volumes") or ():
            paths[volume["name"]] = await self._one(pod, volume, host_ip, pod_ip)
        return paths

    async def _one(self, pod: dict, volume: dict, host_ip: str, pod_ip: str) -> str:
        uid, name = pod["metadata"]["uid"], volume["name"]

        def path(plugin: str) -> str:
            return os.path.join(self.pod_dir(uid), "volumes", plugin, name)

        if "hostPath" in volume:
            return _host_path(volume["hostPath"])
        if "persistentVolumeClaim" in volume:
            return await self._claimed(pod, volume["persistentVolumeClaim"]["claimName"])
        if "emptyDir" in volume:
            return await self._empty_dir(path("kubernetes.io~empty-dir"),
                                         volume["emptyDir"] or {})
        if "configMap" in volume:
            files = await self._configmap_files(pod, volume["configMap"],
                                                volume["configMap"].get("defaultMode"))
            return await self._write(path("kubernetes.io~configmap"), files)
        if "secret" in volume:
            src = volume["secret"]
            files = await self._secret_files(pod, {**src, "name": src.get("secretName")},
                                             src.get("defaultMode"))
            return await self._write(path("kubernetes.io~secret"), files)
        if "downwardAPI" in volume:
            src = volume["downwardAPI"]
            files = self._downward_files(pod, src.get("items") or [], src.get("defaultMode"),
                                         host_ip, pod_ip)
            return await self._write(path("kubernetes.io~downward-api"), files)
        if "projected" in volume:
            files = await self._projected_files(pod, volume["projected"], host_ip, pod_ip)
            return await self._write(path("kubernetes.io~projected"), files)
        raise VolumeError(f"volume {name}: unsupported volume type")

    async def _claimed(self, pod: dict, claim_name: str) -> str:
        """The host directory of the PersistentVolume bound to the pod's claim."""
        ns = pod["metadata"].get("namespace", "default")
        try:
            claim = await self.claims.get(claim_name, namespace=ns)
        except NotFound:
            raise VolumeError(f'error processing PVC {ns}/{claim_name}: '
                              f'persistentvolumeclaim "{claim_name}" not found') from None
        name = (claim.get("spec") or {}).get("volumeName")
        if not name or (claim.get("status") or {}).get("phase") != "Bound":
            raise VolumeError(f"error processing PVC {ns}/{claim_name}: PVC is not bound")
        try:
            volume = await self.volumes.get(name)
        except NotFound:
            raise VolumeError(f'persistentvolume "{name}" not found') from None
        spec = volume.get("spec") or {}
        if (spec.get("claimRef") or {}).get("uid") != claim["metadata"]["uid"]:
            raise VolumeError(f"the PV {name} is not bound to the PVC {ns}/{claim_name}")
        if "hostPath" in spec:
            return _host_path(spec["hostPath"])
        if "local" in spec:
            return _host_path({"path": spec["local"]["path"], "type": "Directory"})
        raise VolumeError(f"persistent volume {name}: unsupported volume type")

    async def _empty_dir(self, path: str, spec: dict) -> str:
        os.makedirs(path, exist_ok=True)
        if spec.get("medium") == "Memory" and not os.path.ismount(path) \
                and not self._tmpfs_failed:
            size = spec.get("sizeLimit")
            opts = f"size={size}" if size else "mode=0777"
            proc = await asyncio.create_subprocess_exec(
                "mount", "-t", "tmpfs", "-o", opts, "tmpfs", path,
                stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
            _, err = await proc.communicate()
            if proc.returncode != 0:
                self._tmpfs_failed = True
                log.warning("cannot mount tmpfs (%s); memory-backed emptyDir volumes are "
                            "on disk instead", err.decode().strip())
        os.chmod(path, 0o777)
        return path

    async def _configmap_files(self, pod: dict, src: dict, default_mode: int | None
                               ) -> dict[str, tuple[bytes, int]]:
        ns = pod["metadata"].get("namespace", "default")
        optional = bool(src.get("optional"))
        try:
            cm = await self.configmaps.get(ns, src["name"])
        except NotFound:
            if optional:
                return {}
            raise VolumeError(f'configmap "{src["name"]}" not found') from None
        except NotSynced as err:
            raise VolumeError(f"failed to sync configmap cache: {err}") from None
        data = {k: v.encode() for k, v in configmap_data(cm).items()}
        data.update({k: base64.b64decode(v) for k, v in (cm.get("binaryData") or {}).items()})
        return _select(data, src.get("items"), default_mode, src["name"], optional)

    async def _secret_files(self, pod: dict, src: dict, default_mode: int | None
                            ) -> dict[str, tuple[bytes, int]]:
        ns = pod["metadata"].get("namespace", "default")
        optional = bool(src.get("optional"))
        try:
            secret = await self.secrets.get(ns, src["name"])
        except NotFound:
            if optional:
                return {}
            raise VolumeError(f'secret "{src["name"]}" not found') from None
        except NotSynced as err:
            raise VolumeError(f"failed to sync secret cache: {err}") from None
        data = {k: base64.b64decode(v) for k, v in (secret.get("data") or {}).items()}
        return _select(data, src.get("items"), default_mode, src["name"], optional)

    def _downward_files(self, pod: dict, items: list, default_mode: int | None,
                        host_ip: str, pod_ip: str) -> dict[str, tuple[bytes, int]]:
        out = {}
        containers = {c["name"]: c for c in (pod.get("spec") or {}).get("containers") or ()}
        for item in items:
            if item.get("fieldRef"):
                value = field_value(pod, item["fieldRef"]["fieldPath"], host_ip=host_ip,
                                    pod_ip=pod_ip)
            else:
                ref = item["resourceFieldRef"]
                container = containers.get(ref.get("containerName", ""), {})
                value = resource_value(container, ref, self.allocatable)
            out[item["path"]] = (value.encode(), _mode(item, default_mode))
        return out

    async def _projected_files(self, pod: dict, spec: dict, host_ip: str, pod_ip: str
                               ) -> dict[str, tuple[bytes, int]]:
        mode = spec.get("defaultMode")
        out: dict[str, tuple[bytes, int]] = {}
        for source in spec.get("sources") or ():
            if "configMap" in source:
                out.update(await self._configmap_files(pod, source["configMap"], mode))
            elif "secret" in source:
                out.update(await self._secret_files(pod, source["secret"], mode))
            elif "downwardAPI" in source:
                out.update(self._downward_files(pod, source["downwardAPI"].get("items") or [],
                                                mode, host_ip, pod_ip))
            elif "serviceAccountToken" in source:
                tok = source["serviceAccountToken"]
                out[tok["path"]] = (await self.token(pod, tok), _mode({}, mode))
        return out

    async def token(self, pod: dict, source: dict) -> bytes:
        """A bound ServiceAccount token for the pod, cached until 80 % of its lifetime."""
        meta, spec = pod["metadata"], pod.get("spec") or {}
        sa = spec.get("serviceAccountName") or "default"
        audience = source.get("audience")
        expiration = int(source.get("expirationSeconds") or 3600)
        key = (meta["uid"], sa, audience, expiration)
        cached = self._tokens.get(key)
        if cached and time.time() < cached[1]:
            return cached[0]
        body = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
                "spec": {"audiences": [audience] if audience else [],
                         "expirationSeconds": expiration,
                         "boundObjectRef": {"apiVersion": "v1", "kind": "Pod",
                                            "name": meta["name"], "uid": meta["uid"]}}}
        answer = await self.service_accounts.create(
            body, name=sa, namespace=meta.get("namespace", "default"), subresource="token")
        token = answer["status"]["token"].encode()
        lifetime = int(answer["spec"].get("expirationSeconds") or expiration)
        self._tokens[key] = (token, time.time() + TOKEN_REFRESH_FRACTION * lifetime)
        return token

    async def teardown(self, uid: str) -> None:
        """Remove the pod's volumes (unmounting tmpfs ones) and its directory."""
        self.configmaps.unregister(uid)
        self.secrets.unregister(uid)
        for key in [k for k in self._tokens if k[0] == uid]:
            del self._tokens[key]
        prefix = self.pod_dir(uid) + os.sep
        for path in [p for p in self._written if p.startswith(prefix)]:
            del self._written[path]
        base = os.path.join(self.pod_dir(uid), "volumes", "kubernetes.io~empty-dir")
        for name in os.listdir(base) if os.path.isdir(base) else ():
            path = os.path.join(base, name)
            if os.path.ismount(path):
                proc = await asyncio.create_subprocess_exec("umount", path)
                await proc.wait()
        await asyncio.to_thread(shutil.rmtree, self.pod_dir(uid), ignore_errors=True)

    async def close(self) -> None:
        """Stop the watches (the kubelet is shutting down)."""
        await self.configmaps.close()
        await self.secrets.close()

    async def _write(self, path: str, files: dict[str, tuple[bytes, int]]) -> str:
        """Give the volume at ``path`` these files; the disk is touched (in a thread, off
        the event loop) only when they differ from what this kubelet last wrote there."""
        if self._written.get(path) != files:
            await asyncio.to_thread(write_atomic, path, files)
            self._written[path] = files
        return path


def _host_path(spec: dict) -> str:
    path, kind = spec["path"], spec.get("type", "")
    if kind == "DirectoryOrCreate":
        os.makedirs(path, mode=0o755, exist_ok=True)
    elif kind == "FileOrCreate" and not os.path.exists(path):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        open(path, "a").close()
    checks = {"Directory": os.path.isdir, "File": os.path.isfile,
              "Socket": lambda p: os.path.exists(p) and stat.S_ISSOCK(os.stat(p).st_mode),
              "CharDevice": lambda p: os.path.exists(p) and stat.S_ISCHR(os.stat(p).st_mode),
              "BlockDevice": lambda p: os.path.exists(p) and stat.S_ISBLK(os.stat(p).st_mode)}
    if kind in checks and not checks[kind](path):
        raise VolumeError(f"hostPath type check failed: {path} is not a {kind}")
    return path
