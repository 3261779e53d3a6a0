"""Real kubectl v1.32: every write records metadata.managedFields, as kube-apiserver does."""

from __future__ import annotations

import json

import pytest

from kubectl_cli import kubectl, ns  # noqa: F401 - fixtures

pytestmark = pytest.mark.e2e

CONFIGMAP = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: app-config
data:
  mode: blue
"""


def test_writes_record_managed_fields(kubectl, ns):
    path = kubectl.write("app.yaml", CONFIGMAP)
    kubectl("apply", "-f", str(path), "-n", ns)
    cm = json.loads(kubectl("get", "cm", "app-config", "-n", ns, "-o", "json",
                            "--show-managed-fields").stdout)
    entries = cm["metadata"].get("managedFields") or []
    assert [(m["manager"], m["operation"], m["apiVersion"], m["fieldsType"]) for m in entries] \
        == [("kubectl-client-side-apply", "Update", "v1", "FieldsV1")], entries
    fields = entries[0]["fieldsV1"]
    assert "f:data" in fields and "f:mode" in fields["f:data"], fields
    plain = json.loads(kubectl("get", "cm", "app-config", "-n", ns, "-o", "json").stdout)
    assert "managedFields" not in plain["metadata"], "kubectl hides them unless asked"
