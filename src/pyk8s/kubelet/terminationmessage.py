"""Termination messages: what a container leaves at its ``terminationMessagePath``.

As upstream's kubelet, each container instance gets an empty file of its own in the pod's
directory (``containers/<name>/<restart count>``), bind-mounted at its
``terminationMessagePath`` (``/dev/termination-log`` by default). Once the container has
exited, the file's last 4 KiB become the ``message`` of its ``terminated`` state; with
``terminationMessagePolicy: FallbackToLogsOnError``, a container that failed without
writing one gets the tail of its log instead (the last 80 lines, at most 2 KiB).
"""

from __future__ import annotations

import os

from . import logs

MAX_MESSAGE = 4096
MAX_LOG_LINES, MAX_LOG_BYTES = 80, 2048
_LOG_READ = 256 * 1024  # enough of the log file's end for 80 lines of ordinary output


def message_path(pods_dir: str, pod_uid: str, container: str, restart_count: int) -> str:
    return os.path.join(pods_dir, pod_uid, "containers", container, str(restart_count))


def create_message_file(path: str) -> None:
    """An empty file every user may write (blocking: run it in a thread)."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb"):
        pass
    os.chmod(path, 0o666)


def read_message(path: str) -> str:
    """The last MAX_MESSAGE bytes the container wrote there ("" when none)."""
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - MAX_MESSAGE))
            return f.read().decode("utf-8", "replace")
    except OSError:
        return ""


def log_tail(log_path: str) -> str:
    """The last MAX_LOG_LINES lines of a CRI log file, cut to their last MAX_LOG_BYTES."""
    try:
        with open(log_path, "rb") as f:
            f.seek(0, os.SEEK_END)
            start = max(0, f.tell() - _LOG_READ)
            f.seek(start)
            data = f.read()
    except OSError:
        return ""
    if start:
        data = data.split(b"\n", 1)[-1]  # the first line read may be cut
    records, _ = logs.parse_lines(data)
    lines = list(logs.join_partials(records))[-MAX_LOG_LINES:]
    text = b"".join(logs.render(r, False) for r in lines)
    return text[-MAX_LOG_BYTES:].decode("utf-8", "replace")
