"""PodSecurity: the Pod Security Standards, chosen per namespace by its labels.

As upstream's pod-security-admission: ``pod-security.kubernetes.io/<mode>`` labels
(enforce, warn, audit; each with a ``-version``) pick privileged, baseline or
restricted. A pod that fails the enforce level is Forbidden
(``violates PodSecurity "restricted:latest": ...``); failing the warn level adds a
``would violate PodSecurity ...`` warning. Workload resources with pod templates
only get the warning (their pods are checked when created). Namespaces must carry
valid labels, and tightening enforce warns about existing pods that would fail.
Audit annotations are not written (there is no audit log). No exemptions are
configured, as upstream's default. Every version is checked with the latest checks.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from ... import errors
from .. import AdmissionPlugin, AdmissionRequest, lookup
from .checks import failures, forbidden_detail

if TYPE_CHECKING:
    from ...context import ServerContext

LABEL_PREFIX = "pod-security.kubernetes.io/"
MODES = ("enforce", "audit", "warn")
LEVELS = ("privileged", "baseline", "restricted")
_VERSION = re.compile(r"^v1\.(0|[1-9][0-9]*)$")
#: Resources whose pod template is checked (warn only), and where the template is.
TEMPLATE_PATHS = {
    ("apps", "deployments"): ("spec", "template"),
    ("apps", "replicasets"): ("spec", "template"),
    ("apps", "statefulsets"): ("spec", "template"),
    ("apps", "daemonsets"): ("spec", "template"),
    ("batch", "jobs"): ("spec", "template"),
    ("batch", "cronjobs"): ("spec", "jobTemplate", "spec", "template"),
    ("", "replicationcontrollers"): ("spec", "template"),
    ("", "podtemplates"): ("template",),
}


class Policy:
    """One mode's level and version, e.g. ``restricted:latest``."""

    def __init__(self, level: str = "privileged", version: str = "latest") -> None:
        self.level, self.version = level, version

    def __str__(self) -> str:
        return f"{self.level}:{self.version}"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Policy) and str(self) == str(other)


def parse_labels(labels: dict) -> tuple[dict[str, Policy], list[errors.FieldError]]:
    """PolicyToEvaluate: the policy of each mode and the label errors. An invalid
    enforce level fails closed (restricted), as upstream."""
    policies, errs = {}, []
    for mode in MODES:
        level_key, version_key = LABEL_PREFIX + mode, f"{LABEL_PREFIX}{mode}-version"
        level = labels.get(level_key, "privileged")
        version = labels.get(version_key, "latest")
        if level not in LEVELS:
            errs.append(errors.invalid(f"metadata.labels[{level_key}]", level,
                                       'must be one of privileged, baseline, restricted'))
            level = "restricted" if mode == "enforce" else "privileged"
        if version != "latest" and not _VERSION.match(version):
            errs.append(errors.invalid(f"metadata.labels[{version_key}]", version,
                                       'must be "latest" or "v1.x"'))
            version = "latest"
        policies[mode] = Policy(level, version)
    return policies, errs


def _get(obj: dict, path: tuple[str, ...]) -> dict:
    for key in path:
        obj = obj.get(key) if isinstance(obj, dict) else None
    return obj if isinstance(obj, dict) else {}


def _significant_pod_update(new: dict, old: dict) -> bool:
    """isSignificantPodUpdate: only image and container-set changes are re-checked."""
    spec, old_spec = new.get("spec") or {}, old.get("spec") or {}
    for kind in ("containers", "initContainers"):
        a, b = spec.get(kind) or [], old_spec.get(kind) or []
        if len(a) != len(b) or any(x.get("image") != y.get("image") for x, y in zip(a, b)):
            return True
    return len(spec.get("ephemeralContainers") or []) != len(
        old_spec.get("ephemeralContainers") or [])


class PodSecurity(AdmissionPlugin):
    name = "PodSecurity"

    async def validate(self, ctx: "ServerContext", req: AdmissionRequest) -> None:
        if req.operation not in ("CREATE", "UPDATE") or not isinstance(req.object, dict):
            return
        if req.is_resource("", "namespaces"):
            if not req.subresource:
                await self._namespace(ctx, req)
            return
        if req.is_resource("", "pods"):
            if req.subresource in ("", "ephemeralcontainers") and (
                    req.operation == "CREATE"
                    or _significant_pod_update(req.object, req.old_object or {})):
                await self._pod(ctx, req)
            return
        path = TEMPLATE_PATHS.get((req.rt.group, req.rt.plural))
        if path is not None and not req.subresource:
            template = _get(req.object, path)
            if req.operation == "UPDATE" and template == _get(req.old_object or {}, path):
                return
            policies = await self._policies(ctx, req.namespace)
            if policies is not None:
                self._warn(req, policies["warn"], template.get("metadata") or {},
                           template.get("spec") or {})

    async def _policies(self, ctx: "ServerContext", namespace: str | None) -> dict | None:
        ns = await lookup.get(ctx, "", "namespaces", None, namespace or "")
        if ns is None:
            return None
        return parse_labels((ns.get("metadata") or {}).get("labels") or {})[0]

    async def _pod(self, ctx: "ServerContext", req: AdmissionRequest) -> None:
        policies = await self._policies(ctx, req.namespace)
        if policies is None:
            return
        meta, spec = req.object.get("metadata") or {}, req.object.get("spec") or {}
        enforce = policies["enforce"]
        denied = failures(enforce.level, meta, spec)
        if denied:
            raise errors.forbidden_error(
                "", "pods", req.name,
                f'violates PodSecurity "{enforce}": {forbidden_detail(denied)}')
        self._warn(req, policies["warn"], meta, spec)

    def _warn(self, req: AdmissionRequest, policy: Policy, meta: dict, spec: dict) -> None:
        results = failures(policy.level, meta, spec)
        if results:
            req.warnings.append(
                f'would violate PodSecurity "{policy}": {forbidden_detail(results)}')

    async def _namespace(self, ctx: "ServerContext", req: AdmissionRequest) -> None:
        labels = (req.object.get("metadata") or {}).get("labels") or {}
        policies, errs = parse_labels(labels)
        if req.operation == "UPDATE":
            old_labels = ((req.old_object or {}).get("metadata") or {}).get("labels") or {}
            if {k: v for k, v in labels.items() if k.startswith(LABEL_PREFIX)} == {
                    k: v for k, v in old_labels.items() if k.startswith(LABEL_PREFIX)}:
                return
        if errs:
            raise errors.invalid_object("", "Namespace", req.name, errs)
        if req.operation != "UPDATE":
            return
        old_enforce = parse_labels(old_labels)[0]["enforce"]
        enforce = policies["enforce"]
        if enforce == old_enforce or enforce.level == "privileged":
            return
        await self._warn_existing(ctx, req, enforce)

    async def _warn_existing(self, ctx: "ServerContext", req: AdmissionRequest,
                             enforce: Policy) -> None:
        """Warnings naming the namespace's pods that the new enforce level would refuse."""
        groups: dict[str, list[str]] = {}
        for pod in await lookup.list_objects(ctx, "", "pods", req.name):
            results = failures(enforce.level, pod.get("metadata") or {}, pod.get("spec") or {})
            if results:
                reasons = ", ".join(reason for reason, _ in results)
                groups.setdefault(reasons, []).append(pod["metadata"]["name"])
        if not groups:
            return
        req.warnings.append(f'existing pods in namespace "{req.name}" violate the new '
                            f'PodSecurity enforce level "{enforce}"')
        for reasons, names in sorted(groups.items(), key=lambda kv: sorted(kv[1])[0]):
            names = sorted(names)
            more = len(names) - 1
            who = names[0] if not more else \
                f"{names[0]} (and {more} other pod{'s' if more > 1 else ''})"
            req.warnings.append(f"{who}: {reasons}")
