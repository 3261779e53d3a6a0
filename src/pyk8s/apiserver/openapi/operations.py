"""The REST operations pyk8s serves, as a format-neutral model of OpenAPI paths.

Every served resource (and its subresources) becomes a few :class:`Path` records
whose :class:`Operation` entries carry what upstream publishes: ``operationId``
(``listCoreV1NamespacedPod``), ``x-kubernetes-action``,
``x-kubernetes-group-version-kind``, query parameters, request body and response
definitions. :mod:`.render` turns the model into OpenAPI 3 and Swagger 2.

What clients read from it: kubectl's query-parameter verifier looks at every PATCH
operation whose ``x-kubernetes-group-version-kind`` equals the object's GVK and
wants a ``fieldValidation`` parameter on it (the first such operation decides, so
all of them carry it); ``kubectl explain`` finds the GVK through the GET/POST/PUT/
PATCH/DELETE operations of ``.../<plural>`` and ``.../<plural>/{name}``.
Watching is the list GET with ``watch=true``; the deprecated ``/watch/`` paths are
not published (and not served).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..registry import SUBRESOURCE_SHAPES, ResourceType
from . import definitions

STATUS = "io.k8s.apimachinery.pkg.apis.meta.v1.Status"
DELETE_OPTIONS = "io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions"
PATCH = "io.k8s.apimachinery.pkg.apis.meta.v1.Patch"
API_RESOURCE_LIST = "io.k8s.apimachinery.pkg.apis.meta.v1.APIResourceList"
API_VERSIONS = "io.k8s.apimachinery.pkg.apis.meta.v1.APIVersions"
API_GROUP_LIST = "io.k8s.apimachinery.pkg.apis.meta.v1.APIGroupList"
API_GROUP = "io.k8s.apimachinery.pkg.apis.meta.v1.APIGroup"
VERSION_INFO = "io.k8s.apimachinery.pkg.version.Info"

#: Query parameters: name -> (type, description).
QUERY_PARAMS: dict[str, tuple[str, str]] = {
    "allowWatchBookmarks": ("boolean", "allowWatchBookmarks requests watch events with type "
                            "\"BOOKMARK\". Servers may ignore it; clients must not rely on "
                            "bookmarks arriving. Ignored when not watching."),
    "continue": ("string", "The continue token of a previous paged list result. An expired "
                 "token is answered with 410 ResourceExpired. Not supported when watching."),
    "dryRun": ("string", "When present, indicates that modifications should not be persisted. "
               "Valid values are: - All: all dry run stages will be processed"),
    "fieldManager": ("string", "fieldManager is a name associated with the actor or entity "
                     "that is making these changes. At most 128 printable characters. Required "
                     "for apply requests (application/apply-patch)."),
    "fieldSelector": ("string", "A selector to restrict the list of returned objects by their "
                      "fields. Defaults to everything."),
    "fieldValidation": ("string", "fieldValidation instructs the server on how to handle "
                        "objects in the request (POST/PUT/PATCH) containing unknown or "
                        "duplicate fields. Valid values are: - Ignore: drop unknown fields "
                        "silently and keep the last of duplicate fields. - Warn: send a warning "
                        "header for each unknown or duplicate field (the default). - Strict: "
                        "fail the request with BadRequest listing every unknown and duplicate "
                        "field."),
    "force": ("boolean", "Force is going to \"force\" Apply requests: the applier re-acquires "
              "fields owned by other managers. Must be unset for non-apply patch requests."),
    "gracePeriodSeconds": ("integer", "The duration in seconds before the object should be "
                           "deleted. Zero means delete immediately; unset means the default "
                           "of the type."),
    "ignoreStoreReadErrorWithClusterBreakingPotential": (
        "boolean", "If set, an object that cannot be read from storage (for example it "
        "fails to decode) is deleted anyway. Use with care: it bypasses finalizers and "
        "admission."),
    "labelSelector": ("string", "A selector to restrict the list of returned objects by their "
                      "labels. Defaults to everything."),
    "limit": ("integer", "limit is a maximum number of responses to return for a list call. "
              "When more items exist the list metadata carries a continue token. Not "
              "supported when watching."),
    "orphanDependents": ("boolean", "Deprecated: please use the PropagationPolicy. Should the "
                         "dependent objects be orphaned."),
    "pretty": ("string", "If 'true', then the output is pretty printed."),
    "propagationPolicy": ("string", "Whether and how garbage collection will be performed: "
                          "'Orphan', 'Background' or 'Foreground'."),
    "resourceVersion": ("string", "resourceVersion sets a constraint on what resource versions "
                        "a request may be served from. Defaults to unset"),
    "resourceVersionMatch": ("string", "resourceVersionMatch determines how resourceVersion is "
                             "applied to list calls: NotOlderThan or Exact. Defaults to unset"),
    "sendInitialEvents": ("boolean", "With watch=true, start the stream with synthetic ADDED "
                          "events for the current state, then a BOOKMARK annotated "
                          "\"k8s.io/initial-events-end\". Requires resourceVersionMatch."),
    "timeoutSeconds": ("integer", "Timeout for the list/watch call. This limits the duration "
                       "of the call, regardless of any activity or inactivity."),
    "watch": ("boolean", "Watch for changes to the described resources and return them as a "
              "stream of add, update, and remove notifications. Specify resourceVersion."),
}

LIST_PARAMS = ("allowWatchBookmarks", "continue", "fieldSelector", "labelSelector", "limit",
               "resourceVersion", "resourceVersionMatch", "sendInitialEvents", "timeoutSeconds",
               "watch")
WRITE_PARAMS = ("dryRun", "fieldManager", "fieldValidation")
PATCH_PARAMS = WRITE_PARAMS + ("force",)
DELETE_PARAMS = ("dryRun", "gracePeriodSeconds",
                 "ignoreStoreReadErrorWithClusterBreakingPotential", "orphanDependents",
                 "propagationPolicy")
DELETECOLLECTION_PARAMS = tuple(sorted(set(DELETE_PARAMS) | set(LIST_PARAMS) - {
    "allowWatchBookmarks", "watch"}))

PATCH_CONTENT_TYPES = ("application/apply-patch+yaml", "application/json-patch+json",
                       "application/merge-patch+json", "application/strategic-merge-patch+json")

_RESPONSE_CODES = {
    "get": (200,), "list": (200,), "post": (200, 201, 202), "put": (200, 201),
    "patch": (200, 201), "delete": (200, 202), "deletecollection": (200,),
}
_CODE_TEXT = {200: "OK", 201: "Created", 202: "Accepted"}
_METHOD = {"get": "get", "list": "get", "post": "post", "put": "put", "patch": "patch",
           "delete": "delete", "deletecollection": "delete"}
_VERB_TO_ACTION = {"get": "get", "update": "put", "patch": "patch", "create": "post",
                   "delete": "delete"}


@dataclass
class Operation:
    """One HTTP method on one path."""

    action: str  # x-kubernetes-action
    operation_id: str
    description: str
    tag: str
    gvk: tuple[str, str, str] | None = None
    params: tuple[str, ...] = ()
    body: str | None = None  # definition name of the request body
    response: str | None = None  # definition name of the success responses

    @property
    def method(self) -> str:
        return _METHOD[self.action]

    @property
    def codes(self) -> tuple[int, ...]:
        return _RESPONSE_CODES.get(self.action, (200,))

    @property
    def is_patch(self) -> bool:
        return self.action == "patch"


@dataclass
class Path:
    """One URL template with its path-level parameters and operations."""

    path: str
    path_params: tuple[tuple[str, str], ...] = ()  # (name, description)
    query_params: tuple[str, ...] = ("pretty",)
    operations: list[Operation] = field(default_factory=list)


def code_text(code: int) -> str:
    return _CODE_TEXT.get(code, "OK")


def group_tag(group: str, version: str = "") -> str:
    """Upstream's tag: ``core_v1``, ``apps_v1``, ``rbacAuthorization_v1`` (``apps`` alone)."""
    if not group:
        name = "core"
    else:
        parts = group.removesuffix(".k8s.io").split(".")
        name = parts[0] + "".join(p[:1].upper() + p[1:] for p in parts[1:])
    return f"{name}_{version}" if version else name


def group_id(group: str) -> str:
    """The group as it appears inside operation ids: ``Core``, ``RbacAuthorization``."""
    if not group:
        return "Core"
    parts = group.removesuffix(".k8s.io").replace("-", ".").split(".")
    return "".join(p[:1].upper() + p[1:] for p in parts)


def _gv_id(group: str, version: str) -> str:
    return group_id(group) + version[:1].upper() + version[1:]


def prefix(group: str, version: str) -> str:
    return f"/api/{version}" if not group else f"/apis/{group}/{version}"


_NAMESPACE = ("namespace", "object name and auth scope, such as for teams and projects")


def _name_param(kind: str) -> tuple[str, str]:
    return ("name", f"name of the {kind}")


def resource_paths(rt: ResourceType) -> list[Path]:
    """All paths (collection, item, all-namespaces list, subresources) of one resource."""
    gv = _gv_id(rt.group, rt.version)
    scope = "Namespaced" if rt.namespaced else ""
    tag = group_tag(rt.group, rt.version)
    gvk = (rt.group, rt.version, rt.kind)
    kind_def = definitions.name_for(*gvk)
    list_def = definitions.name_for(rt.group, rt.version, rt.kind + "List")
    base = prefix(rt.group, rt.version)
    collection = (f"{base}/namespaces/{{namespace}}/{rt.plural}" if rt.namespaced
                  else f"{base}/{rt.plural}")
    ns_params = (_NAMESPACE,) if rt.namespaced else ()
    verbs = set(rt.verbs)
    paths: list[Path] = []

    coll = Path(collection, ns_params)
    if "list" in verbs:
        coll.operations.append(Operation(
            "list", f"list{gv}{scope}{rt.kind}", f"list or watch objects of kind {rt.kind}",
            tag, gvk, LIST_PARAMS, response=list_def))
    if "create" in verbs:
        coll.operations.append(Operation(
            "post", f"create{gv}{scope}{rt.kind}", f"create {_article(rt.kind)}", tag, gvk,
            WRITE_PARAMS, body=kind_def, response=kind_def))
    if "deletecollection" in verbs:
        coll.operations.append(Operation(
            "deletecollection", f"delete{gv}Collection{scope}{rt.kind}",
            f"delete collection of {rt.kind}", tag, gvk, DELETECOLLECTION_PARAMS,
            body=DELETE_OPTIONS, response=STATUS))
    if coll.operations:
        paths.append(coll)

    item_path = f"{collection}/{{name}}"
    item = Path(item_path, (_name_param(rt.kind),) + ns_params)
    for verb, op_verb, text in (("get", "read", "read the specified"),
                                ("update", "replace", "replace the specified"),
                                ("patch", "patch", "partially update the specified"),
                                ("delete", "delete", "delete")):
        if verb not in verbs:
            continue
        action = _VERB_TO_ACTION[verb]
        desc = f"{text} {rt.kind}" if verb != "delete" else f"delete {_article(rt.kind)}"
        params = {"update": WRITE_PARAMS, "patch": PATCH_PARAMS,
                  "delete": DELETE_PARAMS}.get(verb, ())
        body = {"update": kind_def, "patch": PATCH, "delete": DELETE_OPTIONS}.get(verb)
        item.operations.append(Operation(
            action, f"{op_verb}{gv}{scope}{rt.kind}", desc, tag, gvk, params, body=body,
            response=kind_def))
    if item.operations:
        paths.append(item)

    if rt.namespaced and "list" in verbs:
        paths.append(Path(f"{base}/{rt.plural}", (), ("pretty",) + LIST_PARAMS, [Operation(
            "list", f"list{gv}{rt.kind}ForAllNamespaces",
            f"list or watch objects of kind {rt.kind}", tag, gvk, (), response=list_def)]))

    for sub in rt.subresources:
        sub_path = _subresource_path(rt, sub, item_path, gv, scope, tag, ns_params)
        if sub_path is not None:
            paths.append(sub_path)
    return paths


def _subresource_path(rt: ResourceType, sub: str, item_path: str, gv: str, scope: str,
                      tag: str, ns_params: tuple) -> Path | None:
    shape = SUBRESOURCE_SHAPES.get(sub)
    if shape is None or sub == "proxy":  # upstream's connect operations are not described
        return None
    verbs, kind_override = shape
    gvk = kind_override or (rt.group, rt.version, rt.kind)
    kind_def = definitions.name_for(*gvk)
    suffix = sub[:1].upper() + sub[1:]
    path = Path(f"{item_path}/{sub}", (_name_param(gvk[2]),) + ns_params)
    for verb in verbs:
        action = _VERB_TO_ACTION[verb]
        op_verb = {"get": "read", "update": "replace", "patch": "patch",
                   "create": "create"}[verb]
        if verb == "create":
            desc = f"create {sub} of {_article(rt.kind)}"
        else:
            text = {"get": "read", "update": "replace", "patch": "partially update"}[verb]
            desc = f"{text} {sub} of the specified {rt.kind}"
        params = {"update": WRITE_PARAMS, "patch": PATCH_PARAMS,
                  "create": WRITE_PARAMS}.get(verb, ())
        body = {"update": kind_def, "patch": PATCH, "create": kind_def}.get(verb)
        path.operations.append(Operation(
            action, f"{op_verb}{gv}{scope}{rt.kind}{suffix}", desc, tag, gvk, params,
            body=body, response=kind_def))
    return path


def _article(kind: str) -> str:
    return ("an " if kind[:1] in "AEIOU" else "a ") + kind


def group_version_paths(resources: list[ResourceType], group: str, version: str) -> list[Path]:
    """Every path of one group-version document, starting with its resource list."""
    tag = group_tag(group, version)
    discovery = Path(prefix(group, version) + "/", (), (), [Operation(
        "get", f"get{_gv_id(group, version)}APIResources", "get available resources", tag,
        response=API_RESOURCE_LIST)])
    out = [discovery]
    for rt in resources:
        out.extend(resource_paths(rt))
    return out


def root_paths(kind: str, group: str = "") -> list[Path]:
    """The paths of the small documents ``api``, ``apis``, ``apis/<group>``, ``version``."""
    if kind == "api":
        return [Path("/api/", (), (), [Operation(
            "get", "getCoreAPIVersions", "get available API versions", "core",
            response=API_VERSIONS)])]
    if kind == "apis":
        return [Path("/apis/", (), (), [Operation(
            "get", "getAPIVersions", "get available API versions", "apis",
            response=API_GROUP_LIST)])]
    if kind == "group":
        return [Path(f"/apis/{group}/", (), (), [Operation(
            "get", f"get{group_id(group)}APIGroup", "get information of a group",
            group_tag(group),
            response=API_GROUP)])]
    if kind == "version":
        return [Path("/version/", (), (), [Operation(
            "get", "getCodeVersion", "get the version information for this server",
            "version", response=VERSION_INFO)])]
    raise ValueError(kind)


def referenced_definitions(paths: list[Path]) -> set[str]:
    """Definition names the operations of ``paths`` refer to."""
    out: set[str] = set()
    for p in paths:
        for op in p.operations:
            for name in (op.body, op.response):
                if name:
                    out.add(name)
    return out
