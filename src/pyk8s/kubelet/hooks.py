"""Container lifecycle hooks: ``postStart`` and ``preStop``, as upstream's lifecycle handlers.

A hook lets a container's author run something at the two edges of its life: ``postStart``
right after the container started (warming a cache, registering somewhere) and ``preStop``
before it is stopped (draining connections). Both take the same handlers as upstream:

* ``exec``: the command through the runtime's ExecSync; a non-zero exit is a failure;
* ``httpGet``: a GET to the pod's IP (or ``host``) and port; a status outside 200-399 fails;
* ``sleep``: wait ``seconds`` (PodLifecycleSleepAction);
* ``tcpSocket`` is kept by the API for compatibility only and fails at run time, as upstream.

What a failure means is the caller's business (:mod:`.kuberuntime`): a failed postStart
kills the container (``FailedPostStartHook``), a failed preStop is reported and the stop
goes on. :func:`run_hook` only runs one handler within a time limit and says what went wrong.
"""

from __future__ import annotations

import asyncio
import math

from .probes import _http
from .runtime import Runtime, RuntimeError_

POST_START = "postStart"
PRE_STOP = "preStop"


def hook_handler(container: dict, kind: str) -> dict | None:
    """The container's ``lifecycle.<kind>`` handler, or None."""
    return ((container.get("lifecycle") or {}).get(kind)) or None


async def run_hook(runtime: Runtime, handler: dict, container: dict, container_id: str,
                   pod_ip: str, timeout: float) -> str:
    """Run one handler for at most ``timeout`` seconds; "" on success, else why it failed."""
    try:
        async with asyncio.timeout(timeout if math.isfinite(timeout) else None):
            return await _run(runtime, handler, container, container_id, pod_ip, timeout)
    except TimeoutError:
        return f"timed out after {timeout:.0f}s"
    except (OSError, ValueError, RuntimeError_) as err:
        return str(err) or type(err).__name__


async def _run(runtime: Runtime, handler: dict, container: dict, container_id: str,
               pod_ip: str, timeout: float) -> str:
    if "exec" in handler:
        cmd = list((handler["exec"] or {}).get("command") or ())
        exec_timeout = int(timeout) if math.isfinite(timeout) else 0
        result = await runtime.exec_sync(container_id, cmd, exec_timeout)
        if result.exit_code == 0:
            return ""
        output = (result.stdout + result.stderr).decode(errors="replace").strip()[:1024]
        return f"command '{' '.join(cmd)}' exited with {result.exit_code}: {output}"
    if "httpGet" in handler:
        limit = int(timeout) if math.isfinite(timeout) else 30
        ok, message = await _http(handler["httpGet"], container, pod_ip, limit)
        return "" if ok else message
    if "sleep" in handler:
        await asyncio.sleep(max(0, int((handler["sleep"] or {}).get("seconds") or 0)))
        return ""
    return "a lifecycle handler needs exec, httpGet or sleep (tcpSocket is not supported)"


def describe(handler: dict) -> str:
    """How upstream names a handler in its events: ``Exec lifecycle hook ([cmd])``, ..."""
    if "exec" in handler:
        command = (handler["exec"] or {}).get("command") or []
        return f"Exec lifecycle hook ([{' '.join(command)}])"
    if "httpGet" in handler:
        spec = handler["httpGet"] or {}
        return f"HTTP lifecycle hook ({spec.get('path') or '/'})"
    if "sleep" in handler:
        return "Sleep lifecycle hook"
    return "Lifecycle hook"
