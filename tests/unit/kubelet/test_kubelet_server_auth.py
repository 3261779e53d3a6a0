"""The kubelet server's door: client certificates from the CA only, then authorization."""

from __future__ import annotations

import socket
import ssl

import aiohttp
import pytest

from pyk8s import pki
from pyk8s.kubelet.containers import CONTAINER_NAME, POD_UID
from pyk8s.kubelet.runtime import ContainerConfig, PodSandboxConfig
from pyk8s.kubelet.runtime.fake import FakeRuntime
from pyk8s.kubelet.server import KubeletServer, ServerTLS, log_container_id


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
async def served(tmp_path):
    ca = pki.ensure_ca(tmp_path / "ca")
    serving = pki.ensure_self_signed(pki.KeyPair(tmp_path / "k.crt", tmp_path / "k.key"),
                                     common_name="node", ip_addresses=("127.0.0.1",))
    asked = []

    async def authorize(user, groups, verb):
        asked.append((user, groups, verb))
        return None if "system:masters" in groups else "no"

    server = KubeletServer(FakeRuntime(), lambda ns, name: None, authorize=authorize)
    port = _port()
    await server.start("127.0.0.1", port, ServerTLS(str(serving.cert_path),
                                                    str(serving.key_path), str(ca.cert_path)))
    yield ca, tmp_path, port, asked
    await server.stop()


async def _get(port, cert: pki.KeyPair | None, path="/healthz"):
    ctx = ssl.create_default_context()
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    if cert is not None:
        ctx.load_cert_chain(cert.cert_path, cert.key_path)
    async with aiohttp.ClientSession() as http, \
            http.get(f"https://127.0.0.1:{port}{path}", ssl=ctx) as resp:
        return resp.status, await resp.text()


async def test_no_certificate_is_unauthorized(served):
    _ca, _tmp, port, asked = served
    assert await _get(port, None) == (401, "Unauthorized")
    assert asked == []


async def test_ca_clients_are_authorized_per_request(served):
    ca, tmp, port, asked = served
    client = pki.ensure_kubelet_client_cert(ca, tmp / "pki")
    assert await _get(port, client) == (200, "ok")
    assert asked == [("kube-apiserver-kubelet-client", ("system:masters",), "get")]
    other = pki.issue(ca, pki.KeyPair(tmp / "o.crt", tmp / "o.key"), common_name="mallory")
    status, text = await _get(port, other, "/containerLogs/ns/p/c")
    assert status == 403 and "user=mallory" in text and "subresource(s)=[proxy]" in text


async def test_missing_pod_is_404(served):
    ca, tmp, port, _asked = served
    client = pki.ensure_kubelet_client_cert(ca, tmp / "pki")
    assert await _get(port, client, "/containerLogs/ns/p/c") == (404, 'pod "p" does not exist\n')


def _pod(state, last=None):
    status = {"name": "c", "state": state, "containerID": "fake://cur"}
    if last:
        status["lastState"] = last
    return {"metadata": {"name": "p"}, "status": {"containerStatuses": [status]}}


@pytest.mark.parametrize("pod, previous, expected", [
    (_pod({"running": {}}), False, "cur"),
    (_pod({"running": {}}, {"terminated": {"containerID": "fake://old"}}), True, "old"),
    (_pod({"running": {}}), True,
     'previous terminated container "c" in pod "p" not found'),
    (_pod({"waiting": {"reason": "ContainerCreating"}}), False,
     'container "c" in pod "p" is waiting to start: ContainerCreating'),
    (_pod({"waiting": {"reason": "ErrImagePull"}}), False,
     'container "c" in pod "p" is waiting to start: image can\'t be pulled'),
    (_pod({"waiting": {"reason": "CrashLoopBackOff"}},
          {"terminated": {"containerID": "fake://old"}}), False, "old"),
    ({"metadata": {"name": "p"}, "status": {}}, False,
     'container "c" in pod "p" is not available'),
])
def test_log_container_id(pod, previous, expected):
    try:
        assert log_container_id(pod, "c", previous) == expected
    except LookupError as err:
        assert str(err) == expected


async def test_streams_find_a_container_the_pod_status_does_not_show_yet():
    # the status the kubelet just wrote may not be back through its watch when a client
    # that saw it (kubectl debug, attaching to a new ephemeral container) connects
    runtime = FakeRuntime()
    sandbox = PodSandboxConfig(name="p", uid="u1", namespace="ns")
    sandbox_id = await runtime.run_pod_sandbox(sandbox)
    cid = await runtime.create_container(sandbox_id, ContainerConfig(
        name="dbg", image="busybox", labels={POD_UID: "u1", CONTAINER_NAME: "dbg"}), sandbox)
    await runtime.start_container(cid)
    pod = {"metadata": {"name": "p", "namespace": "ns", "uid": "u1"},
           "status": {"containerStatuses": []}}
    server = KubeletServer(runtime, lambda ns, name: pod, authorize=None)
    assert await server._running_container(pod, "dbg") == cid
    assert await server._running_container(pod, "other") is None
