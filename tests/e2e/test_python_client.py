"""The official `kubernetes` Python client (32.0.1) against a started server.

CRUD across API groups, list pagination over one snapshot, watches resumed from a
resourceVersion without loss or duplication, and the error statuses (404, 409, 422)
the client turns into ApiException.
"""

from __future__ import annotations

import base64
import datetime
import json
import uuid

import pytest
from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException

pytestmark = pytest.mark.e2e

STALE = ("the object has been modified; please apply your changes to the latest version and "
         "try again")


@pytest.fixture(scope="module")
def api(apiserver) -> client.ApiClient:
    cfg = client.Configuration()
    config.load_kube_config(config_file=str(apiserver.kubeconfig), client_configuration=cfg)
    with client.ApiClient(cfg) as api_client:
        yield api_client


@pytest.fixture
def core(api) -> client.CoreV1Api:
    return client.CoreV1Api(api)


@pytest.fixture
def ns(core, request) -> str:
    name = f"py-{request.node.name.lower().replace('_', '-')[:30].strip('-')}-{uuid.uuid4().hex[:5]}"
    name = "".join(c if c.isalnum() or c == "-" else "-" for c in name)
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    # what the controller manager's serviceaccounts controller would add (admission needs it)
    core.create_namespaced_service_account(name, client.V1ServiceAccount(
        metadata=client.V1ObjectMeta(name="default")))
    return name


def meta(name: str, **kw) -> client.V1ObjectMeta:
    return client.V1ObjectMeta(name=name, **kw)


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def container(name: str = "c", image: str = "busybox:1.36") -> client.V1Container:
    return client.V1Container(name=name, image=image, command=["sleep", "3600"])


def pod_template(labels: dict, restart: str = "Always") -> client.V1PodTemplateSpec:
    return client.V1PodTemplateSpec(
        metadata=client.V1ObjectMeta(labels=labels),
        spec=client.V1PodSpec(containers=[container()], restart_policy=restart))


class Kind:
    """How one kind is created, patched and checked through its typed API class."""

    def __init__(self, api_cls, suffix: str, body, patch: dict, check_created, check_patched):
        self.api_cls, self.suffix, self.body = api_cls, suffix, body
        self.patch, self.check_created, self.check_patched = patch, check_created, check_patched

    def call(self, api, verb: str, *args, **kw):
        return getattr(self.api_cls(api), f"{verb}_namespaced_{self.suffix}")(*args, **kw)


def _created_service(obj):
    assert obj.spec.type == "ClusterIP"
    assert obj.spec.cluster_ip.startswith("10.") and obj.spec.cluster_ip != "10.96.0.1"
    assert obj.spec.cluster_i_ps == [obj.spec.cluster_ip]
    assert obj.spec.ports[0].protocol == "TCP" and obj.spec.ports[0].target_port == 8080
    assert obj.spec.session_affinity == "None"


def _created_job(obj):
    uid = obj.metadata.uid
    assert obj.spec.selector.match_labels == {"batch.kubernetes.io/controller-uid": uid}
    labels = obj.spec.template.metadata.labels
    assert labels["batch.kubernetes.io/controller-uid"] == uid
    assert labels["batch.kubernetes.io/job-name"] == obj.metadata.name
    assert obj.spec.backoff_limit == 6 and obj.spec.completions == 1
    assert obj.spec.parallelism == 1 and obj.spec.completion_mode == "NonIndexed"


def _created_deployment(obj):
    assert obj.spec.replicas == 1 and obj.spec.revision_history_limit == 10
    assert obj.spec.strategy.type == "RollingUpdate"
    assert obj.spec.strategy.rolling_update.max_surge == "25%"
    assert obj.spec.progress_deadline_seconds == 600
    assert obj.metadata.generation == 1


RENEW = datetime.datetime(2025, 1, 2, 3, 4, 5, 123456, tzinfo=datetime.timezone.utc)

KINDS = {
    "configmap": Kind(
        client.CoreV1Api, "config_map",
        lambda n: client.V1ConfigMap(metadata=meta(n), data={"a": "1"}),
        {"data": {"b": "2"}},
        lambda o: None,
        lambda o: o.data == {"a": "1", "b": "2"}),
    "secret": Kind(
        client.CoreV1Api, "secret",
        lambda n: client.V1Secret(metadata=meta(n), string_data={"user": "admin"}),
        {"data": {"pw": b64("hunter2")}},
        lambda o: (o.type == "Opaque" and o.data == {"user": b64("admin")}
                   and o.string_data is None) or pytest.fail(f"secret {o}"),
        lambda o: o.data == {"user": b64("admin"), "pw": b64("hunter2")}),
    "service": Kind(
        client.CoreV1Api, "service",
        lambda n: client.V1Service(metadata=meta(n), spec=client.V1ServiceSpec(
            selector={"app": "a"}, ports=[client.V1ServicePort(port=80, target_port=8080)])),
        {"spec": {"selector": {"app": "b"}}},
        _created_service,
        lambda o: o.spec.selector == {"app": "b"} and o.spec.ports[0].port == 80),
    "pod": Kind(
        client.CoreV1Api, "pod",
        lambda n: client.V1Pod(metadata=meta(n), spec=client.V1PodSpec(containers=[container()])),
        {"metadata": {"labels": {"tier": "x"}}},
        lambda o: (o.status.phase == "Pending" and o.spec.restart_policy == "Always"
                   and o.spec.dns_policy == "ClusterFirst"
                   and o.spec.termination_grace_period_seconds == 30
                   and o.spec.containers[0].termination_message_path == "/dev/termination-log")
        or pytest.fail(f"pod defaults {o.spec}"),
        lambda o: o.metadata.labels == {"tier": "x"}),
    "deployment": Kind(
        client.AppsV1Api, "deployment",
        lambda n: client.V1Deployment(metadata=meta(n), spec=client.V1DeploymentSpec(
            selector=client.V1LabelSelector(match_labels={"app": n}),
            template=pod_template({"app": n}))),
        {"spec": {"replicas": 3}},
        _created_deployment,
        lambda o: o.spec.replicas == 3 and o.metadata.generation == 2),
    "job": Kind(
        client.BatchV1Api, "job",
        lambda n: client.V1Job(metadata=meta(n), spec=client.V1JobSpec(
            template=pod_template({}, restart="Never"))),
        {"metadata": {"annotations": {"note": "x"}}},
        _created_job,
        lambda o: o.metadata.annotations == {"note": "x"}),
    "role": Kind(
        client.RbacAuthorizationV1Api, "role",
        lambda n: client.V1Role(metadata=meta(n), rules=[client.V1PolicyRule(
            api_groups=[""], resources=["pods"], verbs=["get", "list"])]),
        {"rules": [{"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["*"]}]},
        lambda o: None,
        lambda o: [(r.api_groups, r.resources, r.verbs) for r in o.rules] == [
            (["apps"], ["deployments"], ["*"])]),
    "lease": Kind(
        client.CoordinationV1Api, "lease",
        lambda n: client.V1Lease(metadata=meta(n), spec=client.V1LeaseSpec(
            holder_identity="a", lease_duration_seconds=15, renew_time=RENEW)),
        {"spec": {"holderIdentity": "b", "leaseTransitions": 1}},
        lambda o: o.spec.renew_time == RENEW or pytest.fail(f"MicroTime {o.spec.renew_time}"),
        lambda o: o.spec.holder_identity == "b" and o.spec.lease_transitions == 1
        and o.spec.renew_time == RENEW),
    "ingress": Kind(
        client.NetworkingV1Api, "ingress",
        lambda n: client.V1Ingress(metadata=meta(n), spec=client.V1IngressSpec(rules=[
            client.V1IngressRule(host="x.example.com", http=client.V1HTTPIngressRuleValue(paths=[
                client.V1HTTPIngressPath(path="/", path_type="Prefix",
                                         backend=client.V1IngressBackend(
                                             service=client.V1IngressServiceBackend(
                                                 name="svc",
                                                 port=client.V1ServiceBackendPort(number=80))))]))])),
        {"spec": {"rules": [{"host": "y.example.com", "http": {"paths": [{
            "path": "/api", "pathType": "Exact", "backend": {
                "service": {"name": "api", "port": {"number": 8080}}}}]}}]}},
        lambda o: o.spec.rules[0].http.paths[0].backend.service.port.number == 80,
        lambda o: o.spec.rules[0].host == "y.example.com"),
}


@pytest.mark.parametrize("kind", list(KINDS))
def test_crud(api, ns, kind):
    k = KINDS[kind]
    name = f"{kind}-1"
    created = k.call(api, "create", ns, k.body(name))
    assert created.metadata.name == name and created.metadata.namespace == ns
    assert created.metadata.uid and int(created.metadata.resource_version) > 0
    assert created.metadata.creation_timestamp.tzinfo is not None
    k.check_created(created)

    read = k.call(api, "read", name, ns)
    assert read.metadata.uid == created.metadata.uid
    assert read.metadata.resource_version == created.metadata.resource_version

    listed = k.call(api, "list", ns)
    assert [o.metadata.name for o in listed.items] == [name]
    assert int(listed.metadata.resource_version) >= int(created.metadata.resource_version)

    patched = k.call(api, "patch", name, ns, k.patch)
    assert int(patched.metadata.resource_version) > int(read.metadata.resource_version)
    assert k.check_patched(patched), patched
    assert k.check_patched(k.call(api, "read", name, ns))

    current = k.call(api, "read", name, ns)
    current.metadata.labels = {**(current.metadata.labels or {}), "replaced": "yes"}
    replaced = k.call(api, "replace", name, ns, current)
    assert replaced.metadata.labels["replaced"] == "yes"
    assert int(replaced.metadata.resource_version) > int(current.metadata.resource_version)

    with pytest.raises(ApiException) as stale:
        k.call(api, "replace", name, ns, current)  # current carries the old resourceVersion
    assert stale.value.status == 409 and stale.value.reason == "Conflict"

    with pytest.raises(ApiException) as dup:
        k.call(api, "create", ns, k.body(name))
    assert dup.value.status == 409
    assert json.loads(dup.value.body)["reason"] == "AlreadyExists"

    # Background: batch/v1 Jobs default to orphaning, which waits for the garbage collector
    k.call(api, "delete", name, ns, propagation_policy="Background")
    with pytest.raises(ApiException) as missing:
        k.call(api, "read", name, ns)
    assert missing.value.status == 404
    assert k.call(api, "list", ns).items == []


def test_stale_update_is_a_conflict(core, ns):
    core.create_namespaced_config_map(ns, client.V1ConfigMap(metadata=meta("x"), data={"k": "1"}))
    old = core.read_namespaced_config_map("x", ns)
    fresh = core.read_namespaced_config_map("x", ns)
    fresh.data["k"] = "2"
    core.replace_namespaced_config_map("x", ns, fresh)
    old.data["k"] = "from-old"
    with pytest.raises(ApiException) as err:
        core.replace_namespaced_config_map("x", ns, old)
    assert err.value.status == 409 and err.value.reason == "Conflict"
    status = json.loads(err.value.body)
    assert status["kind"] == "Status" and status["status"] == "Failure"
    assert status["reason"] == "Conflict" and status["code"] == 409
    assert status["message"] == f'Operation cannot be fulfilled on configmaps "x": {STALE}'
    assert status["details"] == {"name": "x", "kind": "configmaps"}
    assert core.read_namespaced_config_map("x", ns).data == {"k": "2"}

    # a patch carrying a stale resourceVersion precondition conflicts too
    with pytest.raises(ApiException) as err:
        core.patch_namespaced_config_map("x", ns, {"metadata": {
            "resourceVersion": old.metadata.resource_version}, "data": {"k": "3"}})
    assert err.value.status == 409


def test_errors_are_statuses(core, ns):
    with pytest.raises(ApiException) as err:
        core.read_namespaced_config_map("nope", ns)
    body = json.loads(err.value.body)
    assert err.value.status == 404 and body["reason"] == "NotFound"
    assert body["message"] == 'configmaps "nope" not found'
    assert body["details"] == {"name": "nope", "kind": "configmaps"}

    with pytest.raises(ApiException) as err:
        core.create_namespaced_config_map(ns, client.V1ConfigMap(metadata=meta("Bad_Name")))
    body = json.loads(err.value.body)
    assert err.value.status == 422 and body["reason"] == "Invalid"
    assert body["details"]["kind"] == "ConfigMap" and body["details"]["name"] == "Bad_Name"
    assert body["details"]["causes"][0]["field"] == "metadata.name"
    assert body["details"]["causes"][0]["reason"] == "FieldValueInvalid"

    with pytest.raises(ApiException) as err:
        core.create_namespaced_config_map("no-such-ns-here", client.V1ConfigMap(metadata=meta("a")))
    body = json.loads(err.value.body)
    assert err.value.status == 404 and body["message"] == 'namespaces "no-such-ns-here" not found'


def test_list_pagination_is_one_snapshot(core, ns):
    names = [f"cm-{i:02d}" for i in range(25)]
    for n in names:
        core.create_namespaced_config_map(ns, client.V1ConfigMap(metadata=meta(n, labels={"p": "1"})))

    seen, pages, token = [], [], None
    while True:
        page = core.list_namespaced_config_map(ns, limit=10, _continue=token)
        pages.append(page)
        seen += [o.metadata.name for o in page.items]
        token = page.metadata._continue
        if len(pages) == 1:  # changes after the first page are not in this listing
            core.create_namespaced_config_map(ns, client.V1ConfigMap(metadata=meta("cm-99")))
            core.delete_namespaced_config_map("cm-24", ns)
        if not token:
            break
        assert len(pages) < 5, "pagination does not end"
    assert [len(p.items) for p in pages] == [10, 10, 5]
    assert seen == names, "every object exactly once, in name order, from the first snapshot"
    assert len({p.metadata.resource_version for p in pages}) == 1, \
        [p.metadata.resource_version for p in pages]
    assert [p.metadata.remaining_item_count for p in pages] == [15, 5, None]

    after = [o.metadata.name for o in core.list_namespaced_config_map(ns).items]
    assert "cm-99" in after and "cm-24" not in after

    # a label-selected walk is paginated as well (no remainingItemCount then)
    page = core.list_namespaced_config_map(ns, limit=7, label_selector="p=1")
    assert len(page.items) == 7 and page.metadata._continue
    assert page.metadata.remaining_item_count is None

    everywhere = core.list_config_map_for_all_namespaces(label_selector="p=1", limit=30)
    assert sorted(o.metadata.name for o in everywhere.items) == names[:24]


def test_bad_continue_token(core, ns):
    with pytest.raises(ApiException) as err:
        core.list_namespaced_config_map(ns, limit=1, _continue="not-a-token")
    assert err.value.status == 400


def _collect(w: watch.Watch, core, ns, rv: str, count: int, timeout: int = 10) -> list[tuple]:
    events = []
    for ev in w.stream(core.list_namespaced_config_map, ns, resource_version=rv,
                       timeout_seconds=timeout):
        obj = ev["object"]
        events.append((ev["type"], obj.metadata.name, int(obj.metadata.resource_version),
                       dict(obj.data or {})))
        if len(events) == count:
            w.stop()  # closes the connection: the watcher disconnects
    return events


def test_watch_resumes_without_loss_or_duplicates(core, ns):
    rv0 = core.list_namespaced_config_map(ns).metadata.resource_version
    cm = lambda n, v: client.V1ConfigMap(metadata=meta(n), data={"v": v})  # noqa: E731
    core.create_namespaced_config_map(ns, cm("a1", "1"))
    core.create_namespaced_config_map(ns, cm("a2", "1"))

    w = watch.Watch()
    first = _collect(w, core, ns, rv0, 2)
    assert [(t, n) for t, n, _, _ in first] == [("ADDED", "a1"), ("ADDED", "a2")]
    last_rv = w.resource_version
    assert int(last_rv) == first[-1][2]

    # changes while no one watches
    core.patch_namespaced_config_map("a1", ns, {"data": {"v": "2"}})
    core.delete_namespaced_config_map("a2", ns)
    core.create_namespaced_config_map(ns, cm("a3", "1"))
    core.patch_namespaced_config_map("a1", ns, {"data": {"v": "3"}})

    second = _collect(watch.Watch(), core, ns, last_rv, 4)
    assert [(t, n, d) for t, n, _, d in second] == [
        ("MODIFIED", "a1", {"v": "2"}), ("DELETED", "a2", {"v": "1"}),
        ("ADDED", "a3", {"v": "1"}), ("MODIFIED", "a1", {"v": "3"})]
    revisions = [r for _, _, r, _ in first + second]
    assert revisions == sorted(revisions) and len(set(revisions)) == len(revisions)

    # resuming from the very last event sees only what comes after it
    w3 = watch.Watch()
    tail_rv = str(second[-1][2])
    core.create_namespaced_config_map(ns, cm("a4", "1"))
    third = _collect(w3, core, ns, tail_rv, 1)
    assert [(t, n) for t, n, _, _ in third] == [("ADDED", "a4")]


def test_watch_without_resource_version_starts_with_current_state(core, ns):
    for n in ("s1", "s2"):
        core.create_namespaced_config_map(ns, client.V1ConfigMap(metadata=meta(n)))
    w = watch.Watch()
    events = []
    for ev in w.stream(core.list_namespaced_config_map, ns, timeout_seconds=10):
        events.append((ev["type"], ev["object"].metadata.name))
        if len(events) == 2:
            core.create_namespaced_config_map(ns, client.V1ConfigMap(metadata=meta("s3")))
        if len(events) == 3:
            w.stop()
    assert events == [("ADDED", "s1"), ("ADDED", "s2"), ("ADDED", "s3")]


def test_watch_from_resource_version_1_replays_history(core, ns):
    core.create_namespaced_config_map(ns, client.V1ConfigMap(metadata=meta("h1"), data={"v": "1"}))
    core.patch_namespaced_config_map("h1", ns, {"data": {"v": "2"}})
    events = _collect(watch.Watch(), core, ns, "1", 2)
    assert [(t, n, d) for t, n, _, d in events] == [("ADDED", "h1", {"v": "1"}),
                                                     ("MODIFIED", "h1", {"v": "2"})]


def test_watch_with_selectors(core, ns):
    rv = core.list_namespaced_config_map(ns).metadata.resource_version
    core.create_namespaced_config_map(ns, client.V1ConfigMap(metadata=meta("f1")))
    core.create_namespaced_config_map(ns, client.V1ConfigMap(metadata=meta("f2")))
    core.patch_namespaced_config_map("f2", ns, {"metadata": {"labels": {"sel": "yes"}}})
    core.patch_namespaced_config_map("f2", ns, {"metadata": {"labels": {"sel": "no"}}})
    w = watch.Watch()
    events = []
    for ev in w.stream(core.list_namespaced_config_map, ns, resource_version=rv,
                       label_selector="sel=yes", timeout_seconds=10):
        events.append((ev["type"], ev["object"].metadata.name))
        if len(events) == 2:
            w.stop()
    assert events == [("ADDED", "f2"), ("DELETED", "f2")]

    w = watch.Watch()
    for ev in w.stream(core.list_namespaced_config_map, ns, resource_version=rv,
                       field_selector="metadata.name=f1", timeout_seconds=10):
        assert (ev["type"], ev["object"].metadata.name) == ("ADDED", "f1")
        w.stop()


def test_delete_collection_and_all_namespaces_list(core, ns):
    for i in range(4):
        core.create_namespaced_config_map(ns, client.V1ConfigMap(
            metadata=meta(f"d{i}", labels={"drop": "yes" if i % 2 else "no"})))
    core.delete_collection_namespaced_config_map(ns, label_selector="drop=yes")
    assert [o.metadata.name for o in core.list_namespaced_config_map(ns).items] == ["d0", "d2"]
    everywhere = core.list_config_map_for_all_namespaces(field_selector=f"metadata.namespace={ns}")
    assert [o.metadata.name for o in everywhere.items] == ["d0", "d2"]
    svc = core.list_service_for_all_namespaces(field_selector="metadata.name=kubernetes")
    assert [(s.metadata.namespace, s.spec.cluster_ip) for s in svc.items] == [
        ("default", "10.96.0.1")]
