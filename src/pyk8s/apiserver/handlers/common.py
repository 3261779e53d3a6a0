"""What every resource handler shares: the parsed request and response helpers."""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from .. import errors
from ..codec import Target, dumps, negotiate
from ..fieldvalidation import warning_header_value
from ..context import ServerContext
from ..objects import ObjectStore
from ..registry import ResourceType
from ..requestinfo import RequestInfo

#: Where the front end leaves the authenticated user for the handlers.
USER_KEY = web.RequestKey("user", object)

JSON_TYPE = "application/json"
TABLE_TYPE = "application/json;as=Table;v=v1;g=meta.k8s.io"
#: What Go's strconv.ParseBool reads as true (the Python client sends "True").
TRUE_VALUES = frozenset(("1", "t", "T", "TRUE", "true", "True"))


@dataclass
class ResourceRequest:
    """One request against a resource, after routing."""

    http: web.Request
    ctx: ServerContext
    rt: ResourceType
    info: RequestInfo
    objects: ObjectStore

    @property
    def query(self):
        return self.http.query

    @property
    def namespace(self) -> str | None:
        return self.info.namespace if self.rt.namespaced else None

    @property
    def content_type(self) -> str:
        """The body's media type; a request without Content-Type is JSON, as upstream
        (client-go's scale client sends none). aiohttp would say application/octet-stream."""
        raw = self.http.headers.get("Content-Type", "")
        return raw.split(";")[0].strip().lower() or JSON_TYPE

    def target(self) -> Target:
        return negotiate(self.http.headers.get("Accept"), self.query.get("includeObject"))

    @property
    def user(self):
        """The authenticated user (set by the front end before routing)."""
        return self.http.get(USER_KEY)

    @property
    def manager(self) -> str:
        """The field manager: ?fieldManager=, else the user agent's first segment."""
        name = self.query.get("fieldManager")
        if name:
            return name
        agent = self.http.headers.get("User-Agent", "")
        return agent.split("/", 1)[0][:128]

    @property
    def dry_run(self) -> bool:
        values = self.query.getall("dryRun", [])
        for value in values:
            if value != "All":
                raise errors.bad_request(f'unsupported dry run option "{value}"')
        return bool(values)


def json_response(body: object, status: int = 200, *, content_type: str = JSON_TYPE,
                  warnings: tuple[str, ...] = ()) -> web.Response:
    headers = {"Content-Type": content_type}
    resp = web.Response(body=dumps(body), status=status, headers=headers)
    for w in warnings:
        resp.headers.add("Warning", warning_header_value(w))
    return resp


def status_success(rt: ResourceType, obj: dict) -> dict:
    meta = obj.get("metadata") or {}
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success",
        "details": {"name": meta.get("name"), "group": rt.group, "kind": rt.plural,
                    "uid": meta.get("uid")},
    }


def parse_int(value: str | None, name: str) -> int | None:
    if value in (None, ""):
        return None
    try:
        return int(value)
    except ValueError:
        raise errors.bad_request(f"invalid value for {name}: {value!r}") from None
