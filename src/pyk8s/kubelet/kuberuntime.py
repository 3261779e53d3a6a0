"""Carrying out a pod's actions against the runtime: sandboxes, images, containers.

The imperative half of upstream's ``kuberuntime_manager.go``/``kuberuntime_container.go``
(the decisions are :mod:`.actions`): list what the runtime has per pod, create the
sandbox, have the image pulled (:mod:`.imagemanager`), build the container's environment
(fetching the ConfigMaps/Secrets it reads), its config and the pod's managed
``/etc/hosts`` (:mod:`.etchosts`), create and start it, and stop
containers and sandboxes with a grace period. Failures a user can fix are reported
back as waiting reasons (``ErrImagePull``, ``CreateContainerConfigError``,
``PostStartHookError``) rather than raised, as the kubelet does.

Lifecycle hooks (:mod:`.hooks`) run here, as in upstream's ``startContainer`` and
``killContainer``: postStart right after a start (a failure kills the container with
``FailedPostStartHook``), preStop before a running container is stopped, its time taken
from the grace period (the stop still gets at least 2 s afterwards).
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from dataclasses import dataclass

from ..client import Client, EventRecorder, NotFound
from ..client.errors import ClientError
from . import etchosts, terminationmessage
from .actions import (
    CRASH_LOOP,
    EXITED,
    RUNNING,
    PodActions,
    RestartBackoff,
    RuntimePod,
    backoff_key,
    container_name,
    restart_count,
)
from .containers import (
    POD_UID,
    container_config,
    effective_non_root,
    non_root_problem,
    sandbox_config,
)
from .envvars import (
    ConfigError,
    build_env,
    configmap_data,
    referenced,
    secret_data,
    service_env,
)
from .hooks import POST_START, PRE_STOP, describe, hook_handler, run_hook
from .imagemanager import ImageManager
from .runtime import ContainerStatus, Mount, Runtime, RuntimeError_
from .watchedobjects import NotSynced, WatchedObjects

log = logging.getLogger("pyk8s.kubelet.kuberuntime")

POST_START_TIMEOUT = 120.0  # a hung postStart must not hold the pod's worker forever
MIN_GRACE_AFTER_PRE_STOP = 2  # upstream's minimumGracePeriodInSeconds
MAX_REMEMBERED_MESSAGES = 4096  # exited containers' termination messages kept read


@dataclass
class RuntimeOptions:
    node_name: str
    host_ip: str
    log_root: str
    cluster_dns: tuple[str, ...] = ()
    cluster_domain: str = "cluster.local"
    pods_dir: str = ""  # <root dir>/pods: each pod's directory (its etc-hosts); "" for none


async def runtime_pods(runtime: Runtime, uid: str | None = None, *,
                       brief: bool = False) -> dict[str, RuntimePod]:
    """Everything the runtime runs for pods (or for the pod ``uid``: CRI's label filter
    keeps one pod's sync from asking the status of every sandbox and container on the
    node), by pod uid, newest sandbox/container first; ``brief`` as the runtime's lists."""
    labels = {POD_UID: uid} if uid else None
    pods: dict[str, RuntimePod] = {}
    sandboxes, containers = await asyncio.gather(
        runtime.list_pod_sandboxes(labels, brief=brief),
        runtime.list_containers(labels=labels, brief=brief))
    for sandbox in sandboxes:
        owner = sandbox.labels.get(POD_UID)
        if owner:
            pods.setdefault(owner, RuntimePod()).sandboxes.append(sandbox)
    for container in containers:
        owner = container.labels.get(POD_UID)
        if owner:
            pods.setdefault(owner, RuntimePod()).containers.append(container)
    for rp in pods.values():
        rp.sandboxes.sort(key=lambda s: s.created_at, reverse=True)
        rp.containers.sort(key=lambda c: c.created_at, reverse=True)
    return pods


async def read_config_object(watched: WatchedObjects | None, api, kind: str,
                             namespace: str, name: str) -> dict:
    """A ConfigMap or Secret from the node's manager (an unsynced watch is a config error,
    retried at the next sync), else from the API server."""
    if watched is None:
        return await api.get(name, namespace=namespace)
    try:
        return await watched.get(namespace, name)
    except NotSynced as err:
        raise ConfigError(f"failed to sync {kind} cache: {err}") from None


class _WatchedSecrets:
    """The image manager's ``get(name, namespace=)`` for pull secrets, served by the
    node's Secret manager (an unsynced watch is a failed read, as a failed GET)."""

    def __init__(self, watched: WatchedObjects) -> None:
        self.watched = watched

    async def get(self, name: str, *, namespace: str) -> dict:
        try:
            return await self.watched.get(namespace, name)
        except NotSynced as err:
            raise ClientError(f"failed to sync secret cache: {err}") from None


class PodRuntime:
    def __init__(self, client: Client, runtime: Runtime, recorder: EventRecorder,
                 opts: RuntimeOptions, *, services, allocatable: dict[str, str],
                 backoff: RestartBackoff, configmaps: WatchedObjects | None = None,
                 secrets: WatchedObjects | None = None) -> None:
        """``configmaps``/``secrets``: the node's watch-based managers (the pod is
        registered by its volume setup before its containers start); without them the
        environment's ConfigMaps and Secrets and the pull secrets are read from the API
        server."""
        self.runtime = runtime
        self.recorder = recorder
        self.opts = opts
        self.services = services  # a Store of Services (all namespaces)
        self.allocatable = allocatable
        self.backoff = backoff
        self.configmaps = configmaps
        self.secrets = secrets
        self.configmaps_api = client.api("v1", "ConfigMap")
        self.secrets_api = client.api("v1", "Secret")
        self._messages: dict[str, str] = {}  # exited container id -> termination message
        self.images = ImageManager(_WatchedSecrets(secrets) if secrets else self.secrets_api,
                                   runtime, recorder, backoff)

    async def pod(self, uid: str) -> RuntimePod:
        return (await runtime_pods(self.runtime, uid)).get(uid) or RuntimePod()

    async def apply(self, pod: dict, rp: RuntimePod, actions: PodActions,
                    volume_paths: dict[str, str]) -> dict[str, tuple[str, str]]:
        """Carry out ``actions``; returns containers left waiting (name -> reason, message)."""
        waiting = dict(actions.waiting)
        for name, (reason, _) in actions.waiting.items():
            if reason == CRASH_LOOP:
                self.recorder.event(pod, type="Warning", reason="BackOff", action="Start",
                                    note=f"Back-off restarting failed container {name} in "
                                         f"pod {_pod_ref(pod)}")
        grace = grace_period(pod)
        known = {c.id: c for c in rp.containers}
        pod_ip = _pod_ip(rp)
        await asyncio.gather(*(self.stop_container(pod, cid, grace, why,
                                                   status=known.get(cid), pod_ip=pod_ip)
                               for cid, why in actions.kill.items()))
        if actions.kill_pod:
            await self.stop_sandboxes(rp)
        if actions.pod_done:
            return waiting
        sandbox_id = actions.sandbox_id
        if actions.create_sandbox:
            config = self._sandbox_config(pod, actions.attempt)
            sandbox_id = await self.runtime.run_pod_sandbox(config)
        sandbox = await self.runtime.pod_sandbox_status(sandbox_id)
        config = self._sandbox_config(pod, actions.attempt)
        names = ([actions.start_init] if actions.start_init else []) + actions.start
        specs = {c["name"]: c for c in (pod.get("spec") or {}).get("initContainers") or ()}
        specs.update({c["name"]: c for c in (pod.get("spec") or {}).get("containers") or ()})
        for name in names:
            problem = await self.start_container(pod, specs[name], rp, sandbox_id, config,
                                                 sandbox.ip, volume_paths)
            if problem:
                waiting[name] = problem
        ephemeral = {c["name"]: c for c in (pod.get("spec") or {}).get("ephemeralContainers")
                     or ()}
        running = running_by_name(rp)
        for name in actions.start_ephemeral:
            container = ephemeral[name]
            target = running.get(container.get("targetContainerName") or "", "")
            problem = await self.start_container(pod, container, rp, sandbox_id, config,
                                                 sandbox.ip, volume_paths, pid_target_id=target)
            if problem:
                waiting[name] = problem
        return waiting

    def _sandbox_config(self, pod: dict, attempt: int):
        return sandbox_config(pod, attempt=attempt, log_root=self.opts.log_root,
                              cluster_dns=list(self.opts.cluster_dns),
                              cluster_domain=self.opts.cluster_domain)

    async def _env(self, pod: dict, container: dict, pod_ip: str) -> dict[str, str]:
        ns = pod["metadata"].get("namespace", "default")
        cm_names, secret_names = referenced(container)
        configmaps, secrets = {}, {}
        for name in cm_names:
            try:
                configmaps[name] = configmap_data(await read_config_object(
                    self.configmaps, self.configmaps_api, "configmap", ns, name))
            except NotFound:
                pass
        for name in secret_names:
            try:
                secrets[name] = secret_data(await read_config_object(
                    self.secrets, self.secrets_api, "secret", ns, name))
            except NotFound:
                pass
        links = (pod.get("spec") or {}).get("enableServiceLinks", True) is not False
        services = service_env(self.services.list(), ns, links)
        return build_env(container, pod, services=services, configmaps=configmaps,
                         secrets=secrets, host_ip=self.opts.host_ip, pod_ip=pod_ip,
                         allocatable=self.allocatable)

    async def start_container(self, pod: dict, container: dict, rp: RuntimePod,
                              sandbox_id: str, sandbox_config, pod_ip: str,
                              volume_paths: dict[str, str], *, pid_target_id: str = ""
                              ) -> tuple[str, str] | None:
        """Pull, configure, create and start; a user-fixable failure is returned."""
        name = container["name"]
        problem = await self.images.ensure(pod, container)
        if problem:
            return problem
        try:
            env = await self._env(pod, container, pod_ip)
            await self._verify_non_root(pod, container)
        except ConfigError as err:
            self.recorder.event(pod, type="Warning", reason="Failed", action="Create",
                                note=f"Error: {err}")
            return "CreateContainerConfigError", str(err)
        previous = rp.latest(name)
        count = restart_count(previous) + 1 if previous is not None else 0
        config = container_config(pod, container, env=env, restart_count=count,
                                  volume_paths=volume_paths)
        config.pid_target_id = pid_target_id
        config.mounts += await asyncio.to_thread(self._pod_files, pod, container, pod_ip, count)
        cid = await self.runtime.create_container(sandbox_id, config, sandbox_config)
        self.recorder.event(pod, reason="Created", action="Create",
                            note=f"Created container {name}")
        if previous is not None and previous.state == EXITED:
            self.backoff.next(backoff_key(pod, container))
        try:
            await self.runtime.start_container(cid)
        except RuntimeError_ as err:
            self.recorder.event(pod, type="Warning", reason="Failed", action="Start",
                                note=f"Error: {err}")
            return "RunContainerError", str(err)
        self.recorder.event(pod, reason="Started", action="Start",
                            note=f"Started container {name}")
        await self._remove_old(rp, name, keep=previous.id if previous else "")
        return await self._post_start(pod, container, cid, pod_ip)

    async def fill_termination_messages(self, pod: dict, rp: RuntimePod) -> None:
        """Set the message of each exited container from its termination message file
        (or its log's tail, per terminationMessagePolicy); read once per container."""
        if not self.opts.pods_dir:
            return
        spec = pod.get("spec") or {}
        specs = {c["name"]: c for kind in ("initContainers", "containers", "ephemeralContainers")
                 for c in spec.get(kind) or ()}
        for status in rp.containers:
            container = specs.get(container_name(status))
            if status.state != EXITED or status.message or container is None:
                continue
            message = self._messages.get(status.id)
            if message is None:
                message = await self._termination_message(pod, container, status)
                if len(self._messages) >= MAX_REMEMBERED_MESSAGES:
                    del self._messages[next(iter(self._messages))]
                self._messages[status.id] = message
            status.message = message

    async def _termination_message(self, pod: dict, container: dict,
                                   status: ContainerStatus) -> str:
        path = terminationmessage.message_path(self.opts.pods_dir, pod["metadata"]["uid"],
                                               container["name"], restart_count(status))
        message = await asyncio.to_thread(terminationmessage.read_message, path)
        if message or status.exit_code == 0 or not status.log_path or \
                container.get("terminationMessagePolicy") != "FallbackToLogsOnError":
            return message
        return await asyncio.to_thread(terminationmessage.log_tail, status.log_path)

    async def _verify_non_root(self, pod: dict, container: dict) -> None:
        """ConfigError when runAsNonRoot forbids the container's user."""
        non_root, run_as = effective_non_root(pod, container)
        if not non_root:
            return
        uid, user = (None, "") if run_as is not None else \
            await self.runtime.image_user(container.get("image", ""))
        problem = non_root_problem(pod, container, uid, user)
        if problem:
            raise ConfigError(problem)

    def _pod_files(self, pod: dict, container: dict, pod_ip: str, restart_count: int
                   ) -> list[Mount]:
        """Write the files the kubelet mounts into a container (blocking: run in a thread,
        one hop for both): the pod's managed /etc/hosts and the container instance's
        termination message file; their mounts."""
        if not self.opts.pods_dir:
            return []
        mounts, uid = [], pod["metadata"]["uid"]
        host_network = bool((pod.get("spec") or {}).get("hostNetwork"))
        ip = self.opts.host_ip if host_network else pod_ip
        if ip and etchosts.wants_hosts_file(container):
            node_hosts = etchosts.read_node_hosts() if host_network else ""
            path = os.path.join(self.opts.pods_dir, uid, "etc-hosts")
            etchosts.write_hosts_file(path, etchosts.hosts_file_content(
                pod, [ip], self.opts.cluster_domain, node_hosts))
            mounts.append(Mount(container_path=etchosts.CONTAINER_PATH, host_path=path))
        message_at = container.get("terminationMessagePath")
        if message_at:
            path = terminationmessage.message_path(self.opts.pods_dir, uid, container["name"],
                                                   restart_count)
            terminationmessage.create_message_file(path)
            mounts.append(Mount(container_path=message_at, host_path=path))
        return mounts

    async def _post_start(self, pod: dict, container: dict, cid: str,
                          pod_ip: str) -> tuple[str, str] | None:
        """Run the postStart hook; on failure the container is killed, as upstream."""
        handler = hook_handler(container, POST_START)
        if handler is None:
            return None
        error = await run_hook(self.runtime, handler, container, cid, pod_ip,
                               POST_START_TIMEOUT)
        if not error:
            return None
        message = _hook_message(handler, pod, container, error)
        self.recorder.event(pod, type="Warning", reason="FailedPostStartHook",
                            action="PostStartHook", note=message)
        await self.stop_container(pod, cid, grace_period(pod), "FailedPostStartHook",
                                  container=container, pod_ip=pod_ip)
        return "PostStartHookError", message

    async def _remove_old(self, rp: RuntimePod, name: str, keep: str) -> None:
        """Only the newest dead instance is kept (for lastState), as the container GC."""
        for status in rp.instances(name):
            if status.id != keep and status.state == EXITED:
                try:
                    await self.runtime.remove_container(status.id)
                except RuntimeError_ as err:
                    log.warning("removing container %s: %s", status.id[:12], err)

    async def stop_container(self, pod: dict, cid: str, grace: int, why: str, *,
                             status=None, container: dict | None = None,
                             pod_ip: str = "") -> None:
        """Stop ``cid`` within ``grace`` seconds, running its preStop hook first when it is
        running and its spec (``container``, else found by ``status``'s name) has one."""
        if container is None and status is not None and status.state == RUNNING:
            container = _spec(pod, container_name(status))
        handler = hook_handler(container or {}, PRE_STOP)
        name = (container or {}).get("name") or (container_name(status) if status else cid[:12])
        self.recorder.event(pod, reason="Killing", action="Kill",
                            note=why if why.startswith("Container ") else
                            f"Stopping container {name} ({why})")
        if handler is not None and grace > 0:
            started = time.monotonic()
            error = await run_hook(self.runtime, handler, container, cid, pod_ip, grace)
            if error:
                self.recorder.event(pod, type="Warning", reason="FailedPreStopHook",
                                    action="PreStopHook",
                                    note=_hook_message(handler, pod, container, error))
            grace = max(MIN_GRACE_AFTER_PRE_STOP, grace - int(time.monotonic() - started))
        try:
            await self.runtime.stop_container(cid, grace)
        except RuntimeError_ as err:
            if err.code != "NotFound":
                raise

    async def stop_sandboxes(self, rp: RuntimePod) -> None:
        for sandbox in rp.sandboxes:
            if sandbox.state == "SANDBOX_READY":
                await self.runtime.stop_pod_sandbox(sandbox.id)

    async def kill_pod(self, pod: dict, rp: RuntimePod, grace: int) -> None:
        """Stop every container (concurrently, with ``grace``), then the sandboxes."""
        pod_ip = _pod_ip(rp)
        await asyncio.gather(*(self.stop_container(pod, c.id, grace, "pod deleted", status=c,
                                                   pod_ip=pod_ip)
                               for c in rp.running()))
        await self.stop_sandboxes(rp)

    async def remove_pod(self, rp: RuntimePod) -> None:
        """Remove the stopped containers and sandboxes of a pod that is gone."""
        for container in rp.containers:
            await self.runtime.remove_container(container.id)
        for sandbox in rp.sandboxes:
            await self.runtime.remove_pod_sandbox(sandbox.id)


def grace_period(pod: dict) -> int:
    """The pod's deletion grace period, else its terminationGracePeriodSeconds (30)."""
    meta, spec = pod.get("metadata") or {}, pod.get("spec") or {}
    for value in (meta.get("deletionGracePeriodSeconds"),
                  spec.get("terminationGracePeriodSeconds")):
        if value is not None:
            return int(value)
    return 30


def _pod_ip(rp: RuntimePod) -> str:
    sandbox = rp.ready_sandbox()
    return sandbox.ip if sandbox else ""


def _spec(pod: dict, name: str) -> dict | None:
    spec = pod.get("spec") or {}
    for c in (spec.get("containers") or []) + (spec.get("initContainers") or []):
        if c.get("name") == name:
            return c
    return None


def _pod_ref(pod: dict) -> str:
    meta = pod["metadata"]
    return f"{meta['name']}_{meta.get('namespace', '')}({meta['uid']})"


def _hook_message(handler: dict, pod: dict, container: dict, error: str) -> str:
    meta = pod["metadata"]
    return (f'{describe(handler)} for Container "{container["name"]}" in Pod '
            f'"{meta["name"]}_{meta.get("namespace", "")}({meta["uid"]})" failed - '
            f"error: {error}")


def running_by_name(rp: RuntimePod) -> dict[str, str]:
    return {container_name(c): c.id for c in rp.running()}
