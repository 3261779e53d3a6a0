"""The bootstrap signer and token cleaner against a real API server: cluster-info carries a
valid detached JWS for exactly the live signing tokens (stale and expired ones removed, new
content re-signed), and expired bootstrap token Secrets are deleted, at their expiry."""

from __future__ import annotations

import contextlib
import uuid

from bootstrapkit import create_token, delete_token, in_seconds, running
from lifecycle_harness import eventually, gone

from pyk8s.bootstrap.jws import detached_signature_is_valid
from pyk8s.client import AlreadyExists, ApiError
from pyk8s.controllers.bootstrapsigner import BootstrapSigner
from pyk8s.controllers.tokencleaner import TokenCleaner

PREFIX = "jws-kubeconfig-"


def kubeconfig(server: str) -> str:
    return ("apiVersion: v1\nkind: Config\nclusters:\n- cluster:\n"
            f"    certificate-authority-data: Q0E=\n    server: {server}\n  name: \"\"\n"
            "contexts: null\ncurrent-context: \"\"\nusers: null\n")


@contextlib.asynccontextmanager
async def cluster_info(client, data: dict):
    api = client.api("v1", "ConfigMap")
    body = {"metadata": {"name": "cluster-info", "namespace": "kube-public"}, "data": data}
    try:
        await api.create(body, namespace="kube-public")
    except AlreadyExists:
        current = await api.get("cluster-info", namespace="kube-public")
        await api.update({**current, "data": data})
    try:
        yield api
    finally:
        with contextlib.suppress(ApiError):
            await api.delete("cluster-info", namespace="kube-public")


async def test_cluster_info_is_signed_by_live_signing_tokens(apiserver):
    async with running(apiserver, BootstrapSigner) as admin:
        content = kubeconfig(f"https://{uuid.uuid4().hex[:8]}.example:6443")
        signer, secret = await create_token(admin, signing=True, expiration=in_seconds(3600))
        short, short_secret = await create_token(admin, signing=True)
        plain, _ = await create_token(admin, authentication=True)
        expired, _ = await create_token(admin, signing=True, expiration=in_seconds(-60))
        try:
            async with cluster_info(admin, {"kubeconfig": content,
                                            PREFIX + "zzzzzz": "stale..sig"}) as cms:
                async def signatures(expected: set[str]):
                    cm = await cms.get("cluster-info", namespace="kube-public")
                    data = cm["data"]
                    ids = {k[len(PREFIX):] for k in data if k.startswith(PREFIX)}
                    mine = ids & {signer, short, plain, expired, "zzzzzz"}
                    return data if mine == expected else None

                data = await eventually(lambda: signatures({signer, short}))
                assert data["kubeconfig"] == content
                assert detached_signature_is_valid(data[PREFIX + signer], content, signer, secret)
                assert detached_signature_is_valid(data[PREFIX + short], content, short,
                                                   short_secret)

                # new content is re-signed
                content = kubeconfig("https://moved.example:6443")
                cm = await cms.get("cluster-info", namespace="kube-public")
                await cms.update({**cm, "data": {**cm["data"], "kubeconfig": content}})

                async def resigned():
                    cm = await cms.get("cluster-info", namespace="kube-public")
                    return detached_signature_is_valid(cm["data"].get(PREFIX + signer, ""),
                                                       content, signer, secret)

                await eventually(resigned)

                # a token that expires loses its signature (no cleaner running), and so does
                # a deleted one
                secrets = admin.api("v1", "Secret")
                token = await secrets.get(f"bootstrap-token-{short}", namespace="kube-system")
                expiry = {"expiration": in_seconds(1)}
                await secrets.patch(token["metadata"]["name"], {"stringData": expiry},
                                    namespace="kube-system")
                await eventually(lambda: signatures({signer}))
                await delete_token(admin, signer)
                await eventually(lambda: signatures(set()))
        finally:
            for token_id in (signer, short, plain, expired):
                await delete_token(admin, token_id)


async def test_token_cleaner_deletes_tokens_once_expired(apiserver):
    async with running(apiserver, TokenCleaner) as admin:
        secrets = admin.api("v1", "Secret")
        lasting, _ = await create_token(admin, authentication=True)
        past, _ = await create_token(admin, expiration=in_seconds(-60))
        soon, _ = await create_token(admin, expiration=in_seconds(2))
        garbled, _ = await create_token(admin, extra={"expiration": "next tuesday"})
        try:
            for token_id in (past, soon, garbled):
                await eventually(lambda t=token_id: gone(secrets, f"bootstrap-token-{t}",
                                                         "kube-system"))
            kept = await secrets.get(f"bootstrap-token-{lasting}", namespace="kube-system")
            assert kept["metadata"]["name"] == f"bootstrap-token-{lasting}"
        finally:
            for token_id in (lasting, past, soon, garbled):
                await delete_token(admin, token_id)
