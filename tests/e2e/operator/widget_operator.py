"""A small kopf operator for ``widgets.demo.pyk8s.io``, run by tests/e2e/test_kopf_operator.py.

* create: makes a ConfigMap child ``<widget>-child`` carrying the widget's spec, owned by
  the widget (``kopf.adopt``), and reports it in ``status``;
* update of ``spec``: rewrites the child's data and the status;
* delete: kopf holds the widget with its finalizer until this handler has recorded the
  deletion in the ConfigMap ``widget-deletions`` of the widget's namespace.

The operator talks to the API through the official ``kubernetes`` client for the children;
kopf itself logs in with that client's kubeconfig loader (``$KUBECONFIG``).
"""

from __future__ import annotations

import logging
import os

import kopf
import kubernetes
from kubernetes.client.rest import ApiException

GROUP, VERSION, PLURAL = "demo.pyk8s.io", "v1", "widgets"
DELETIONS = "widget-deletions"

_core: kubernetes.client.CoreV1Api | None = None


@kopf.on.startup()
def configure(settings: kopf.OperatorSettings, logger, **_):
    global _core
    kubernetes.config.load_kube_config()
    _core = kubernetes.client.CoreV1Api()
    settings.posting.loggers = True  # post the objects' log messages as core v1 Events
    settings.posting.level = logging.INFO
    settings.watching.server_timeout = 60
    # both ways kopf can start its watches: LIST then WATCH, or WATCH with sendInitialEvents
    settings.watching.initial_streaming = os.environ.get("WIDGET_INITIAL_STREAMING") == "1"
    settings.persistence.finalizer = "demo.pyk8s.io/cleanup"
    logger.info("widget operator configured")


def _child_data(name: str, spec: dict) -> dict[str, str]:
    return {"widget": name, **{k: str(v) for k, v in sorted((spec or {}).items())}}


@kopf.on.create(GROUP, VERSION, PLURAL)
def create_fn(body, name, namespace, spec, patch, logger, **_):
    child = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": f"{name}-child", "labels": {"demo.pyk8s.io/widget": name}},
        "data": _child_data(name, spec),
    }
    kopf.adopt(child)  # ownerReferences (controller) + the widget's namespace
    _core.create_namespaced_config_map(namespace, child)
    logger.info(f"child {name}-child created")
    kopf.info(body, reason="ChildCreated", message=f"created ConfigMap {name}-child")
    patch.status["phase"] = "Created"
    patch.status["child"] = f"{name}-child"
    return {"childName": f"{name}-child"}  # kopf stores this under status.create_fn


@kopf.on.update(GROUP, VERSION, PLURAL, field="spec")
def update_fn(name, namespace, new, patch, logger, **_):
    child = _core.read_namespaced_config_map(f"{name}-child", namespace)
    child.data = _child_data(name, new)  # removed spec keys go too: replace, not patch
    _core.replace_namespaced_config_map(f"{name}-child", namespace, child)
    logger.info(f"child {name}-child updated")
    patch.status["phase"] = "Updated"
    patch.status["observedColor"] = (new or {}).get("color")


@kopf.on.delete(GROUP, VERSION, PLURAL)
def delete_fn(name, namespace, uid, logger, **_):
    try:
        _core.patch_namespaced_config_map(DELETIONS, namespace, {"data": {name: uid}})
    except ApiException as e:
        if e.status != 404:
            raise
        _core.create_namespaced_config_map(namespace, {
            "metadata": {"name": DELETIONS}, "data": {name: uid}})
    logger.info(f"deletion of {name} recorded")
