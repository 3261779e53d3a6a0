"""The generic REST client: every verb for any served resource, as plain dicts.

Like client-go's dynamic client, resources are named by (apiVersion, kind) or (group,
version, plural) and resolved through discovery, so the same code serves built-in kinds and
CRDs. ``Client.api(...)`` returns a ``ResourceAPI`` bound to one resource; its verbs mirror
the REST verbs (get, list, create, update, patch, delete, deletecollection, watch) plus
subresources. Watches raise ERROR events as ``ApiError``\\s (``Gone`` for 410) so callers
handle one error taxonomy.
"""

from __future__ import annotations

import asyncio
import copy
import inspect
import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Self

import orjson

from .config import Config
from .discovery import Discovery, Resource
from .errors import Conflict, NotFound, from_status
from .transport import RetryPolicy, Transport, iter_lines

log = logging.getLogger(__name__)

PATCH_TYPES = {
    "merge": "application/merge-patch+json",
    "json": "application/json-patch+json",
    "strategic": "application/strategic-merge-patch+json",
    "apply": "application/apply-patch+yaml",
}


class Client:
    """One API server connection pool shared by every ResourceAPI of a process."""

    def __init__(self, config: Config, *, connection_limit: int = 100,
                 retry: RetryPolicy | None = None, timeout: float = 60.0) -> None:
        self.config = config
        self.transport = Transport(config, connection_limit=connection_limit, retry=retry,
                                   timeout=timeout)
        self.discovery = Discovery(self._discover)

    async def __aenter__(self) -> Self:
        await self.transport.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        await self.transport.close()

    async def _discover(self, path: str, accept: str) -> dict:
        return await self.transport.request("GET", path, accept=accept)

    def api(self, api_version: str | None = None, kind: str | None = None, *,
            group: str | None = None, version: str | None = None,
            plural: str | None = None) -> ResourceAPI:
        """A ResourceAPI for ``api("apps/v1", "Deployment")`` or
        ``api(group="apps", version="v1", plural="deployments")``."""
        if api_version and kind:
            return ResourceAPI(self, lambda: self.discovery.by_kind(api_version, kind))
        if version and plural:
            return ResourceAPI(self, lambda: self.discovery.by_plural(group or "", version,
                                                                       plural))
        raise TypeError("api() needs (api_version, kind) or (group, version, plural)")

    async def request(self, method: str, path: str, **kwargs: Any) -> dict:
        """A raw request against any path (for non-resource endpoints)."""
        return await self.transport.request(method, path, **kwargs)


def _meta(body: dict) -> dict:
    return body.get("metadata") or {}


class ResourceAPI:
    """The verbs for one resource; the Resource is resolved lazily and cached."""

    def __init__(self, client: Client, resolve: Callable[[], Awaitable[Resource]]) -> None:
        self.client = client
        self._resolve = resolve
        self._resource: Resource | None = None

    @property
    def resolved(self) -> Resource | None:
        """The Resource if already resolved (for logging), else None."""
        return self._resource

    async def resource(self) -> Resource:
        if self._resource is None:
            self._resource = await self._resolve()
        return self._resource

    def _namespace(self, res: Resource, namespace: str | None, body: dict | None = None
                   ) -> str | None:
        if not res.namespaced:
            return None
        return namespace or (body and _meta(body).get("namespace")) or \
            self.client.config.namespace

    async def _call(self, method: str, *, namespace: str | None = None,
                    name: str | None = None, subresource: str | None = None,
                    all_namespaces: bool = False, body: dict | None = None, **kwargs: Any
                    ) -> dict:
        res = await self.resource()
        ns = None if all_namespaces else self._namespace(res, namespace, body)
        path = res.path(namespace=ns, name=name, subresource=subresource)
        try:
            return await self.client.transport.request(method, path, body=body, **kwargs)
        except NotFound as err:
            if not err.details.get("name") and not name:
                self._forget_resource()
            raise

    def _forget_resource(self) -> None:
        """A 404 on a collection may mean the resource went away (a CRD was deleted)."""
        self._resource = None
        self.client.discovery.invalidate()

    async def _typed(self, body: dict) -> dict:
        """``body`` with apiVersion and kind filled in (a shallow copy; never mutated)."""
        res = await self.resource()
        return {"apiVersion": res.api_version, "kind": res.kind, **body}

    async def get(self, name: str, *, namespace: str | None = None,
                  subresource: str | None = None, resource_version: str | None = None) -> dict:
        return await self._call("GET", namespace=namespace, name=name, subresource=subresource,
                                params={"resourceVersion": resource_version})

    async def list(self, *, namespace: str | None = None, label_selector: str | None = None,
                   field_selector: str | None = None, limit: int | None = None,
                   continue_: str | None = None, resource_version: str | None = None,
                   resource_version_match: str | None = None) -> dict:
        """One page: a List with ``items`` and ``metadata.continue`` if there is more.
        ``namespace=None`` lists across all namespaces."""
        params = {"labelSelector": label_selector, "fieldSelector": field_selector,
                  "limit": limit, "continue": continue_, "resourceVersion": resource_version,
                  "resourceVersionMatch": resource_version_match}
        return await self._call("GET", namespace=namespace, all_namespaces=namespace is None,
                                params=params)

    async def iterate(self, *, limit: int = 500, **kwargs: Any) -> AsyncIterator[dict]:
        """Every item across pages (limit/continue), as client-go's ListPager."""
        async for page in self.pages(limit=limit, **kwargs):
            for item in page.get("items") or ():
                yield item

    async def pages(self, *, limit: int = 500, **kwargs: Any) -> AsyncIterator[dict]:
        """Each List page in turn; later pages drop resourceVersion, as the API requires."""
        res = await self.resource()
        page = await self.list(limit=limit, **kwargs)
        yield _typed_items(page, res)
        kwargs.pop("resource_version", None)
        kwargs.pop("resource_version_match", None)
        while token := _meta(page).get("continue"):
            page = await self.list(limit=limit, continue_=token, **kwargs)
            yield _typed_items(page, res)

    async def create(self, body: dict, *, namespace: str | None = None,
                     name: str | None = None, subresource: str | None = None,
                     field_manager: str | None = None, dry_run: bool = False) -> dict:
        """POST a new object, or (with ``name`` and ``subresource``) a subresource such as
        ``binding``, ``eviction`` or ``token`` of the named object."""
        params = {"fieldManager": field_manager, "dryRun": "All" if dry_run else None}
        if subresource is None:
            body = await self._typed(body)
        return await self._call("POST", namespace=namespace, name=name,
                                subresource=subresource, body=body, params=params)

    async def update(self, body: dict, *, subresource: str | None = None,
                     field_manager: str | None = None) -> dict:
        """PUT ``body`` (its metadata.resourceVersion is the optimistic-concurrency guard)."""
        body = await self._typed(body)
        return await self._call("PUT", namespace=_meta(body).get("namespace"),
                                name=_meta(body)["name"], subresource=subresource,
                                body=body, params={"fieldManager": field_manager})

    async def update_status(self, body: dict, **kwargs: Any) -> dict:
        return await self.update(body, subresource="status", **kwargs)

    async def patch(self, name: str, body: Any, *, namespace: str | None = None,
                    type: str = "merge", field_manager: str | None = None,
                    force: bool | None = None, subresource: str | None = None) -> dict:
        """PATCH with ``type`` merge, json, strategic or apply (server-side apply needs
        ``field_manager``; ``force`` takes conflicting fields over)."""
        if type == "apply" and not field_manager:
            raise ValueError("server-side apply needs a field_manager")
        return await self._call("PATCH", namespace=namespace, name=name,
                                subresource=subresource, body=body,
                                content_type=PATCH_TYPES[type],
                                params={"fieldManager": field_manager, "force": force})

    async def patch_status(self, name: str, body: Any, **kwargs: Any) -> dict:
        return await self.patch(name, body, subresource="status", **kwargs)

    async def delete(self, name: str, *, namespace: str | None = None,
                     propagation_policy: str | None = None,
                     grace_period_seconds: int | None = None,
                     preconditions: dict | None = None) -> dict:
        """DELETE; answers the object (graceful/finalized) or a Status."""
        return await self._call("DELETE", namespace=namespace, name=name,
                                body=_delete_options(propagation_policy, grace_period_seconds,
                                                     preconditions))

    async def delete_collection(self, *, namespace: str | None = None,
                                label_selector: str | None = None,
                                field_selector: str | None = None,
                                propagation_policy: str | None = None) -> dict:
        return await self._call("DELETE", namespace=namespace,
                                body=_delete_options(propagation_policy, None, None),
                                params={"labelSelector": label_selector,
                                        "fieldSelector": field_selector})

    async def watch(self, *, namespace: str | None = None, label_selector: str | None = None,
                    field_selector: str | None = None, resource_version: str | None = None,
                    allow_bookmarks: bool = True, timeout_seconds: int | None = None,
                    name: str | None = None) -> AsyncIterator[tuple[str, dict]]:
        """(type, object) events until the server ends the stream. ERROR events raise
        the matching ApiError (``Gone`` when the resourceVersion is too old)."""
        res = await self.resource()
        ns = self._namespace(res, namespace) if namespace else None
        if name:
            field_selector = ",".join(filter(None, [f"metadata.name={name}", field_selector]))
        params = {"watch": True, "labelSelector": label_selector,
                  "fieldSelector": field_selector, "resourceVersion": resource_version,
                  "allowWatchBookmarks": allow_bookmarks or None,
                  "timeoutSeconds": timeout_seconds}
        read_timeout = timeout_seconds + 30 if timeout_seconds else None
        async with self.client.transport.stream(res.path(namespace=ns), params=params,
                                                read_timeout=read_timeout) as resp:
            async for line in iter_lines(resp):
                event = orjson.loads(line)
                if event["type"] == "ERROR":
                    raise from_status(event["object"])
                yield event["type"], event["object"]


def _typed_items(page: dict, res: Resource) -> dict:
    """Give list items the apiVersion/kind the wire form leaves out (as the dynamic
    client's UnstructuredList does); the page is freshly decoded, so this is no mutation
    of shared state."""
    for item in page.get("items") or ():
        item.setdefault("apiVersion", res.api_version)
        item.setdefault("kind", res.kind)
    return page


def _delete_options(policy: str | None, grace: int | None, preconditions: dict | None
                    ) -> dict | None:
    opts = {"propagationPolicy": policy, "gracePeriodSeconds": grace,
            "preconditions": preconditions}
    opts = {k: v for k, v in opts.items() if v is not None}
    return {"kind": "DeleteOptions", "apiVersion": "v1", **opts} if opts else None


async def _maybe_await(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


async def retry_on_conflict(get: Callable[[], Awaitable[dict]],
                            mutate: Callable[[dict], Any],
                            update: Callable[[dict], Awaitable[dict]], *,
                            attempts: int = 5, delay: float = 0.01, jitter: float = 0.1) -> dict:
    """Get, mutate, update; on 409 Conflict start over from a fresh get.

    ``mutate`` gets a private deep copy (sync or async) and returns the object to write,
    or None when nothing needs changing (the fetched object is returned, no write).
    client-go's ``retry.RetryOnConflict`` with ``DefaultRetry`` (5 steps, 10 ms, jitter 0.1).
    """
    attempt = 0
    while True:
        current = await get()
        desired = await _maybe_await(mutate(copy.deepcopy(current)))
        if desired is None:
            return current
        try:
            return await update(desired)
        except Conflict:
            attempt += 1
            if attempt >= attempts:
                raise
            await asyncio.sleep(delay * (1 + random.uniform(0, jitter)))

