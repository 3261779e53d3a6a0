"""Image names normalise as docker's reference package does."""

from __future__ import annotations

import pytest

from pyk8s.kubelet.runtime.refs import normalize_image


@pytest.mark.parametrize("ref,want", [
    ("busybox", "docker.io/library/busybox:latest"),
    ("busybox:1.36", "docker.io/library/busybox:1.36"),
    ("library/busybox", "docker.io/library/busybox:latest"),
    ("docker.io/busybox", "docker.io/library/busybox:latest"),
    ("index.docker.io/busybox:1", "docker.io/library/busybox:1"),
    ("me/app", "docker.io/me/app:latest"),
    ("registry.k8s.io/pause:3.10", "registry.k8s.io/pause:3.10"),
    ("localhost/app", "localhost/app:latest"),
    ("localhost:5000/a/b:v1", "localhost:5000/a/b:v1"),
    ("quay.io/x/y@sha256:abc", "quay.io/x/y@sha256:abc"),
    ("busybox@sha256:abc", "docker.io/library/busybox@sha256:abc"),
])
def test_normalize_image(ref, want):
    assert normalize_image(ref) == want


def test_empty_reference_is_an_error():
    with pytest.raises(ValueError):
        normalize_image(" ")
