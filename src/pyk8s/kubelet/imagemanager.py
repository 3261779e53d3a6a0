"""Making sure a container's image is there before it is created: pull policy, pull
secrets, back-off and the events and waiting reasons users see, as upstream's
``images/image_manager.go`` and ``kuberuntime_image.go``.

* ``imagePullPolicy`` (defaulted as the API server does when absent: ``Always`` for a
  ``:latest`` or untagged image, else ``IfNotPresent``): ``Never`` with the image absent is
  ``ErrImageNeverPull``; no pull needed is a ``Pulled`` "already present on machine" event.
* A pull is preceded by a ``Pulling`` event; a failure is a ``Failed`` event, the waiting
  reason ``ErrImagePull`` with the runtime's error as its message, and a back-off (10 s,
  doubling to 5 min, per pod and image) during which the container waits with
  ``ImagePullBackOff`` ("Back-off pulling image ...", a ``BackOff`` event) without pulling.
* Credentials: the pod's ``spec.imagePullSecrets`` are read through the API with the
  node's own credentials (the Node authorizer allows secrets its pods reference), only
  when a pull is due; a secret that cannot be read is a ``FailedToRetrieveImagePullSecret``
  event and the pull goes ahead without it. The :mod:`.keyring` picks the credentials for
  the image's registry; each is tried in turn, anonymous only when none matches.
"""

from __future__ import annotations

import logging
import time

from ..client import EventRecorder
from ..client.errors import ClientError
from .actions import RestartBackoff
from .keyring import Keyring, KeyringError
from .runtime import Runtime, RuntimeError_

log = logging.getLogger("pyk8s.kubelet.images")

ERR_IMAGE_PULL = "ErrImagePull"
IMAGE_PULL_BACK_OFF = "ImagePullBackOff"
ERR_IMAGE_NEVER_PULL = "ErrImageNeverPull"


def pull_policy(container: dict) -> str:
    """The container's imagePullPolicy, defaulted from its image's tag when unset."""
    if container.get("imagePullPolicy"):
        return container["imagePullPolicy"]
    image = container.get("image", "")
    last = image.rsplit("/", 1)[-1]
    if "@" in last:
        return "IfNotPresent"
    tag = last.rpartition(":")[2] if ":" in last else ""
    return "Always" if tag in ("", "latest") else "IfNotPresent"


def go_duration(seconds: float) -> str:
    """A duration truncated to milliseconds as Go prints it: ``523ms``, ``1.234s``, ``2m3.5s``."""
    ms = int(seconds * 1000)
    if ms == 0:
        return "0s"
    if ms < 1000:
        return f"{ms}ms"
    minutes, rest = divmod(ms, 60_000)
    secs = f"{rest / 1000:.3f}".rstrip("0").rstrip(".") + "s"
    hours, minutes = divmod(minutes, 60)
    return (f"{hours}h" if hours else "") + (f"{minutes}m" if hours or minutes else "") + secs


def _aggregate(errors: list[str]) -> str:
    """Several errors as upstream's utilerrors aggregate prints them."""
    unique = list(dict.fromkeys(errors))
    return unique[0] if len(unique) == 1 else "[" + ", ".join(unique) + "]"


class ImageManager:
    """``secrets`` reads Secrets (``client.api("v1", "Secret")``, the node's credentials)."""

    def __init__(self, secrets, runtime: Runtime, recorder: EventRecorder,
                 backoff: RestartBackoff) -> None:
        self.secrets = secrets
        self.runtime = runtime
        self.recorder = recorder
        self.backoff = backoff

    async def ensure(self, pod: dict, container: dict) -> tuple[str, str] | None:
        """None when the image is there (pulled now if due); else (reason, message)."""
        image = container.get("image", "")
        policy = pull_policy(container)
        present = await self.runtime.image_status(image)
        if policy == "Never" or (policy == "IfNotPresent" and present):
            if present:
                self._event(pod, "Normal", "Pulled",
                            f'Container image "{image}" already present on machine')
                return None
            message = f'Container image "{image}" is not present with pull policy of Never'
            self._event(pod, "Warning", ERR_IMAGE_NEVER_PULL, message)
            return self._failed(pod, ERR_IMAGE_NEVER_PULL, message)
        key = f"{pod['metadata']['uid']}/pull/{image}"
        if self.backoff.until(key) > 0:
            message = f'Back-off pulling image "{image}"'
            self._event(pod, "Normal", "BackOff", message)
            return self._failed(pod, IMAGE_PULL_BACK_OFF, message)
        self._event(pod, "Normal", "Pulling", f'Pulling image "{image}"')
        started = time.monotonic()
        error = await self._pull(pod, image)
        took = go_duration(time.monotonic() - started)
        if error:
            self._event(pod, "Warning", "Failed", f'Failed to pull image "{image}": {error}')
            self.backoff.next(key)
            return self._failed(pod, ERR_IMAGE_PULL, error)
        size = await self.runtime.image_size(image)
        self._event(pod, "Normal", "Pulled",
                    f'Successfully pulled image "{image}" in {took} ({took} including '
                    f"waiting). Image size: {size} bytes.")
        return None

    async def _pull(self, pod: dict, image: str) -> str:
        """Pull with the pod's credentials for ``image``'s registry; the error, or ""."""
        try:
            keyring = Keyring(await self._pull_secrets(pod))
        except KeyringError as err:
            return str(err)
        creds = keyring.lookup(image) or [None]
        errors = []
        for auth in creds:
            try:
                await self.runtime.pull_image(image, auth)
                return ""
            except RuntimeError_ as err:
                errors.append(str(err))
        return _aggregate(errors)

    async def _pull_secrets(self, pod: dict) -> list[dict]:
        namespace = pod["metadata"].get("namespace", "default")
        found, failed = [], []
        for ref in (pod.get("spec") or {}).get("imagePullSecrets") or ():
            name = ref.get("name") or ""
            if not name:
                continue
            try:
                found.append(await self.secrets.get(name, namespace=namespace))
            except ClientError as err:
                log.info("unable to retrieve pull secret %s/%s for pod %s: %s", namespace,
                         name, pod["metadata"].get("name"), err)
                failed.append(name)
        if failed:
            self._event(pod, "Warning", "FailedToRetrieveImagePullSecret",
                        f"Unable to retrieve some image pull secrets ({', '.join(failed)}); "
                        "attempting to pull the image may not succeed.")
        return found

    def _failed(self, pod: dict, reason: str, message: str) -> tuple[str, str]:
        """The container's waiting state, with the "Error: <reason>" event that goes with it
        (upstream's container-creation failure; its own action keeps it a separate series)."""
        self._event(pod, "Warning", "Failed", f"Error: {reason}", action="Create")
        return reason, message

    def _event(self, pod: dict, type_: str, reason: str, note: str, *,
               action: str = "Pull") -> None:
        self.recorder.event(pod, type=type_, reason=reason, action=action, note=note)
