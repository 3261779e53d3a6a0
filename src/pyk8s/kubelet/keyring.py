"""Registry credentials from a pod's ``imagePullSecrets``, matched to an image as upstream.

After upstream's ``credentialprovider`` (``keyring.go``, ``secrets.go``, ``config.go``): a
``kubernetes.io/dockerconfigjson`` Secret holds ``{"auths": {REGISTRY: ENTRY}}`` under
``.dockerconfigjson``, a ``kubernetes.io/dockercfg`` Secret ``{REGISTRY: ENTRY}`` under
``.dockercfg``; an entry has ``username``/``password`` or ``auth`` (base64 ``user:pass``,
which wins when present) and ``email``. Each registry key loses its scheme and a ``/v1/``
or ``/v2/`` path; an image (its repository, without tag or digest, e.g.
``docker.io/library/busybox``) matches a key when the ports are equal, the host names have
as many dot-separated parts and each matches the key's part as a glob (``*.example.com``),
and the key's path is a prefix of the image's. Keys are tried most specific first (reverse
sorted); credentials for ``index.docker.io`` also serve Docker Hub images. The kubelet tries
each matching credential in turn and pulls without any only when none matches.
"""

from __future__ import annotations

import base64
import binascii
import fnmatch
import json
from dataclasses import dataclass
from urllib.parse import urlsplit

from .runtime import AuthConfig
from .runtime.refs import normalize_image

DOCKER_CONFIG_JSON = ("kubernetes.io/dockerconfigjson", ".dockerconfigjson")
DOCKER_CFG = ("kubernetes.io/dockercfg", ".dockercfg")
DEFAULT_REGISTRY_HOST = "index.docker.io"


class KeyringError(ValueError):
    """A pull secret's content is not a docker config."""


@dataclass(frozen=True)
class _Url:
    host: str
    port: str
    path: str


def _schemeless(location: str) -> _Url:
    parts = urlsplit("https://" + location)
    host, port = parts.hostname or "", ""
    if parts.port is not None:
        port = str(parts.port)
    return _Url(host, port, parts.path)


def _key(location: str) -> str:
    """A registry location as the keyring stores it: no scheme, no /v1/ or /v2/ path."""
    if not location.startswith(("https://", "http://")):
        location = "https://" + location
    parts = urlsplit(location)
    path = parts.path
    if path.startswith(("/v2/", "/v1/")):
        path = path[3:]
    return parts.netloc + path if path and path != "/" else parts.netloc


def urls_match(glob: str, target: str) -> bool:
    """Whether registry key ``glob`` (host parts may be globs) covers image ``target``."""
    try:
        g, t = _schemeless(glob), _schemeless(target)
    except ValueError:  # a port that is not a number
        return False
    if g.port != t.port:
        return False
    g_parts, t_parts = g.host.split("."), t.host.split(".")
    if len(g_parts) != len(t_parts) or not t.path.startswith(g.path):
        return False
    return all(fnmatch.fnmatchcase(tp, gp) for gp, tp in zip(g_parts, t_parts))


def _entry_auth(entry: dict) -> AuthConfig:
    username, password = entry.get("username") or "", entry.get("password") or ""
    if entry.get("auth"):
        try:
            decoded = base64.b64decode(entry["auth"], validate=True).decode()
        except (binascii.Error, UnicodeDecodeError) as err:
            raise KeyringError(f"illegal base64 data in auth: {err}") from None
        username, sep, password = decoded.partition(":")
        if not sep:
            raise KeyringError("expected username and password concatenated with a colon")
    return AuthConfig(username=username, password=password)


def _docker_config(secret: dict) -> dict | None:
    data = secret.get("data") or {}
    for secret_type, key in (DOCKER_CONFIG_JSON, DOCKER_CFG):
        if secret.get("type") != secret_type or not data.get(key):
            continue
        try:
            config = json.loads(base64.b64decode(data[key]))
        except (binascii.Error, ValueError) as err:
            raise KeyringError(f"secret {secret['metadata'].get('name')!r}: {err}") from None
        if not isinstance(config, dict):
            raise KeyringError(f"secret {secret['metadata'].get('name')!r}: not a JSON object")
        return config.get("auths") or {} if key == DOCKER_CONFIG_JSON[1] else config
    return None


class Keyring:
    """The credentials of a set of pull secrets, looked up by image."""

    def __init__(self, secrets: list[dict]) -> None:
        self._creds: dict[str, list[AuthConfig]] = {}
        for secret in secrets:
            config = _docker_config(secret)
            for location, entry in (config or {}).items():
                if isinstance(entry, dict):
                    self._creds.setdefault(_key(location), []).append(_entry_auth(entry))
        self._index = sorted(self._creds, reverse=True)

    def lookup(self, image: str) -> list[AuthConfig]:
        """Credentials to try for ``image``, most specific registry key first."""
        repo = repository(image)
        found = [auth for key in self._index if urls_match(key, repo)
                 for auth in self._creds[key]]
        if not found and _is_default_registry(image):
            found = list(self._creds.get(DEFAULT_REGISTRY_HOST, ()))
        return found


def repository(image: str) -> str:
    """The image's repository, fully qualified, without tag or digest."""
    name = normalize_image(image).split("@", 1)[0]
    last = name.rsplit("/", 1)
    return name.rsplit(":", 1)[0] if ":" in last[-1] else name


def _is_default_registry(image: str) -> bool:
    first, sep, _ = image.partition("/")
    if not first:
        return False
    if not sep or first in ("docker.io", "index.docker.io"):
        return True
    return not any(c in first for c in ".:") and first != "localhost"
