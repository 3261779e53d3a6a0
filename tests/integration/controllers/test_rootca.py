"""The root CA publisher against a real API server: every namespace gets kube-root-ca.crt
with the cluster CA, and a deleted or edited copy is put back."""

from __future__ import annotations

from lifecycle_harness import eventually, running, unique

from pyk8s.client import NotFound
from pyk8s.controllers.rootcacertpublisher import (
    DESCRIPTION,
    DESCRIPTION_ANNOTATION,
    NAME,
    RootCACertPublisher,
)


async def test_root_ca_configmap_is_published_and_repaired(apiserver):
    ca_file = apiserver.data_dir / "pki" / "ca.crt"
    ca = ca_file.read_text()
    async with running(apiserver, RootCACertPublisher, root_ca_file=str(ca_file)) as client:
        namespaces, cms = client.api("v1", "Namespace"), client.api("v1", "ConfigMap")
        ns = unique("rootca")
        await namespaces.create({"metadata": {"name": ns}})
        try:
            async def published():
                try:
                    cm = await cms.get(NAME, namespace=ns)
                except NotFound:
                    return None
                return cm if cm.get("data") == {"ca.crt": ca} else None

            cm = await eventually(published)
            assert cm["metadata"]["annotations"][DESCRIPTION_ANNOTATION] == DESCRIPTION
            assert (await cms.get(NAME, namespace="default"))["data"] == {"ca.crt": ca}

            await cms.patch(NAME, {"data": {"ca.crt": "tampered", "extra": "x"}}, namespace=ns)
            await eventually(published)

            await cms.delete(NAME, namespace=ns)
            recreated = await eventually(published)
            assert recreated["metadata"]["uid"] != cm["metadata"]["uid"]
        finally:
            await namespaces.delete(ns)
