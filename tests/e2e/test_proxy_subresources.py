"""pods/proxy, services/proxy and nodes/proxy with the real kubectl (``get --raw``).

The backends are HTTP servers on loopback, standing in for a pod (its status says
podIP 127.0.0.1), a service's endpoints (an EndpointSlice to 127.0.0.1) and a node's
kubelet (InternalIP 127.0.0.1, its port in ``daemonEndpoints``: plain HTTP here, asked
for with the ``http:`` scheme in the name).
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from kubectl_cli import kubectl, ns  # noqa: F401 - fixtures

pytestmark = pytest.mark.e2e


class _Echo(BaseHTTPRequestHandler):
    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = json.dumps({"method": self.command, "path": self.path,
                           "body": self.rfile.read(length).decode(),
                           "authorization": self.headers.get("Authorization"),
                           "server": self.server.server_address[1]}).encode()
        self.send_response(201 if self.command == "POST" else 200)
        self.send_header("Content-Type", "application/json")
        self.send_header("X-Backend", "echo")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_DELETE = _answer

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def backend():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()


def _apply(kubectl, ns: str, *objects: dict) -> None:
    kubectl("apply", "-n", ns, "-f", "-", input=json.dumps(
        {"apiVersion": "v1", "kind": "List", "items": list(objects)}))


def _raw(kubectl, path: str) -> dict:
    return json.loads(kubectl("get", "--raw", path).stdout)


def test_pod_proxy(kubectl, ns, backend):
    _apply(kubectl, ns, {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web"},
                     "spec": {"containers": [{"name": "c", "image": "busybox"}]}})
    kubectl("patch", "pod", "web", "-n", ns, "--subresource=status", "--type=merge", "-p",
            json.dumps({"status": {"podIP": "127.0.0.1", "podIPs": [{"ip": "127.0.0.1"}]}}))
    got = _raw(kubectl, f"/api/v1/namespaces/{ns}/pods/web:{backend}/proxy/a/b/?x=1&y=%2F")
    assert got == {"method": "GET", "path": "/a/b/?x=1&y=%2F", "body": "",
                   "authorization": None, "server": backend}  # the client's token stays here
    got = _raw(kubectl, f"/api/v1/namespaces/{ns}/pods/http:web:{backend}/proxy/")
    assert got["path"] == "/"
    posted = kubectl("create", "--raw", f"/api/v1/namespaces/{ns}/pods/web:{backend}/proxy/in",
                     "-f", "-", input='{"hello": 1}')
    assert json.loads(posted.stdout)["body"] == '{"hello": 1}'
    missing = kubectl.fails("get", "--raw", f"/api/v1/namespaces/{ns}/pods/nope:80/proxy/")
    assert 'pods "nope" not found' in missing.stderr
    refused = kubectl.fails("get", "--raw", f"/api/v1/namespaces/{ns}/pods/web:1/proxy/")
    assert "ServiceUnavailable" in refused.stderr or "503" in refused.stderr, refused


def test_service_proxy(kubectl, ns, backend):
    _apply(kubectl, ns,
           {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "api"},
            "spec": {"ports": [{"name": "http", "port": 80, "targetPort": backend}]}},
           {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "empty"},
            "spec": {"ports": [{"port": 80}]}},
           {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"name": "api-1", "labels": {"kubernetes.io/service-name": "api"}},
            "addressType": "IPv4", "ports": [{"name": "http", "port": backend}],
            "endpoints": [{"addresses": ["127.0.0.1"], "conditions": {"ready": True}}]})
    for name in ("api", "api:http", "api:80", "http:api:80"):
        got = _raw(kubectl, f"/api/v1/namespaces/{ns}/services/{name}/proxy/status")
        assert (got["path"], got["server"]) == ("/status", backend), name
    empty = kubectl.fails("get", "--raw", f"/api/v1/namespaces/{ns}/services/empty/proxy/")
    assert 'no endpoints available for service \\"empty\\"' in empty.stderr or \
        'no endpoints available for service "empty"' in empty.stderr, empty


def test_node_proxy(kubectl, backend):
    name = f"proxied-{backend}"
    kubectl("create", "-f", "-", input=json.dumps(
        {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name}}))
    kubectl("patch", "node", name, "--subresource=status", "--type=merge", "-p", json.dumps(
        {"status": {"addresses": [{"type": "InternalIP", "address": "127.0.0.1"}],
                    "daemonEndpoints": {"kubeletEndpoint": {"Port": backend}}}}))
    try:
        got = _raw(kubectl, f"/api/v1/nodes/http:{name}:/proxy/healthz")  # the kubelet port
        assert (got["path"], got["server"]) == ("/healthz", backend)
        got = _raw(kubectl, f"/api/v1/nodes/http:{name}:{backend}/proxy/metrics")
        assert got["path"] == "/metrics"
    finally:
        kubectl("delete", "node", name)


def test_proxy_in_discovery(kubectl):
    resources = {r["name"]: r for r in _raw(kubectl, "/api/v1")["resources"]}
    assert resources["pods/proxy"]["kind"] == "PodProxyOptions"
    assert resources["services/proxy"]["kind"] == "ServiceProxyOptions"
    assert resources["nodes/proxy"]["kind"] == "NodeProxyOptions"
