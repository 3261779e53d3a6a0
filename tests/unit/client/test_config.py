"""Kubeconfig and in-cluster parsing: contexts, data vs file fields, relative paths,
tokens and token files re-read on change."""

from __future__ import annotations

import base64
import os
import ssl

import pytest
import yaml

from pyk8s import pki
from pyk8s.client.config import (
    ConfigError,
    TokenFile,
    load_incluster_config,
    load_kubeconfig,
    user_agent,
)


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    d = tmp_path_factory.mktemp("pki")
    ca = pki.ensure_ca(d)
    client = pki.issue(ca, pki.KeyPair(d / "client.crt", d / "client.key"),
                       common_name="admin", organizations=("system:masters",))
    return ca, client


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def write(path, doc):
    path.write_text(yaml.safe_dump(doc))
    return path


def kubeconfig(cluster: dict, user: dict, **extra) -> dict:
    return {"apiVersion": "v1", "kind": "Config", "current-context": "main",
            "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:6443/",
                                                   **cluster}},
                         {"name": "other", "cluster": {"server": "http://10.0.0.1:8080"}}],
            "users": [{"name": "u", "user": user}],
            "contexts": [{"name": "main", "context": {"cluster": "c", "user": "u",
                                                      "namespace": "team"}},
                         {"name": "plain", "context": {"cluster": "other"}}],
            **extra}


def test_data_fields(tmp_path, certs):
    ca, client = certs
    doc = kubeconfig({"certificate-authority-data": b64(ca.cert_pem())},
                     {"client-certificate-data": b64(client.cert_pem()),
                      "client-key-data": b64(client.key_pem())})
    cfg = load_kubeconfig(write(tmp_path / "kc", doc), component="scheduler")
    assert cfg.server == "https://127.0.0.1:6443"
    assert cfg.namespace == "team"
    assert isinstance(cfg.ssl_context, ssl.SSLContext)
    assert cfg.ssl_context.verify_mode == ssl.CERT_REQUIRED
    assert cfg.user_agent == user_agent("scheduler") == "pyk8s-scheduler/0.1.0"
    assert "Authorization" not in cfg.request_headers()


def test_file_fields_resolve_relative_to_kubeconfig_dir(tmp_path, certs):
    ca, client = certs
    conf_dir = tmp_path / "conf"
    (conf_dir / "pki").mkdir(parents=True)
    for name, data in [("ca.crt", ca.cert_pem()), ("c.crt", client.cert_pem()),
                       ("c.key", client.key_pem())]:
        (conf_dir / "pki" / name).write_bytes(data)
    doc = kubeconfig({"certificate-authority": "pki/ca.crt"},
                     {"client-certificate": "pki/c.crt", "client-key": "pki/c.key"})
    path = write(conf_dir / "kc", doc)
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        cfg = load_kubeconfig(path)
    finally:
        os.chdir(cwd)
    assert isinstance(cfg.ssl_context, ssl.SSLContext)


def test_data_wins_over_file(tmp_path, certs):
    ca, _ = certs
    doc = kubeconfig({"certificate-authority": "missing.crt",
                      "certificate-authority-data": b64(ca.cert_pem())}, {"token": "abc"})
    cfg = load_kubeconfig(write(tmp_path / "kc", doc))
    assert cfg.request_headers()["Authorization"] == "Bearer abc"


def test_token_file_and_context_choice(tmp_path):
    (tmp_path / "tok").write_text("t1\n")
    doc = kubeconfig({"insecure-skip-tls-verify": True}, {"tokenFile": "tok"})
    cfg = load_kubeconfig(write(tmp_path / "kc", doc))
    assert cfg.ssl_context.verify_mode == ssl.CERT_NONE
    assert cfg.request_headers()["Authorization"] == "Bearer t1"
    (tmp_path / "tok").write_text("token-two\n")
    assert cfg.request_headers()["Authorization"] == "Bearer token-two"

    plain = load_kubeconfig(tmp_path / "kc", context="plain")
    assert plain.server == "http://10.0.0.1:8080" and plain.ssl_context is None
    assert plain.namespace == "default"


@pytest.mark.parametrize("mutate, message", [
    (lambda d: d.pop("current-context"), "current-context"),
    (lambda d: d.update({"current-context": "nope"}), "no context named 'nope'"),
    (lambda d: d["clusters"][0]["cluster"].pop("server"), "has no server"),
])
def test_bad_kubeconfigs(tmp_path, mutate, message):
    doc = kubeconfig({}, {"token": "x"})
    mutate(doc)
    with pytest.raises(ConfigError, match=message):
        load_kubeconfig(write(tmp_path / "kc", doc))


def test_in_cluster(tmp_path, certs):
    ca, _ = certs
    (tmp_path / "token").write_text("sa-token")
    (tmp_path / "ca.crt").write_bytes(ca.cert_pem())
    (tmp_path / "namespace").write_text("kube-system")
    env = {"KUBERNETES_SERVICE_HOST": "10.96.0.1", "KUBERNETES_SERVICE_PORT": "443"}
    cfg = load_incluster_config(root=tmp_path, env=env, component="controller-manager")
    assert cfg.server == "https://10.96.0.1:443"
    assert cfg.namespace == "kube-system"
    assert cfg.request_headers()["Authorization"] == "Bearer sa-token"
    assert cfg.user_agent == "pyk8s-controller-manager/0.1.0"
    v6 = load_incluster_config(root=tmp_path, env={**env, "KUBERNETES_SERVICE_HOST": "fd00::1"})
    assert v6.server == "https://[fd00::1]:443"
    with pytest.raises(ConfigError):
        load_incluster_config(root=tmp_path, env={})


def test_token_file_rereads_only_on_change(tmp_path):
    path = tmp_path / "token"
    path.write_text("one")
    token = TokenFile(path)
    assert token() == "one"
    path.write_text("two-longer")
    assert token() == "two-longer"
