"""NamespaceLifecycle through the real API: content may not be created in a namespace
that is missing or being deleted, the moment the DELETE is answered (the plugin reads
recently deleted namespaces from the store, not the watch cache, as upstream's
forceLiveLookupCache), and the system namespaces may not be deleted."""

from __future__ import annotations

import uuid

from kubectl_cli import kubectl  # noqa: F401  (fixture)


def test_create_right_after_namespace_delete_is_forbidden(kubectl):  # noqa: F811
    name = f"doomed-{uuid.uuid4().hex[:6]}"
    kubectl("create", "namespace", name)
    kubectl("create", "configmap", "before", "-n", name)
    # No namespace controller runs beside this API server: the namespace stays
    # Terminating (its "kubernetes" finalizer is never removed).
    kubectl("delete", "namespace", name, "--wait=false")
    for attempt in range(3):
        refused = kubectl.fails("create", "configmap", f"after-{attempt}", "-n", name)
        assert (f'configmaps "after-{attempt}" is forbidden: unable to create new content in '
                f"namespace {name} because it is being terminated") in refused.stderr
    assert kubectl.jsonpath("get", "configmap", "before", "-n", name,
                            path="{.metadata.name}") == "before"


def test_missing_and_immortal_namespaces(kubectl):  # noqa: F811
    missing = kubectl.fails("create", "configmap", "x", "-n", f"nope-{uuid.uuid4().hex[:6]}")
    assert 'namespaces "nope-' in missing.stderr and "not found" in missing.stderr
    refused = kubectl.fails("delete", "namespace", "kube-system")
    assert "this namespace may not be deleted" in refused.stderr
