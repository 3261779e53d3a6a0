"""Real kubectl v1.32: `get --watch` prints changes made while it runs."""

from __future__ import annotations

import re

import pytest

from kubectl_cli import kubectl, ns  # noqa: F401 - fixtures

pytestmark = pytest.mark.e2e


def test_get_watch_prints_changes(kubectl, ns):
    kubectl("create", "configmap", "w1", "-n", ns, "--from-literal=a=1")
    with kubectl.popen("get", "configmaps", "-n", ns, "--watch") as watch:
        header = watch.wait_for(r"\S")
        assert re.split(r"\s{2,}", header.strip()) == ["NAME", "DATA", "AGE"]
        watch.wait_for(r"^w1\s+1\s+\d+s$")
        kubectl("patch", "cm", "w1", "-n", ns, "--type", "merge", "-p", '{"data":{"b":"2"}}')
        watch.wait_for(r"^w1\s+2\s+\d+s$")
        kubectl("create", "configmap", "w2", "-n", ns)
        watch.wait_for(r"^w2\s+0\s+\d+s$")
        assert watch.proc.poll() is None, "kubectl get -w must keep running"
    assert not any(line.startswith("NAME") for line in watch.seen[1:]), \
        f"the header is printed once: {watch.seen}"


def test_get_watch_output_watch_events(kubectl, ns):
    kubectl("create", "configmap", "e1", "-n", ns)
    with kubectl.popen("get", "cm", "-n", ns, "-w", "--output-watch-events") as watch:
        header = watch.wait_for(r"\S")
        assert re.split(r"\s{2,}", header.strip()) == ["EVENT", "NAME", "DATA", "AGE"]
        watch.wait_for(r"^ADDED\s+e1\s")
        kubectl("label", "cm", "e1", "-n", ns, "x=y")
        watch.wait_for(r"^MODIFIED\s+e1\s")
        kubectl("delete", "cm", "e1", "-n", ns)
        watch.wait_for(r"^DELETED\s+e1\s")


def test_get_watch_only_with_selector(kubectl, ns):
    kubectl("create", "configmap", "old", "-n", ns)
    with kubectl.popen("get", "cm", "-n", ns, "--watch-only", "-l", "pick=me",
                       "-o", "name") as watch:
        # objects outside the selection never show, objects entering it do
        kubectl("create", "configmap", "skip", "-n", ns)
        kubectl("create", "configmap", "take", "-n", ns)
        kubectl("label", "cm", "take", "-n", ns, "pick=me")
        assert watch.wait_for(r"\S") == "configmap/take"
        kubectl("label", "cm", "old", "-n", ns, "pick=me")
        assert watch.wait_for(r"\S") == "configmap/old"
    assert "configmap/skip" not in watch.seen


def test_get_watch_single_object(kubectl, ns):
    kubectl("create", "configmap", "one", "-n", ns)
    kubectl("create", "configmap", "other", "-n", ns)
    with kubectl.popen("get", "cm", "one", "-n", ns, "-w", "-o",
                       "jsonpath={.metadata.name}={.data.v}{\"\\n\"}") as watch:
        assert watch.wait_for(r"\S") == "one="
        kubectl("patch", "cm", "other", "-n", ns, "-p", '{"data":{"v":"ignored"}}')
        kubectl("patch", "cm", "one", "-n", ns, "-p", '{"data":{"v":"2"}}')
        assert watch.wait_for(r"\S") == "one=2"
