"""``pyk8s apiserver`` on an etcd that requires TLS and client certificates.

etcd runs with ``--client-cert-auth`` and a CA of the test's own; the API server connects
with ``--etcd-cafile/--etcd-certfile/--etcd-keyfile``. Writes and watches work through
it; a server given the wrong CA exits at start saying the TLS handshake with etcd failed.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from etcdproc import EtcdProcess, EtcdTLS
from kubectl_cli import Kubectl
from serverproc import ServerProcess, free_port

from pyk8s import pki

pytestmark = [
    pytest.mark.e2e,
]


def make_pki(directory: Path) -> dict[str, Path]:
    """A CA, etcd's serving certificate for 127.0.0.1, a client certificate, and an
    unrelated second CA."""
    ca = pki.ensure_ca(directory / "ca")
    server = pki.issue(ca, pki.KeyPair(directory / "etcd.crt", directory / "etcd.key"),
                       common_name="etcd", dns_names=("localhost",),
                       ip_addresses=("127.0.0.1",), server=True)
    client = pki.issue(ca, pki.KeyPair(directory / "client.crt", directory / "client.key"),
                       common_name="kube-apiserver-etcd-client")
    other = pki.ensure_ca(directory / "other-ca")
    return {"ca": ca.cert_path, "server_cert": server.cert_path, "server_key": server.key_path,
            "client_cert": client.cert_path, "client_key": client.key_path,
            "other_ca": other.cert_path}


@pytest.fixture(scope="module")
def certs(tmp_path_factory) -> dict[str, Path]:
    return make_pki(tmp_path_factory.mktemp("etcd-pki"))


@pytest.fixture(scope="module")
def etcd(certs, tmp_path_factory) -> EtcdProcess:
    tls = EtcdTLS(certs["server_cert"], certs["server_key"], certs["ca"])
    proc = EtcdProcess(tmp_path_factory.mktemp("etcd-tls") / "data", tls=tls).start()
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def server(etcd, certs, tmp_path_factory) -> ServerProcess:
    srv = ServerProcess(tmp_path_factory.mktemp("apiserver-tls") / "data", free_port())
    srv.start("--etcd-servers", etcd.url, "--etcd-cafile", str(certs["ca"]),
              "--etcd-certfile", str(certs["client_cert"]),
              "--etcd-keyfile", str(certs["client_key"]))
    yield srv
    srv.stop()


def test_write_and_watch_over_tls(etcd, certs, server, tmp_path):
    kubectl = Kubectl(server.kubeconfig, tmp_path)
    with kubectl.popen("get", "configmaps", "--watch", "--output-watch-events") as watch:
        kubectl("create", "configmap", "over-tls", "--from-literal=a=1")
        watch.wait_for(r"^ADDED\s+over-tls\s")
        kubectl("patch", "cm", "over-tls", "--type", "merge", "-p", '{"data":{"b":"2"}}')
        watch.wait_for(r"^MODIFIED\s+over-tls\s+2\s")

    stored = subprocess.run(
        ["etcdctl", "--endpoints", etcd.url, "--cacert", str(certs["ca"]),
         "--cert", str(certs["client_cert"]), "--key", str(certs["client_key"]),
         "get", "/registry/configmaps/default/over-tls", "--print-value-only"],
        capture_output=True, text=True, check=True, timeout=30).stdout
    assert '"b": "2"' in stored or '"b":"2"' in stored

    # the etcd really demands a client certificate
    refused = subprocess.run(
        ["etcdctl", "--endpoints", etcd.url, "--cacert", str(certs["ca"]),
         "--dial-timeout", "2s", "--command-timeout", "3s", "get", "/registry/x"],
        capture_output=True, text=True, timeout=30)
    assert refused.returncode != 0


def test_wrong_ca_fails_at_start_with_a_clear_error(etcd, certs, tmp_path):
    srv = ServerProcess(tmp_path / "data", free_port())
    with pytest.raises(RuntimeError, match="server exited early") as failed:
        srv.start("--etcd-servers", etcd.url, "--etcd-cafile", str(certs["other_ca"]),
                  "--etcd-certfile", str(certs["client_cert"]),
                  "--etcd-keyfile", str(certs["client_key"]), timeout=90)
    assert f"TLS handshake with etcd at {etcd.endpoint} failed" in str(failed.value)
    assert "--etcd-cafile" in str(failed.value)
    srv.stop()
