"""ServiceAccount: every pod runs as a service account that exists, with its token.

As upstream's serviceaccount plugin, on pod create: ``serviceAccountName`` defaults
to ``default``; the account must exist (the default one is retried for a moment,
since the controller manager creates it with the namespace), else Forbidden; unless
the pod or the account opts out (automountServiceAccountToken: false), a projected
``kube-api-access-<random>`` volume (bound token, the cluster CA, the namespace) is
added and mounted at /var/run/secrets/kubernetes.io/serviceaccount in every
container; the account's imagePullSecrets are copied when the pod has none. Mirror
pods are left alone but may not reference accounts, secrets or token projections.
"""

from __future__ import annotations

import asyncio
import random
from typing import TYPE_CHECKING

from .. import errors
from . import AdmissionPlugin, AdmissionRequest, lookup

if TYPE_CHECKING:
    from ..context import ServerContext

DEFAULT_SERVICE_ACCOUNT = "default"
MIRROR_ANNOTATION = "kubernetes.io/config.mirror"
TOKEN_VOLUME_PREFIX = "kube-api-access-"
TOKEN_MOUNT_PATH = "/var/run/secrets/kubernetes.io/serviceaccount"
#: serviceaccount.WarnOnlyBoundTokenExpirationSeconds: 1 h + 7 s.
TOKEN_EXPIRATION_SECONDS = 3607
DEFAULT_LOOKUP_ATTEMPTS = 10
NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
CONTAINER_KINDS = ("initContainers", "containers")


def token_volume(name: str) -> dict:
    """The projected volume upstream's TokenVolumeSource describes."""
    return {"name": name, "projected": {"defaultMode": 420, "sources": [
        {"serviceAccountToken": {"expirationSeconds": TOKEN_EXPIRATION_SECONDS,
                                 "path": "token"}},
        {"configMap": {"name": "kube-root-ca.crt",
                       "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
        {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {
            "apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}},
    ]}}


def mount_token(spec: dict) -> None:
    """mountServiceAccountToken: one volume, mounted read-only in every container
    that has nothing at the token path yet."""
    volumes = spec.get("volumes") or []
    existing = next((v.get("name") for v in volumes if isinstance(v, dict)
                     and str(v.get("name") or "").startswith(TOKEN_VOLUME_PREFIX)), None)
    # As upstream's utilrand.String(5): a math/rand name, not a secret (a system random
    # draw per letter was ~5 % of a pod create's CPU).
    name = existing or TOKEN_VOLUME_PREFIX + "".join(random.choices(NAME_ALPHABET, k=5))
    needed = False
    for kind in CONTAINER_KINDS:
        for container in spec.get(kind) or []:
            if not isinstance(container, dict):
                continue
            mounts = container.get("volumeMounts") or []
            if any(isinstance(m, dict) and m.get("mountPath") == TOKEN_MOUNT_PATH
                   for m in mounts):
                continue
            container["volumeMounts"] = [*mounts, {
                "name": name, "readOnly": True, "mountPath": TOKEN_MOUNT_PATH}]
            needed = True
    if needed and existing is None:
        spec["volumes"] = [*volumes, token_volume(name)]


def _references_secrets(spec: dict) -> bool:
    """VisitPodSecretNames found anything."""
    if spec.get("imagePullSecrets"):
        return True
    for kind in ("initContainers", "containers", "ephemeralContainers"):
        for c in spec.get(kind) or []:
            for env in c.get("env") or []:
                if ((env.get("valueFrom") or {}).get("secretKeyRef")):
                    return True
            if any(src.get("secretRef") for src in c.get("envFrom") or []):
                return True
    for vol in spec.get("volumes") or []:
        if vol.get("secret") or any(vol.get(k, {}).get("secretRef") for k in (
                "azureFile", "cephfs", "cinder", "flexVolume", "rbd", "scaleIO", "iscsi",
                "storageos", "csi") if isinstance(vol.get(k), dict)):
            return True
        if any(src.get("secret") for src in (vol.get("projected") or {}).get("sources") or []):
            return True
    return False


class ServiceAccount(AdmissionPlugin):
    name = "ServiceAccount"

    def _handles(self, req: AdmissionRequest) -> bool:
        return (req.is_resource("", "pods") and not req.subresource
                and req.operation == "CREATE" and isinstance(req.object, dict))

    async def admit(self, ctx: "ServerContext", req: AdmissionRequest) -> None:
        if not self._handles(req):
            return
        pod = req.object
        spec = pod.setdefault("spec", {})
        if not isinstance(spec, dict) or _is_mirror(pod):
            return
        name = spec.get("serviceAccountName") or spec.get("serviceAccount") or \
            DEFAULT_SERVICE_ACCOUNT
        spec["serviceAccountName"] = spec["serviceAccount"] = name
        account = await self._service_account(ctx, req, name)
        automount = spec.get("automountServiceAccountToken")
        if automount is None:
            automount = account.get("automountServiceAccountToken")
        if automount is not False:
            mount_token(spec)
        if not spec.get("imagePullSecrets") and account.get("imagePullSecrets"):
            spec["imagePullSecrets"] = [{"name": s.get("name")}
                                        for s in account["imagePullSecrets"]]

    async def validate(self, ctx: "ServerContext", req: AdmissionRequest) -> None:
        if not self._handles(req):
            return
        pod = req.object
        spec = pod.get("spec") or {}
        if _is_mirror(pod):
            if spec.get("serviceAccountName"):
                raise req.forbidden("a mirror pod may not reference service accounts")
            if _references_secrets(spec):
                raise req.forbidden("a mirror pod may not reference secrets")
            for vol in spec.get("volumes") or []:
                for src in (vol.get("projected") or {}).get("sources") or []:
                    if src.get("serviceAccountToken"):
                        raise req.forbidden(
                            "a mirror pod may not use ServiceAccountToken volume projections")
                    if src.get("clusterTrustBundle"):
                        raise req.forbidden(
                            "a mirror pod may not use ClusterTrustBundle volume projections")
            return
        name = spec.get("serviceAccountName")
        if not name:
            raise req.forbidden(
                f"no service account specified for pod {req.namespace}/{req.name}")
        await self._service_account(ctx, req, name)

    async def _service_account(self, ctx: "ServerContext", req: AdmissionRequest,
                               name: str) -> dict:
        account = await lookup.get(ctx, "", "serviceaccounts", req.namespace, name)
        attempts = DEFAULT_LOOKUP_ATTEMPTS if name == DEFAULT_SERVICE_ACCOUNT else 1
        interval = random.uniform(0.1, 0.2)
        for attempt in range(attempts if account is None else 0):
            if attempt:
                await asyncio.sleep(interval)
            account = await lookup.get(ctx, "", "serviceaccounts", req.namespace, name,
                                       live=True)
            if account is not None:
                break
        if account is None:
            missing = errors.not_found("", "serviceaccount", name)
            raise req.forbidden(f"error looking up service account {req.namespace}/{name}: "
                                f"{missing.message}")
        return account


def _is_mirror(pod: dict) -> bool:
    return MIRROR_ANNOTATION in ((pod.get("metadata") or {}).get("annotations") or {})
