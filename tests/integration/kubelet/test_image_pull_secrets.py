"""imagePullSecrets, pull policies and pull failures on a real kubelet and containerd.

Debian's docker-registry serves on loopback with htpasswd basic auth (a bcrypt hash made
with libcrypt), filled by skopeo with the offline busybox image as ``private/busybox:1``.
The kubelet runs in-process with ``system:node`` credentials and a containerd of its own;
it adds no routes (no service or cluster CIDR) and the Node never gets a podCIDR, so the
pods here are hostNetwork pods: nothing touches the host's network, and the only traffic
is containerd's pulls from the registry on 127.0.0.1.

One pod per case, all created at once: without a secret the pull fails (``ErrImagePull``,
then ``ImagePullBackOff``); with a ``dockercfg`` secret whose more specific key has a wrong
password plus a ``dockerconfigjson`` secret with the right one (and a secret that does not
exist) it runs; once the image is present, ``IfNotPresent`` runs without credentials while
``Always`` still needs them; ``Never`` with an absent image is ``ErrImageNeverPull``.
"""

from __future__ import annotations

import asyncio
import base64
import json
import secrets as tokens
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
import warnings
from pathlib import Path

import pytest
from kubeletkit import node_kubeconfig
from polling import eventually
from nodehost import cleanup_runtime
from serverproc import free_port

from pyk8s.client import NotFound, load_kubeconfig
from pyk8s.kubelet.main import KubeletOptions, run_with_runtime
from pyk8s.kubelet.ownruntime import containerd_options
from pyk8s.kubelet.runtime.cri import CRIRuntime
from pyk8s.kubelet.runtime.images import _fill_busybox, build_tarball, busybox_spec, run

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import crypt

USER, PASSWORD = "puller", "s3cret-pw"


def _htpasswd(path: Path) -> None:
    digest = crypt.crypt(PASSWORD, crypt.mksalt(crypt.METHOD_BLOWFISH))
    assert digest.startswith("$2b$"), "libcrypt without bcrypt"
    path.write_text(f"{USER}:{digest}\n")


def _status(url: str, auth: str | None = None) -> int:
    request = urllib.request.Request(url)
    if auth:
        request.add_header("Authorization", "Basic " + base64.b64encode(auth.encode()).decode())
    try:
        with urllib.request.urlopen(request, timeout=1) as resp:
            return resp.status
    except urllib.error.HTTPError as err:
        return err.code


@pytest.fixture(scope="module")
def private_registry(tmp_path_factory):
    """docker-registry with basic auth on a free loopback port; yields its host:port."""
    work = tmp_path_factory.mktemp("private-registry")
    port = free_port()
    _htpasswd(work / "htpasswd")
    config = work / "config.yml"
    config.write_text(f"version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: {work}/data\n"
                      f"http:\n  addr: 127.0.0.1:{port}\n"
                      f"auth:\n  htpasswd:\n    realm: pyk8s-test\n"
                      f"    path: {work}/htpasswd\n")
    with open(work / "registry.log", "wb") as out:
        proc = subprocess.Popen(["docker-registry", "serve", str(config)], stdout=out,
                                stderr=out, stdin=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                status = _status(f"http://127.0.0.1:{port}/v2/")
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError((work / "registry.log").read_text()) from None
                time.sleep(0.1)
        assert status == 401
        assert _status(f"http://127.0.0.1:{port}/v2/", f"{USER}:{PASSWORD}") == 200
        yield f"127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture
async def kubelet(apiserver, admin, image_cache):
    """The kubelet with its own containerd, adding no routes; yields (options, CRI client)."""
    suffix = tokens.token_hex(3)
    root = Path(tempfile.mkdtemp(prefix="pyk8s-ps-", dir="/tmp"))
    opts = KubeletOptions(node_name=f"kl-pull-{suffix}", root_dir=str(root),
                          node_ip="127.0.0.1", image_cache_dir=str(image_cache),
                          kill_pods_on_exit=True, cni_bridge=f"pyk8sp{suffix}",
                          cni_network=f"pyk8s-pull-{suffix}", cluster_cidr="", service_cidr="",
                          node_status_update_frequency=2.0, lease_renew_interval=2.0,
                          pod_resync=2.0)
    config = load_kubeconfig(node_kubeconfig(apiserver, opts.node_name, root),
                             component="kubelet")
    stop, ready = asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(run_with_runtime(opts, config, stop, ready=ready))
    socket = containerd_options(root).socket
    runtime = CRIRuntime(f"unix://{socket}", timeout=30)
    try:
        await asyncio.wait_for(asyncio.shield(ready.wait()), 90)
        yield opts, runtime
    finally:
        stop.set()
        await runtime.close()
        await asyncio.wait_for(task, 60)
        try:
            await admin.api("v1", "Node").delete(opts.node_name)
        except NotFound:
            pass
        await asyncio.to_thread(cleanup_runtime, root, str(socket))


def _docker_secret(name: str, secret_type: str, key: str, config: dict) -> dict:
    payload = base64.b64encode(json.dumps(config).encode()).decode()
    return {"metadata": {"name": name}, "type": secret_type, "data": {key: payload}}


def _auth(user: str, password: str) -> str:
    return base64.b64encode(f"{user}:{password}".encode()).decode()


def _pod(name: str, node: str, image: str, *, policy: str | None = None,
         secrets: tuple[str, ...] = ()) -> dict:
    container = {"name": "main", "image": image, "command": ["sleep", "3600"]}
    if policy:
        container["imagePullPolicy"] = policy
    spec = {"nodeName": node, "hostNetwork": True, "terminationGracePeriodSeconds": 0,
            "containers": [container]}
    if secrets:
        spec["imagePullSecrets"] = [{"name": s} for s in secrets]
    return {"metadata": {"name": name}, "spec": spec}


def _waiting(pod: dict) -> dict:
    statuses = (pod.get("status") or {}).get("containerStatuses") or [{}]
    return (statuses[0].get("state") or {}).get("waiting") or {}


def _running(pod: dict) -> bool:
    statuses = (pod.get("status") or {}).get("containerStatuses") or [{}]
    return pod.get("status", {}).get("phase") == "Running" and \
        "running" in (statuses[0].get("state") or {})


async def test_image_pull_secrets_and_policies(kubelet, admin, namespace, private_registry,
                                               image_cache):
    opts, runtime = kubelet
    node = opts.node_name
    pods, secrets = admin.api("v1", "Pod"), admin.api("v1", "Secret")
    tarball = await build_tarball(busybox_spec(), _fill_busybox, image_cache)
    image = f"{private_registry}/private/busybox:1"
    await run("skopeo", "copy", "--dest-tls-verify=false",
              f"--dest-creds={USER}:{PASSWORD}", f"oci-archive:{tarball}:latest",
              f"docker://{image}")
    assert await runtime.image_status(image) is None

    await secrets.create(_docker_secret(
        "regcred", "kubernetes.io/dockerconfigjson", ".dockerconfigjson",
        {"auths": {f"http://{private_registry}/v2/": {"auth": _auth(USER, PASSWORD)}}}),
        namespace=namespace)
    await secrets.create(_docker_secret(
        "stale", "kubernetes.io/dockercfg", ".dockercfg",
        {f"{private_registry}/private": {"username": USER, "password": "wrong"}}),
        namespace=namespace)

    # the image is absent from the node at first: only the pod with the secrets gets it
    await pods.create(_pod("no-secret", node, image, policy="Always"), namespace=namespace)
    await pods.create(_pod("never", node, f"{private_registry}/private/absent:1",
                           policy="Never"), namespace=namespace)
    await pods.create(_pod("with-secret", node, image, secrets=("stale", "missing", "regcred")),
                      namespace=namespace)

    reasons: list[str] = []

    async def backing_off():
        waiting = _waiting(await pods.get("no-secret", namespace=namespace))
        if waiting.get("reason") and waiting["reason"] not in reasons:
            reasons.append(waiting["reason"])
            if waiting["reason"] == "ErrImagePull":
                assert waiting["message"].startswith("rpc error: code = ")
                assert "401 Unauthorized" in waiting["message"]
            if waiting["reason"] == "ImagePullBackOff":
                assert waiting["message"] == f'Back-off pulling image "{image}"'
        return "ImagePullBackOff" in reasons
    await eventually(backing_off, interval=0.1)
    assert reasons[-2:] == ["ErrImagePull", "ImagePullBackOff"]

    async def never_pull():
        return _waiting(await pods.get("never", namespace=namespace))
    waiting = await eventually(never_pull)
    assert waiting == {"reason": "ErrImageNeverPull",
                       "message": f'Container image "{private_registry}/private/absent:1" '
                                  "is not present with pull policy of Never"}

    async def with_secret_running():
        return _running(await pods.get("with-secret", namespace=namespace))
    await eventually(with_secret_running)
    assert await runtime.image_status(image)

    # present now: IfNotPresent needs no credentials, Always still does
    await pods.create(_pod("if-not-present", node, image, policy="IfNotPresent"),
                      namespace=namespace)
    await pods.create(_pod("always", node, image, policy="Always"), namespace=namespace)

    async def if_not_present_running():
        return _running(await pods.get("if-not-present", namespace=namespace))
    await eventually(if_not_present_running)

    async def always_refused():
        return _waiting(await pods.get("always", namespace=namespace)).get("reason") in \
            ("ErrImagePull", "ImagePullBackOff")
    await eventually(always_refused)
    assert not _running(await pods.get("no-secret", namespace=namespace))

    async def events_by_pod():
        found: dict[str, list[tuple[str, str, str]]] = {}
        for e in (await admin.api("v1", "Event").list(namespace=namespace))["items"]:
            found.setdefault(e["involvedObject"]["name"], []).append(
                (e["type"], e["reason"], e.get("message", "")))
        return found

    async def all_events():
        found = await events_by_pod()
        return all(found.get(name) for name in
                   ("no-secret", "never", "with-secret", "if-not-present", "always")) and found
    events = await eventually(all_events)
    assert ("Normal", "Pulling", f'Pulling image "{image}"') in events["no-secret"]
    assert ("Warning", "Failed", "Error: ErrImagePull") in events["no-secret"]
    assert any(t == "Warning" and r == "Failed" and
               m.startswith(f'Failed to pull image "{image}": rpc error:')
               for t, r, m in events["no-secret"])
    assert ("Normal", "BackOff", f'Back-off pulling image "{image}"') in events["no-secret"]
    assert ("Warning", "ErrImageNeverPull",
            (f'Container image "{private_registry}/private/absent:1" is not present with pull '
             "policy of Never")) in events["never"]
    assert ("Warning", "FailedToRetrieveImagePullSecret",
            ("Unable to retrieve some image pull secrets (missing); attempting to pull the "
             "image may not succeed.")) in events["with-secret"]
    assert any(r == "Pulled" and m.startswith(f'Successfully pulled image "{image}" in ')
               and "Image size: " in m for _, r, m in events["with-secret"])
    assert ("Normal", "Pulled", f'Container image "{image}" already present on machine') in \
        events["if-not-present"]
