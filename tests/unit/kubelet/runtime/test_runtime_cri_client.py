"""CRIRuntime against an in-process CRI server on a unix socket: errors, pulls, listing."""

from __future__ import annotations

import grpc
import pytest
from cri_api.v1 import api_pb2 as pb
from cri_api.v1 import api_pb2_grpc as pb_grpc

from pyk8s.kubelet.runtime import PodSandboxConfig, RuntimeError_
from pyk8s.kubelet.runtime.cri import CRIRuntime, grpc_target, is_loopback_registry

BUSYBOX = "docker.io/library/busybox:latest"


class Images(pb_grpc.ImageServiceServicer):
    def __init__(self) -> None:
        self.local = {BUSYBOX: "sha256:bb"}
        self.pulled: list[str] = []

    async def ImageStatus(self, request, context):
        name = request.image.image
        name = BUSYBOX if name == "busybox" else name
        if name in self.local:
            return pb.ImageStatusResponse(image=pb.Image(id=self.local[name], repo_tags=[name]))
        return pb.ImageStatusResponse()

    async def PullImage(self, request, context):
        self.pulled.append(request.image.image)
        if request.image.image.endswith(":missing"):
            await context.abort(grpc.StatusCode.NOT_FOUND, "manifest unknown")
        return pb.PullImageResponse(image_ref="sha256:pulled")


class Runtime(pb_grpc.RuntimeServiceServicer):
    async def Version(self, request, context):
        return pb.VersionResponse(version="0.1.0", runtime_name="test",
                                  runtime_version="9.9", runtime_api_version="v1")

    async def ListContainers(self, request, context):
        items = [pb.Container(id="c1", pod_sandbox_id="s1"),
                 pb.Container(id="gone", pod_sandbox_id="s1")]
        if request.filter.id:
            items = [c for c in items if c.id == request.filter.id]
        return pb.ListContainersResponse(containers=items)

    async def ContainerStatus(self, request, context):
        if request.container_id != "c1":
            await context.abort(grpc.StatusCode.NOT_FOUND, f"{request.container_id} not found")
        return pb.ContainerStatusResponse(status=pb.ContainerStatus(
            id="c1", metadata=pb.ContainerMetadata(name="app"), state=pb.CONTAINER_RUNNING))

    async def RunPodSandbox(self, request, context):
        await context.abort(grpc.StatusCode.UNKNOWN, "failed to setup network for sandbox")


@pytest.fixture
async def server(tmp_path):
    images = Images()
    srv = grpc.aio.server()
    pb_grpc.add_ImageServiceServicer_to_server(images, srv)
    pb_grpc.add_RuntimeServiceServicer_to_server(Runtime(), srv)
    sock = tmp_path / "cri.sock"
    srv.add_insecure_port(f"unix://{sock}")
    await srv.start()
    rt = CRIRuntime(f"unix://{sock}", timeout=5)
    yield rt, images
    await rt.close()
    await srv.stop(None)


async def test_version(server):
    rt, _ = server
    assert await rt.version() == ("test", "9.9")


async def test_pull_present_image_does_not_pull(server):
    rt, images = server
    assert await rt.pull_image("busybox") == "sha256:bb"
    assert images.pulled == []


async def test_pull_from_unreachable_registry_fails_fast_without_pulling(server):
    rt, images = server
    with pytest.raises(RuntimeError_, match="no registry is reachable") as err:
        await rt.pull_image("nginx:1.27")
    assert err.value.code == "NotFound"
    assert "docker.io/library/nginx:1.27" in str(err.value)
    assert images.pulled == []


async def test_pull_from_loopback_registry(server):
    rt, images = server
    assert await rt.pull_image("localhost:5000/app:v1") == "sha256:pulled"
    with pytest.raises(RuntimeError_, match="^rpc error: code = NotFound desc = manifest unknown$") as err:
        await rt.pull_image("127.0.0.1:5000/app:missing")
    assert err.value.code == "NotFound"
    assert images.pulled == ["localhost:5000/app:v1", "127.0.0.1:5000/app:missing"]


async def test_errors_carry_go_code_names(server):
    rt, _ = server
    with pytest.raises(RuntimeError_) as err:
        await rt.container_status("nope")
    assert err.value.code == "NotFound"
    assert "code = NotFound desc = nope not found" in str(err.value)
    with pytest.raises(RuntimeError_, match="failed to setup network") as err:
        await rt.run_pod_sandbox(PodSandboxConfig(name="p", namespace="n", uid="u"))
    assert err.value.code == "Unknown"
    with pytest.raises(RuntimeError_) as err:
        await rt.stop_pod_sandbox("s1")  # not implemented by this server
    assert err.value.code == "Unimplemented"


async def test_list_containers_gives_full_statuses_and_skips_vanished(server):
    rt, _ = server
    listed = await rt.list_containers()
    assert [(c.id, c.name, c.state, c.sandbox_id) for c in listed] == \
        [("c1", "app", "CONTAINER_RUNNING", "s1")]
    assert (await rt.container_status("c1")).sandbox_id == "s1"


async def test_unreachable_runtime_is_unavailable(tmp_path):
    rt = CRIRuntime(str(tmp_path / "none.sock"), timeout=1)
    with pytest.raises(RuntimeError_) as err:
        await rt.version()
    assert err.value.code in ("Unavailable", "DeadlineExceeded")
    await rt.close()


@pytest.mark.parametrize("endpoint,target", [("unix:///run/c.sock", "unix:///run/c.sock"),
                                             ("/run/c.sock", "unix:///run/c.sock")])
def test_grpc_target(endpoint, target):
    assert grpc_target(endpoint) == target


def test_grpc_target_rejects_tcp():
    with pytest.raises(ValueError):
        grpc_target("tcp://1.2.3.4:1")


@pytest.mark.parametrize("image,loopback", [
    ("localhost:5000/app", True), ("localhost/app", True), ("127.0.0.1:5000/a/b:1", True),
    ("[::1]:5000/app", True), ("busybox", False), ("registry.k8s.io/pause:3.10", False),
    ("localhostx.io/app", False), ("quay.io/x", False),
])
def test_is_loopback_registry(image, loopback):
    assert is_loopback_registry(image) is loopback
