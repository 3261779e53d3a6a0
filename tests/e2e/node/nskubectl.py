"""kubectl bound to one namespace with ``-n``: kubectl reads ``POD_NAMESPACE`` only for
in-cluster configs, so with a kubeconfig the variable alone leaves calls in ``default``."""

from __future__ import annotations


class NamespacedKubectl:
    def __init__(self, kubectl, namespace: str) -> None:
        self.kubectl = kubectl
        self.namespace = namespace

    def __call__(self, *args: str, **kw):
        return self.kubectl("-n", self.namespace, *args, **kw)

    def jsonpath(self, *args: str, path: str) -> str:
        return self.kubectl.jsonpath("-n", self.namespace, *args, path=path)
