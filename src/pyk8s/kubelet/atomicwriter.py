"""Replace a directory of projected files all at once, as upstream's ``AtomicWriter``.

ConfigMap, Secret, downward API and projected volumes are directories whose files a
running container reads while the kubelet updates them. Writing files in place would
let a reader see half an update; instead each version goes into a fresh hidden
directory ``..<timestamp>``, the ``..data`` symlink is swapped to it with one
``rename`` (atomic on POSIX), and each visible name is a symlink through ``..data``.
Nothing is written when the content is unchanged.
"""

from __future__ import annotations

import os
import shutil
import time

DATA = "..data"


def _current(target: str) -> dict[str, tuple[bytes, int]] | None:
    data_dir = os.path.join(target, DATA)
    if not os.path.islink(data_dir):
        return None
    out = {}
    for root, _, files in os.walk(data_dir, followlinks=True):
        for name in files:
            full = os.path.join(root, name)
            rel = os.path.relpath(full, data_dir)
            with open(full, "rb") as f:
                out[rel] = (f.read(), os.stat(full).st_mode & 0o777)
    return out


def write_atomic(target: str, files: dict[str, tuple[bytes, int]]) -> bool:
    """Make ``target`` hold exactly ``files`` (relative path -> (content, mode)).
    Returns whether anything changed."""
    os.makedirs(target, exist_ok=True)
    if _current(target) == files:
        return False
    stamp = os.path.join(target, f"..{time.strftime('%Y_%m_%d_%H_%M_%S')}.{time.time_ns()}")
    os.makedirs(stamp)
    for rel, (content, mode) in files.items():
        path = os.path.join(stamp, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(content)
        os.chmod(path, mode)
    data = os.path.join(target, DATA)
    old = os.readlink(data) if os.path.islink(data) else None
    tmp = os.path.join(target, "..data_tmp")
    if os.path.lexists(tmp):
        os.unlink(tmp)
    os.symlink(os.path.basename(stamp), tmp)
    os.rename(tmp, data)
    top = {rel.split(os.sep)[0] for rel in files}
    for name in top:
        link = os.path.join(target, name)
        if not os.path.lexists(link):
            os.symlink(os.path.join(DATA, name), link)
    for name in os.listdir(target):
        if not name.startswith("..") and name not in top:
            os.unlink(os.path.join(target, name))
    if old:
        shutil.rmtree(os.path.join(target, old), ignore_errors=True)
    return True
