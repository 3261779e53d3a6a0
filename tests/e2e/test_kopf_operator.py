"""A real kopf operator (tests/e2e/operator/widget_operator.py) against a started server.

kopf logs in through the official client's kubeconfig loader (client certificates), discovers
the CRD, lists and watches widgets (with bookmarks, or with sendInitialEvents), keeps its
progress and last-handled-configuration in annotations and ``status`` (JSON merge patches on
the object and on its status subresource), adds and removes its finalizer, and posts core v1
Events.  The test drives widgets through create, spec update and delete and checks the
operator's effects, then stops it with SIGINT and expects a clean exit.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from kubernetes import client, config
from kubernetes.client.rest import ApiException

pytestmark = pytest.mark.e2e

OPERATOR = Path(__file__).parent / "operator" / "widget_operator.py"
GROUP, VERSION, PLURAL = "demo.pyk8s.io", "v1", "widgets"
FINALIZER = "demo.pyk8s.io/cleanup"
LAST_HANDLED = "kopf.zalando.org/last-handled-configuration"

CRD = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": f"{PLURAL}.{GROUP}"},
    "spec": {
        "group": GROUP,
        "scope": "Namespaced",
        "names": {"plural": PLURAL, "singular": "widget", "kind": "Widget", "listKind": "WidgetList"},
        "versions": [{
            "name": VERSION, "served": True, "storage": True,
            "subresources": {"status": {}},
            "schema": {"openAPIV3Schema": {
                "type": "object",
                "properties": {
                    "spec": {"type": "object", "properties": {
                        "color": {"type": "string"},
                        "size": {"type": "integer", "minimum": 0},
                    }},
                    "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                },
            }},
        }],
    },
}

TIMEOUT = 30.0  # a deadline for eventual effects, not a performance threshold


def eventually(check, what: str, timeout: float = TIMEOUT, log=lambda: ""):
    """Polls ``check`` until it returns a truthy value or raises nothing; returns that value."""
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            value = check()
            if value:
                return value
        except (AssertionError, ApiException) as e:
            last = e
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}: {last!r}\n--- operator log ---\n{log()}")


@pytest.fixture(scope="module")
def api(apiserver):
    cfg = client.Configuration()
    config.load_kube_config(config_file=str(apiserver.kubeconfig), client_configuration=cfg)
    with client.ApiClient(cfg) as api_client:
        yield api_client


@pytest.fixture(scope="module")
def crd(api):
    ext = client.ApiextensionsV1Api(api)
    try:
        ext.create_custom_resource_definition(CRD)
    except ApiException as e:
        if e.status != 409:
            raise

    def established():
        got = ext.read_custom_resource_definition(CRD["metadata"]["name"])
        return any(c.type == "Established" and c.status == "True"
                   for c in (got.status.conditions or []))
    eventually(established, "the CRD to be established")
    # discovery must list the resource and its status subresource (kopf reads it there)
    disc = api.call_api(f"/apis/{GROUP}/{VERSION}", "GET", response_type="object",
                        auth_settings=["BearerToken"], _return_http_data_only=True)
    names = {r["name"] for r in disc["resources"]}
    assert {PLURAL, f"{PLURAL}/status"} <= names
    yield CRD
    # other modules' kubectl must not find two kinds named Widget (kubectl get widget)
    ext.delete_custom_resource_definition(CRD["metadata"]["name"])


class Operator:
    def __init__(self, apiserver, namespace: str, tmp_path: Path, **env: str):
        self.log_path = tmp_path / "operator.log"
        with open(self.log_path, "wb") as out:  # the child keeps its own descriptor
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "kopf", "run", "--standalone", "--verbose",
                 "-n", namespace, str(OPERATOR)],
                env={**apiserver.env(), **env}, stdout=out, stderr=subprocess.STDOUT)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        try:
            return self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"operator did not stop on SIGINT\n{self.log()}")


@pytest.fixture
def ns(api, request):
    core = client.CoreV1Api(api)
    name = f"kopf-{uuid.uuid4().hex[:8]}"
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    yield name
    core.delete_namespace(name)


@pytest.mark.parametrize("initial_streaming", ["0", "1"], ids=["list-then-watch", "initial-events"])
def test_kopf_operator_lifecycle(api, crd, ns, tmp_path, apiserver, initial_streaming):
    core = client.CoreV1Api(api)
    custom = client.CustomObjectsApi(api)

    # one widget exists before the operator starts: kopf must find it in its initial listing
    custom.create_namespaced_custom_object(GROUP, VERSION, ns, PLURAL, {
        "apiVersion": f"{GROUP}/{VERSION}", "kind": "Widget",
        "metadata": {"name": "early"}, "spec": {"color": "green", "size": 1}})

    op = Operator(apiserver, ns, tmp_path, WIDGET_INITIAL_STREAMING=initial_streaming)
    try:
        _lifecycle(core, custom, ns, op)
    finally:
        rc = op.stop()
    log = op.log()
    assert rc == 0, log
    assert "Traceback" not in log, log
    assert "APIClientError" not in log and "APIError" not in log, log
    assert "inconsistencies" not in log, log  # merge patches came back as sent
    assert "Failed to post an event" not in log, log


def _lifecycle(core, custom, ns: str, op: Operator):
    def widget(name):
        return custom.get_namespaced_custom_object(GROUP, VERSION, ns, PLURAL, name)

    def child(name):
        return core.read_namespaced_config_map(f"{name}-child", ns)

    # --- the widget created before startup is handled once the operator is up ---
    early = widget("early")
    cm = eventually(lambda: child("early"), "the early widget's child", log=op.log)
    assert cm.data == {"widget": "early", "color": "green", "size": "1"}

    # --- create ---
    created = custom.create_namespaced_custom_object(GROUP, VERSION, ns, PLURAL, {
        "apiVersion": f"{GROUP}/{VERSION}", "kind": "Widget",
        "metadata": {"name": "w1"}, "spec": {"color": "red", "size": 3}})
    uid = created["metadata"]["uid"]

    cm = eventually(lambda: child("w1"), "the child ConfigMap", log=op.log)
    assert cm.data == {"widget": "w1", "color": "red", "size": "3"}
    [ref] = cm.metadata.owner_references
    assert (ref.api_version, ref.kind, ref.name, ref.uid) == (f"{GROUP}/{VERSION}", "Widget", "w1", uid)
    assert ref.controller is True and ref.block_owner_deletion is True
    assert cm.metadata.labels == {"demo.pyk8s.io/widget": "w1"}

    def created_status():
        w = widget("w1")
        st = w.get("status", {})
        assert st.get("phase") == "Created", w
        assert st.get("child") == "w1-child", w
        assert st.get("create_fn") == {"childName": "w1-child"}, w
        assert LAST_HANDLED in w["metadata"].get("annotations", {}), w
        return w
    w = eventually(created_status, "the created status", log=op.log)
    assert FINALIZER in w["metadata"]["finalizers"], w
    last = json.loads(w["metadata"]["annotations"][LAST_HANDLED])
    assert last["spec"] == {"color": "red", "size": 3}, last
    # status is written through the status subresource, spec is untouched
    assert w["spec"] == {"color": "red", "size": 3}
    assert w["metadata"]["generation"] == 1, w

    # kopf posted core v1 Events about the handler's success
    def events():
        evs = core.list_namespaced_event(ns, field_selector="involvedObject.name=w1").items
        seen = [(e.reason, e.type, e.message) for e in evs if e.involved_object.uid == uid]
        assert ("ChildCreated", "Normal", "created ConfigMap w1-child") in seen, seen
        assert ("Logging", "Normal", "Handler 'create_fn' succeeded.") in seen, seen
        return evs
    eventually(events, "kopf's events", log=op.log)

    # --- update of spec ---
    custom.patch_namespaced_custom_object(GROUP, VERSION, ns, PLURAL, "w1",
                                          {"spec": {"color": "blue", "size": None}})

    def updated_child():
        cm = child("w1")
        assert cm.data == {"widget": "w1", "color": "blue"}, cm.data
        return cm
    eventually(updated_child, "the updated child", log=op.log)

    def updated_status():
        w = widget("w1")
        assert w.get("status", {}).get("phase") == "Updated", w
        assert w["status"].get("observedColor") == "blue", w
        assert json.loads(w["metadata"]["annotations"][LAST_HANDLED])["spec"] == {"color": "blue"}, w
        return w
    w = eventually(updated_status, "the updated status", log=op.log)
    assert w["metadata"]["generation"] == 2, w

    # a change outside spec (a label) does not trigger the spec update handler
    custom.patch_namespaced_custom_object(GROUP, VERSION, ns, PLURAL, "w1",
                                          {"metadata": {"labels": {"touched": "yes"}}})
    # --- delete: kopf's finalizer holds the widget until the delete handler ran ---
    custom.delete_namespaced_custom_object(GROUP, VERSION, ns, PLURAL, "w1")

    def gone():
        try:
            widget("w1")
        except ApiException as e:
            return e.status == 404
        return False
    eventually(gone, "the widget to be deleted", log=op.log)
    deletions = core.read_namespaced_config_map("widget-deletions", ns)
    assert deletions.data == {"w1": uid}
    # the label change did not re-run the update handler
    assert child("w1").data == {"widget": "w1", "color": "blue"}

    custom.delete_namespaced_custom_object(GROUP, VERSION, ns, PLURAL, "early")
    eventually(lambda: "early" in (core.read_namespaced_config_map("widget-deletions", ns).data or {}),
               "the early widget's deletion", log=op.log)
    assert early["metadata"]["uid"] == core.read_namespaced_config_map(
        "widget-deletions", ns).data["early"]


def test_concurrent_merge_patches_do_not_conflict(api, crd, ns):
    """Merge patches without a resourceVersion (kopf's annotations and status writes racing the
    user's edits) are retried server-side on a lost compare-and-swap, never a 409."""
    from concurrent.futures import ThreadPoolExecutor

    custom = client.CustomObjectsApi(api)
    custom.create_namespaced_custom_object(GROUP, VERSION, ns, PLURAL, {
        "apiVersion": f"{GROUP}/{VERSION}", "kind": "Widget",
        "metadata": {"name": "busy"}, "spec": {"color": "red"}})

    def patch(i: int):
        if i % 2:
            return custom.patch_namespaced_custom_object_status(
                GROUP, VERSION, ns, PLURAL, "busy", {"status": {f"s{i}": i}})
        return custom.patch_namespaced_custom_object(
            GROUP, VERSION, ns, PLURAL, "busy", {"metadata": {"annotations": {f"a{i}": str(i)}}})

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(patch, range(40)))
    got = custom.get_namespaced_custom_object(GROUP, VERSION, ns, PLURAL, "busy")
    assert got["metadata"]["annotations"] == {f"a{i}": str(i) for i in range(0, 40, 2)}
    assert got["status"] == {f"s{i}": i for i in range(1, 40, 2)}
    # a patch that names a stale resourceVersion is still the client's precondition: 409
    with pytest.raises(ApiException) as err:
        custom.patch_namespaced_custom_object(GROUP, VERSION, ns, PLURAL, "busy", {
            "metadata": {"resourceVersion": "1", "labels": {"x": "y"}}})
    assert err.value.status == 409


def test_initial_events_stream_ends_with_a_bookmark(api, crd, ns):
    """kopf's watch with ``sendInitialEvents``: existing objects as ADDED, then the BOOKMARK
    annotated ``k8s.io/initial-events-end`` that ends kopf's initial listing."""
    custom = client.CustomObjectsApi(api)
    custom.create_namespaced_custom_object(GROUP, VERSION, ns, PLURAL, {
        "apiVersion": f"{GROUP}/{VERSION}", "kind": "Widget", "metadata": {"name": "b1"}})
    resp = api.call_api(
        f"/apis/{GROUP}/{VERSION}/namespaces/{ns}/{PLURAL}", "GET",
        query_params=[("watch", "true"), ("allowWatchBookmarks", "true"),
                      ("sendInitialEvents", "true"), ("resourceVersionMatch", "NotOlderThan"),
                      ("timeoutSeconds", "30")],
        auth_settings=["BearerToken"], _preload_content=False, _return_http_data_only=True)
    try:
        events = []
        for line in resp:
            events.append(json.loads(line))
            if events[-1]["type"] == "BOOKMARK":
                break
    finally:
        resp.release_conn()
    assert [(e["type"], e["object"]["metadata"].get("name")) for e in events] == \
        [("ADDED", "b1"), ("BOOKMARK", None)]
    mark = events[-1]["object"]
    assert (mark["apiVersion"], mark["kind"]) == (f"{GROUP}/{VERSION}", "Widget")
    assert mark["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}
    assert int(mark["metadata"]["resourceVersion"]) >= \
        int(events[0]["object"]["metadata"]["resourceVersion"])
