"""SIGKILL the API server under a create load: every create it answered 201 must survive.

Several clients (threads, each with its own kubernetes ApiClient) create ConfigMaps over
HTTPS and record each name the server acknowledged with 201 Created. The server is killed
mid-load, restarted on the same data directory, and every acknowledged object must be
there with the uid and data it was acknowledged with.
"""

from __future__ import annotations

import signal
import sys
import threading
import time
from pathlib import Path

from kubernetes import client, config
from kubernetes.client.rest import ApiException

sys.path.insert(0, str(Path(__file__).parents[1]))
from serverproc import ServerProcess, free_port  # noqa: E402

CLIENTS = 8
NAMESPACE = "crash"


def api_config(server: ServerProcess) -> client.Configuration:
    cfg = client.Configuration()
    config.load_kube_config(config_file=str(server.kubeconfig), client_configuration=cfg)
    cfg.retries = False  # a create is sent once: no urllib3 retry after the kill
    return cfg


class Load:
    """CLIENTS threads creating ConfigMaps until the server goes away."""

    def __init__(self, cfg: client.Configuration, tag: str) -> None:
        self.cfg = cfg
        self.tag = tag
        self.acked: dict[str, tuple[str, int, str]] = {}  # name -> (uid, rv, payload)
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.unexpected: list[str] = []
        self.threads = [threading.Thread(target=self.run, args=(n,), daemon=True)
                        for n in range(CLIENTS)]

    def start(self) -> "Load":
        for t in self.threads:
            t.start()
        return self

    def run(self, n: int) -> None:
        core = client.CoreV1Api(client.ApiClient(self.cfg))
        i = 0
        while not self.stop.is_set():
            name = f"{self.tag}-c{n}-{i}"
            payload = f"{name}:" + "x" * 100
            body = client.V1ConfigMap(metadata=client.V1ObjectMeta(name=name),
                                      data={"payload": payload})
            try:
                obj, status, _ = core.create_namespaced_config_map_with_http_info(
                    NAMESPACE, body, _request_timeout=10)
            except ApiException as exc:
                if exc.status and exc.status < 500:
                    self.unexpected.append(f"{name}: {exc.status} {exc.body}")
                return
            except Exception:  # connection refused/reset: the server was killed
                return
            if status == 201:
                with self.lock:
                    self.acked[name] = (obj.metadata.uid, int(obj.metadata.resource_version),
                                        payload)
            else:
                self.unexpected.append(f"{name}: status {status}")
            i += 1

    def count(self) -> int:
        with self.lock:
            return len(self.acked)

    def join(self) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(30)
            assert not t.is_alive(), "a client thread hung after the kill"


def check_survivors(server: ServerProcess, acked: dict) -> int:
    core = client.CoreV1Api(client.ApiClient(api_config(server)))
    listing = core.list_namespaced_config_map(NAMESPACE)
    stored = {o.metadata.name: o for o in listing.items}
    missing = [name for name in acked if name not in stored]
    assert not missing, f"{len(missing)} of {len(acked)} acknowledged creates lost, " \
                        f"e.g. {sorted(missing)[:5]}"
    for name, (uid, rv, payload) in acked.items():
        obj = stored[name]
        assert obj.metadata.uid == uid, name
        assert int(obj.metadata.resource_version) == rv, name
        assert obj.data == {"payload": payload}, name
    # the revision goes on from where it was: new writes get higher resourceVersions
    top = max((rv for _, rv, _ in acked.values()), default=0)
    after = core.create_namespaced_config_map(
        NAMESPACE, client.V1ConfigMap(metadata=client.V1ObjectMeta(name=f"after-{top}")))
    assert int(after.metadata.resource_version) > top
    return len(stored)


def test_acknowledged_creates_survive_sigkill(tmp_path):
    data = tmp_path / "data"
    server = ServerProcess(data, free_port()).start()
    try:
        core = client.CoreV1Api(client.ApiClient(api_config(server)))
        core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=NAMESPACE)))

        all_acked: dict = {}
        for round_, extra_load in enumerate([0.3, 1.2]):
            load = Load(api_config(server), f"r{round_}").start()
            deadline = time.monotonic() + 20
            while load.count() < 100:  # under load before the clock starts
                assert time.monotonic() < deadline, \
                    f"the clients acknowledged only {load.count()} creates\n{server.log()[-3000:]}"
                assert not load.unexpected, load.unexpected[:5]
                time.sleep(0.02)
            time.sleep(extra_load)
            server.stop(signal.SIGKILL)
            load.join()
            assert not load.unexpected, load.unexpected[:5]
            assert load.count() >= 100
            all_acked.update(load.acked)

            server.start()
            stored = check_survivors(server, all_acked)
            assert stored >= len(all_acked)
    finally:
        server.stop()
