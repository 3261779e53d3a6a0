"""Per-controller identities: each controller acts as its own ServiceAccount.

As kube-controller-manager with ``--use-service-account-credentials`` (kubeadm's
default), the shared informers read with the controller manager's own identity,
while each controller writes with a token of ``kube-system/<its account>``, so RBAC
grants it exactly what its ``system:controller:<account>`` role allows. Tokens come
from the TokenRequest API and are renewed at 80% of their lifetime.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import yaml

from ..client import AlreadyExists, Client, Config
from ..client.config import build_ssl_context

log = logging.getLogger(__name__)

TOKEN_SECONDS = 3600
RENEW_AT = 0.8

#: controller name -> its ServiceAccount in kube-system (upstream's names, which the
#: bootstrap RBAC policy binds to system:controller:<account>).
SERVICE_ACCOUNTS = {
    "serviceaccount": "service-account-controller",
    "replicaset": "replicaset-controller",
    "replicationcontroller": "replication-controller",
    "deployment": "deployment-controller",
    "statefulset": "statefulset-controller",
    "daemonset": "daemon-set-controller",
    "job": "job-controller",
    "cronjob": "cronjob-controller",
    "ttl-after-finished": "ttl-after-finished-controller",
    "namespace": "namespace-controller",
    "garbage-collector": "generic-garbage-collector",
    "root-ca-cert-publisher": "root-ca-cert-publisher",
    "endpoints": "endpoint-controller",
    "endpointslice": "endpointslice-controller",
    "nodeipam": "node-controller",
    "nodelifecycle": "node-controller",
    "taint-eviction-controller": "node-controller",
    "podgc": "pod-garbage-collector",
    "disruption": "disruption-controller",
    "resourcequota": "resourcequota-controller",
    "csrapproving": "certificate-controller",
    "csrsigning": "certificate-controller",
    "bootstrapsigner": "bootstrap-signer",
    "tokencleaner": "token-cleaner",
    "persistentvolume-binder": "persistent-volume-binder",
}


def account_for(controller: str) -> str:
    return SERVICE_ACCOUNTS.get(controller, f"{controller}-controller")


def cluster_ca(kubeconfig: str | None, root_ca_file: str | None) -> bytes | None:
    """The CA that verifies the API server: --root-ca-file, else the kubeconfig's."""
    if root_ca_file:
        return Path(root_ca_file).read_bytes()
    if not kubeconfig:
        return None
    import base64

    doc = yaml.safe_load(Path(kubeconfig).read_text()) or {}
    contexts = {c["name"]: c.get("context") or {} for c in doc.get("contexts") or []}
    current = contexts.get(doc.get("current-context"), {})
    for cluster in doc.get("clusters") or []:
        if cluster.get("name") == current.get("cluster"):
            spec = cluster.get("cluster") or {}
            if spec.get("certificate-authority-data"):
                return base64.b64decode(spec["certificate-authority-data"])
            if spec.get("certificate-authority"):
                path = Path(spec["certificate-authority"])
                if not path.is_absolute():
                    path = Path(kubeconfig).parent / path
                return path.read_bytes()
    return None


class _Token:
    def __init__(self) -> None:
        self.value = ""

    def __call__(self) -> str:
        return self.value


class ServiceAccountCredentials:
    """Makes and keeps fresh one Client per controller account."""

    def __init__(self, root: Client, config: Config, ca: bytes | None) -> None:
        self.root = root
        self.config = config
        self.ssl = build_ssl_context(ca=ca)
        self._clients: dict[str, Client] = {}
        self._renewers: list[asyncio.Task] = []

    async def client_for(self, account: str) -> Client:
        if account in self._clients:
            return self._clients[account]
        await self._ensure_account(account)
        token = _Token()
        token.value = await self._request_token(account)
        config = Config(self.config.server, self.ssl, self.config.headers, token,
                        f"{self.config.user_agent}/{account}", "kube-system")
        client = Client(config)
        await client.__aenter__()
        self._clients[account] = client
        self._renewers.append(asyncio.create_task(self._renew(account, token),
                                                  name=f"token {account}"))
        log.info("controllers acting as kube-system/%s", account)
        return client

    async def _ensure_account(self, account: str) -> None:
        try:
            await self.root.api("v1", "ServiceAccount").create(
                {"apiVersion": "v1", "kind": "ServiceAccount",
                 "metadata": {"name": account, "namespace": "kube-system"}},
                namespace="kube-system")
        except AlreadyExists:
            pass

    async def _request_token(self, account: str) -> str:
        answer = await self.root.api("v1", "ServiceAccount").create(
            {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
             "spec": {"expirationSeconds": TOKEN_SECONDS}},
            namespace="kube-system", name=account, subresource="token")
        return answer["status"]["token"]

    async def _renew(self, account: str, token: _Token) -> None:
        while True:
            await asyncio.sleep(TOKEN_SECONDS * RENEW_AT)
            while True:
                try:
                    token.value = await self._request_token(account)
                    break
                except Exception:
                    log.exception("renewing the token of %s failed; retrying", account)
                    await asyncio.sleep(10)

    async def close(self) -> None:
        for task in self._renewers:
            task.cancel()
        await asyncio.gather(*self._renewers, return_exceptions=True)
        for client in self._clients.values():
            await client.__aexit__(None, None, None)
