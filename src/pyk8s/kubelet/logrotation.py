"""Container log rotation, as upstream's ``ContainerLogManager``.

containerd appends a container's output to one file for as long as the container runs,
so a chatty container would fill the node's disk. Every ``period`` (10 s) the kubelet
looks at each running container's log: one past ``max_size`` (``--container-log-max-size``,
10Mi) is renamed to ``<log>.<YYYYmmdd-HHMMSS>`` and the runtime is asked to reopen the
file (CRI ``ReopenContainerLog``), so new output starts a new file. At most
``max_files`` (``--container-log-max-files``, 5) files are kept per container, the current
one included; older rotated files are deleted, and rotated files other than the newest
are gzipped. ``kubectl logs`` reads the current file, as upstream's.
"""

from __future__ import annotations

import asyncio
import gzip
import logging
import os
import shutil
import time

from .containers import (
    CONTAINER_NAME,
    POD_NAME,
    POD_NAMESPACE,
    POD_UID,
    RESTART_COUNT,
    container_log_path,
    sandbox_log_dir,
)
from .runtime import ContainerStatus, Runtime, RuntimeError_

log = logging.getLogger(__name__)

DEFAULT_MAX_SIZE = 10 * 1024 * 1024
DEFAULT_MAX_FILES = 5
TIMESTAMP = "%Y%m%d-%H%M%S"


def log_file_of(log_root: str, status: ContainerStatus) -> str | None:
    """The log file of a container the kubelet created (from its labels), else None."""
    labels, annotations = status.labels, status.annotations
    try:
        return os.path.join(
            sandbox_log_dir(log_root, labels[POD_NAMESPACE], labels[POD_NAME], labels[POD_UID]),
            container_log_path(labels[CONTAINER_NAME], int(annotations.get(RESTART_COUNT, 0))))
    except (KeyError, ValueError):
        return None


class ContainerLogManager:
    def __init__(self, runtime: Runtime, log_root: str, *, max_size: int = DEFAULT_MAX_SIZE,
                 max_files: int = DEFAULT_MAX_FILES, period: float = 10.0,
                 clock=time.time) -> None:
        self.runtime, self.log_root = runtime, log_root
        self.max_size, self.max_files, self.period = max_size, max_files, period
        self.clock = clock

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.rotate_all()
            except RuntimeError_ as err:
                log.warning("log rotation: listing containers failed: %s", err)
            try:
                await asyncio.wait_for(stop.wait(), self.period)
            except TimeoutError:
                pass

    async def rotate_all(self) -> int:
        """One pass; returns how many logs were rotated."""
        rotated = 0
        for status in await self.runtime.list_containers(brief=True):
            if status.state != "CONTAINER_RUNNING":
                continue
            path = log_file_of(self.log_root, status)
            if path is None:
                continue
            try:
                size = os.stat(path).st_size
            except OSError:
                continue
            if size > self.max_size:
                await self._rotate(status.id, path)
                rotated += 1
        return rotated

    async def _rotate(self, container_id: str, path: str) -> None:
        await asyncio.to_thread(self._prune_and_compress, path)
        target = f"{path}.{time.strftime(TIMESTAMP, time.gmtime(self.clock()))}"
        await asyncio.to_thread(os.replace, path, target)
        try:
            await self.runtime.reopen_container_log(container_id)
        except RuntimeError_ as err:
            # as upstream: put the file back so the container keeps a log to write to
            log.warning("reopening the log of %s failed: %s", container_id[:12], err)
            await asyncio.to_thread(os.replace, target, path)
            return
        log.info("rotated %s", path)

    def _prune_and_compress(self, path: str) -> None:
        """Make room for one more rotated file: delete the oldest beyond max_files - 2
        (the current file and the one about to be rotated take the other two places) and
        gzip every rotated file still plain."""
        directory, base = os.path.split(path)
        rotated = sorted(name for name in os.listdir(directory)
                         if name.startswith(base + ".") and not name.endswith(".tmp"))
        for name in rotated[:max(0, len(rotated) - (self.max_files - 2))]:
            os.remove(os.path.join(directory, name))
        for name in rotated[max(0, len(rotated) - (self.max_files - 2)):]:
            if not name.endswith(".gz"):
                _gzip(os.path.join(directory, name))


def _gzip(path: str) -> None:
    staged = path + ".gz.tmp"
    with open(path, "rb") as src, gzip.open(staged, "wb") as dst:
        shutil.copyfileobj(src, dst)
    os.replace(staged, path + ".gz")
    os.remove(path)
