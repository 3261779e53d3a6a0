"""Real server, real kubectl: secrets never reach the SQLite file in the clear, and keys rotate.

The flow is the one the Kubernetes docs prescribe: enable a provider, restart with a
new key first and the old one second, rewrite every secret with
``kubectl get secrets -A -o json | kubectl replace -f -``, and the database holds
only values under the new key name.
"""

from __future__ import annotations

import base64
import json
import sqlite3
from pathlib import Path

import pytest

from kubectl_cli import Kubectl
from serverproc import ServerProcess, free_port

pytestmark = pytest.mark.e2e

VALUE = "correct-horse-battery-staple-0451"
KEY1 = base64.b64encode(b"1" * 32).decode()
KEY2 = base64.b64encode(b"2" * 32).decode()
SECRET_KEY = "/registry/secrets/default/db-password"


def write_config(path: Path, *keys: tuple[str, str]) -> str:
    listed = "\n".join(f"          - name: {name}\n            secret: {secret}"
                       for name, secret in keys)
    path.write_text(f"""\
apiVersion: apiserver.config.k8s.io/v1
kind: EncryptionConfiguration
resources:
  - resources: [secrets]
    providers:
      - aesgcm:
          keys:
{listed}
      - identity: {{}}
""")
    return str(path)


def database_bytes(data_dir: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(data_dir.glob("state.db*")))


def stored_value(data_dir: Path, key: str) -> bytes:
    conn = sqlite3.connect(f"file:{data_dir / 'state.db'}?mode=ro", uri=True)
    try:
        row = conn.execute("SELECT value FROM kv WHERE name = ? ORDER BY id DESC LIMIT 1",
                           (key,)).fetchone()
    finally:
        conn.close()
    return bytes(row[0])


def read_password(kubectl: Kubectl) -> str:
    out = kubectl("get", "secret", "db-password", "-n", "default", "-o", "json").stdout
    return base64.b64decode(json.loads(out)["data"]["password"]).decode()


def test_secrets_are_encrypted_at_rest_and_keys_rotate(tmp_path):
    data_dir = tmp_path / "data"
    config = tmp_path / "encryption.yaml"
    server = ServerProcess(data_dir, free_port())
    server.start("--encryption-provider-config", write_config(config, ("key1", KEY1)))
    try:
        kubectl = Kubectl(server.kubeconfig, tmp_path)
        kubectl("create", "secret", "generic", "db-password", "-n", "default",
                f"--from-literal=password={VALUE}")
        kubectl("create", "configmap", "plain", "-n", "default", f"--from-literal=v={VALUE}")
        assert read_password(kubectl) == VALUE
        raw = database_bytes(data_dir)
        assert VALUE.encode() in raw  # the configmap is not configured: stored as is
        assert stored_value(data_dir, SECRET_KEY).startswith(b"k8s:enc:aesgcm:v1:key1:")
        assert base64.b64encode(VALUE.encode()) not in stored_value(data_dir, SECRET_KEY)
    finally:
        server.stop()
    secret_rows = stored_value(data_dir, SECRET_KEY)
    assert VALUE.encode() not in secret_rows

    # Rotation: new key first, old key still listed so existing values read.
    server.start("--encryption-provider-config",
                 write_config(config, ("key2", KEY2), ("key1", KEY1)))
    try:
        assert read_password(kubectl) == VALUE
        listed = kubectl("get", "secrets", "-A", "-o", "json").stdout
        kubectl("replace", "-f", "-", input=listed)
        assert read_password(kubectl) == VALUE
        rewritten = stored_value(data_dir, SECRET_KEY).startswith(b"k8s:enc:aesgcm:v1:key2:")
    finally:
        server.stop()
    assert rewritten, "an unchanged replace must rewrite values stored under an old key"

    # With only the new key the old one is no longer needed.
    server.start("--encryption-provider-config", write_config(config, ("key2", KEY2)))
    try:
        assert read_password(kubectl) == VALUE
    finally:
        server.stop()


def test_a_server_without_the_key_refuses_to_start(tmp_path):
    data_dir = tmp_path / "data"
    config = tmp_path / "encryption.yaml"
    server = ServerProcess(data_dir, free_port())
    server.start("--encryption-provider-config", write_config(config, ("key1", KEY1)))
    try:
        Kubectl(server.kubeconfig, tmp_path)(
            "create", "secret", "generic", "db-password", "-n", "default",
            f"--from-literal=password={VALUE}")
    finally:
        server.stop()
    with pytest.raises(RuntimeError, match=f"unable to transform key '{SECRET_KEY}'"):
        server.start("--encryption-provider-config", write_config(config, ("key2", KEY2)))
    server.stop()


def test_a_bad_config_stops_the_server_with_the_field_at_fault(tmp_path):
    config = tmp_path / "encryption.yaml"
    config.write_text("apiVersion: apiserver.config.k8s.io/v1\nkind: EncryptionConfiguration\n"
                      "resources:\n- resources: [secrets]\n  providers:\n"
                      "  - aesgcm: {keys: [{name: k, secret: c2hvcnQ=}]}\n")
    server = ServerProcess(tmp_path / "data", free_port())
    with pytest.raises(RuntimeError, match="secret is not of the expected length, got 5"):
        server.start("--encryption-provider-config", str(config))
    server.stop()
