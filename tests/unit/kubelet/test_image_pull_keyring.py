"""Pull-secret keyring matching (upstream's credentialprovider cases) and the image
manager's policies, back-off and events over the fake runtime."""

from __future__ import annotations

import base64
import json

import pytest

from pyk8s.client import NotFound
from pyk8s.kubelet.actions import RestartBackoff
from pyk8s.kubelet.imagemanager import ImageManager, go_duration, pull_policy
from pyk8s.kubelet.keyring import Keyring, KeyringError, repository, urls_match
from pyk8s.kubelet.runtime import AuthConfig
from pyk8s.kubelet.runtime.fake import FakeRuntime


def secret(name: str, auths: dict, *, cfg: bool = False) -> dict:
    if cfg:
        data = {".dockercfg": base64.b64encode(json.dumps(auths).encode()).decode()}
        return {"metadata": {"name": name}, "type": "kubernetes.io/dockercfg", "data": data}
    data = {".dockerconfigjson": base64.b64encode(json.dumps({"auths": auths}).encode()).decode()}
    return {"metadata": {"name": name}, "type": "kubernetes.io/dockerconfigjson", "data": data}


@pytest.mark.parametrize("glob,target,match", [
    ("*.kubernetes.io", "prefix.kubernetes.io", True),
    ("*.kubernetes.io", "kubernetes.io", False),
    ("*.*.kubernetes.io", "prefix.prefix.kubernetes.io", True),
    ("prefix.*.io", "prefix.kubernetes.io", True),
    ("*-good.kubernetes.io", "prefix-good.kubernetes.io", True),
    ("*-good.kubernetes.io", "prefix-bad.kubernetes.io", False),
    ("kubernetes.io:1111", "kubernetes.io:1111", True),
    ("kubernetes.io:1111", "kubernetes.io:2222", False),
    ("kubernetes.io", "kubernetes.io:1111", False),
    ("kubernetes.io/foo", "kubernetes.io/foo/bar", True),
    ("kubernetes.io/foo", "kubernetes.io/bar", False),
    ("127.0.0.1:5000", "127.0.0.1:5000/private/app", True),
])
def test_urls_match(glob, target, match):
    assert urls_match(glob, target) is match


def test_keyring_lookup_order_auth_field_and_docker_hub():
    ring = Keyring([
        secret("a", {"https://quay.io/v2/": {"auth": base64.b64encode(b"u1:p:1").decode()},
                     "quay.io/team": {"username": "u2", "password": "p2"}}),
        secret("b", {"https://index.docker.io/v1/": {"username": "hub", "password": "h"}},
               cfg=True),
        {"metadata": {"name": "opaque"}, "type": "Opaque", "data": {"x": "eA=="}},
    ])
    assert ring.lookup("quay.io/team/app:1") == [AuthConfig("u2", "p2"), AuthConfig("u1", "p:1")]
    assert ring.lookup("quay.io/other/app") == [AuthConfig("u1", "p:1")]
    assert ring.lookup("busybox") == [AuthConfig("hub", "h")]
    assert ring.lookup("docker.io/library/busybox@sha256:" + "0" * 64) == [AuthConfig("hub", "h")]
    assert ring.lookup("localhost/app") == []
    assert ring.lookup("gcr.io/app") == []


def test_keyring_rejects_bad_auth():
    with pytest.raises(KeyringError, match="concatenated with a colon"):
        Keyring([secret("a", {"r.io": {"auth": base64.b64encode(b"nocolon").decode()}})])


def test_repository_and_policy_and_duration():
    assert repository("busybox") == "docker.io/library/busybox"
    assert repository("127.0.0.1:5000/a/b:1") == "127.0.0.1:5000/a/b"
    assert repository("r.io/a@sha256:" + "1" * 64) == "r.io/a"
    assert pull_policy({"image": "busybox"}) == "Always"
    assert pull_policy({"image": "busybox:latest"}) == "Always"
    assert pull_policy({"image": "localhost:5000/busybox"}) == "Always"
    assert pull_policy({"image": "busybox:1.36"}) == "IfNotPresent"
    assert pull_policy({"image": "busybox:1.36", "imagePullPolicy": "Never"}) == "Never"
    assert [go_duration(s) for s in (0.0004, 0.523, 1.2345, 123.5, 3723.0)] == \
        ["0s", "523ms", "1.234s", "2m3.5s", "1h2m3s"]


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, str, str]] = []

    def event(self, regarding, *, type="Normal", reason, action, note="", related=None):
        self.events.append((type, reason, note))


class Secrets:
    def __init__(self, items: dict[str, dict]) -> None:
        self.items = items

    async def get(self, name, namespace):
        if name not in self.items:
            raise NotFound({"code": 404, "message": f'secrets "{name}" not found'})
        return self.items[name]


def manager(runtime, secrets: dict[str, dict]) -> tuple[ImageManager, Recorder]:
    recorder = Recorder()
    return ImageManager(Secrets(secrets), runtime, recorder, RestartBackoff()), recorder


POD = {"metadata": {"name": "p", "namespace": "ns", "uid": "u1"},
       "spec": {"imagePullSecrets": [{"name": "gone"}, {"name": "creds"}]}}


async def test_pull_with_secret_backoff_and_never():
    rt = FakeRuntime(registry=["r.io/app:1"])
    rt.private["r.io/app:1"] = AuthConfig("me", "pw")
    images, recorder = manager(rt, {"creds": secret("creds", {"r.io": {"username": "me",
                                                                        "password": "pw"}})})
    app = {"name": "c", "image": "r.io/app:1"}
    assert await images.ensure(POD, app) is None
    assert ("pull_image", "r.io/app:1", AuthConfig("me", "pw")) in rt.calls
    assert recorder.events[0] == ("Normal", "Pulling", 'Pulling image "r.io/app:1"')
    assert recorder.events[1][1] == "FailedToRetrieveImagePullSecret"
    assert recorder.events[2][1] == "Pulled" and "Image size: 1000000 bytes." in recorder.events[2][2]

    bare = {"metadata": {"name": "q", "namespace": "ns", "uid": "u2"}, "spec": {}}
    again = {**app, "imagePullPolicy": "Always"}
    reason, message = await images.ensure(bare, again)
    assert reason == "ErrImagePull" and message.endswith("401 Unauthorized")
    assert await images.ensure(bare, again) == ("ImagePullBackOff",
                                                'Back-off pulling image "r.io/app:1"')
    assert await images.ensure(bare, {**app, "imagePullPolicy": "IfNotPresent"}) is None
    assert await images.ensure(bare, {"name": "c", "image": "r.io/x:2",
                                      "imagePullPolicy": "Never"}) == (
        "ErrImageNeverPull", 'Container image "r.io/x:2" is not present with pull policy of Never')
    assert ("Warning", "Failed", "Error: ErrImageNeverPull") == recorder.events[-1]
