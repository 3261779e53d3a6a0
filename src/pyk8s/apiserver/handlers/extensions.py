"""Endpoints that are not stored objects: review APIs and special subresources.

TokenReview, SubjectAccessReview and their kin are create-only resources whose
answer is computed, never stored; ``serviceaccounts/NAME/token`` mints a token.
Packages that own such behaviour register a handler here with the decorators,
and the front end routes to it before the generic store-backed handlers.
"""

from __future__ import annotations

import importlib
from typing import Awaitable, Callable

from aiohttp import web

from .common import ResourceRequest

CreateHandler = Callable[[ResourceRequest, dict], Awaitable[dict]]
SubresourceHandler = Callable[[ResourceRequest], Awaitable[web.StreamResponse]]

_CREATE: dict[tuple[str, str], CreateHandler] = {}
_SUBRESOURCE: dict[tuple[str, str, str], SubresourceHandler] = {}

#: Modules that register handlers when imported.
HANDLER_MODULES = (
    "pyk8s.apiserver.authn.api",
    "pyk8s.apiserver.authz.api",
    "pyk8s.apiserver.handlers.podproxy",
    "pyk8s.apiserver.handlers.proxy",
)
_loaded = False


def on_create(group: str, plural: str):
    """Decorate ``async def handler(req, body) -> response object`` for a computed resource."""

    def wrap(fn: CreateHandler) -> CreateHandler:
        _CREATE[(group, plural)] = fn
        return fn

    return wrap


def on_subresource(group: str, plural: str, subresource: str):
    """Decorate ``async def handler(req) -> web response`` for a special subresource."""

    def wrap(fn: SubresourceHandler) -> SubresourceHandler:
        _SUBRESOURCE[(group, plural, subresource)] = fn
        return fn

    return wrap


def _load() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    for name in HANDLER_MODULES:
        importlib.import_module(name)


def create_handler(group: str, plural: str) -> CreateHandler | None:
    _load()
    return _CREATE.get((group, plural))


def subresource_handler(group: str, plural: str, subresource: str) -> SubresourceHandler | None:
    _load()
    return _SUBRESOURCE.get((group, plural, subresource))
