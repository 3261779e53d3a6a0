"""Image reference normalisation, as docker's reference package does it.

Pods say ``image: busybox``; containerd stores ``docker.io/library/busybox:latest``. Both the
real and the fake runtime must agree on that spelling, or "is the image present?" answers
differently in unit tests than on a node, so the rule lives here once.
"""

from __future__ import annotations

DEFAULT_DOMAIN = "docker.io"


def _has_domain(first: str) -> bool:
    return "." in first or ":" in first or first == "localhost"


def normalize_image(ref: str) -> str:
    """The fully qualified name of ``ref``: domain, ``library/`` for docker.io, ``:latest``."""
    ref = ref.strip()
    if not ref:
        raise ValueError("empty image reference")
    first, _, rest = ref.partition("/")
    if not rest or not _has_domain(first):
        domain, path = DEFAULT_DOMAIN, ref
    else:
        domain, path = first, rest
    if domain == "index.docker.io":
        domain = DEFAULT_DOMAIN
    if domain == DEFAULT_DOMAIN and "/" not in path:
        path = "library/" + path
    name = path.split("@", 1)[0]
    if "@" not in path and ":" not in name:
        path += ":latest"
    return f"{domain}/{path}"
