"""Admission: plugins that may change (mutate) or refuse (validate) each write.

The generic object code runs the chain at upstream's points: mutating admission on
the incoming object before the strategy validates it, validating admission right
before the write reaches the store. Plugins raise APIError to refuse, and may add
``Warning`` headers to the answer through ``AdmissionRequest.warnings``.

kube-apiserver 1.32 orders its plugins (``AllOrderedPlugins``); the ones enabled by
default, plus NodeRestriction (which kubeadm enables), are, in that order:
NamespaceLifecycle, LimitRanger, ServiceAccount, NodeRestriction,
TaintNodesByCondition*, PodSecurity, Priority, DefaultTolerationSeconds,
DefaultStorageClass*, StorageObjectInUseProtection*, PersistentVolumeClaimResize*,
RuntimeClass*, CertificateApproval*, CertificateSigning*, ClusterTrustBundleAttest*,
CertificateSubjectRestriction*, DefaultIngressClass*, MutatingAdmissionWebhook*,
ValidatingAdmissionPolicy*, ValidatingAdmissionWebhook*, ResourceQuota.
The ones marked * are not implemented here (naming them in the flags is accepted
and ignored, so kubeadm-style command lines keep working); neither are the
default-off plugins (AlwaysPullImages, PodNodeSelector, EventRateLimit, ...).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable

from .. import errors
from ..user import UserInfo

if TYPE_CHECKING:
    from ..context import ServerContext
    from ..registry import ResourceType


@dataclass
class AdmissionRequest:
    operation: str  # CREATE, UPDATE, DELETE, CONNECT
    rt: "ResourceType"
    namespace: str | None
    name: str
    user: UserInfo
    object: dict | None = None
    old_object: dict | None = None
    subresource: str = ""
    dry_run: bool = False
    options: dict = field(default_factory=dict)
    #: ``Warning`` headers plugins ask to send back with the answer.
    warnings: list[str] = field(default_factory=list)

    def is_resource(self, group: str, plural: str) -> bool:
        return self.rt.group == group and self.rt.plural == plural

    def forbidden(self, why: str) -> errors.APIError:
        """admission.NewForbidden: ``<resource> "<name>" is forbidden: <why>``."""
        return errors.forbidden_error(self.rt.group, self.rt.plural, self.name, why)


class AdmissionPlugin:
    """A plugin overrides either or both hooks."""

    name = "base"

    async def admit(self, ctx: "ServerContext", req: AdmissionRequest) -> None:
        """Mutate ``req.object`` in place, or raise to refuse."""

    async def validate(self, ctx: "ServerContext", req: AdmissionRequest) -> None:
        """Raise to refuse; must not change the object."""


class AdmissionChain:
    """Runs plugins in their configured order."""

    def __init__(self, plugins: list[AdmissionPlugin] | None = None) -> None:
        self.plugins = list(plugins or [])

    async def admit(self, ctx: "ServerContext", req: AdmissionRequest) -> None:
        for plugin in self.plugins:
            await plugin.admit(ctx, req)

    async def validate(self, ctx: "ServerContext", req: AdmissionRequest) -> None:
        for plugin in self.plugins:
            await plugin.validate(ctx, req)


def _factories() -> dict[str, Callable[[], AdmissionPlugin]]:
    from .defaulttolerationseconds import DefaultTolerationSeconds
    from .limitranger import LimitRanger
    from .namespacelifecycle import NamespaceLifecycle
    from .noderestriction import NodeRestriction
    from .podsecurity import PodSecurity
    from .priority import Priority
    from .resourcequota import ResourceQuota
    from .serviceaccount import ServiceAccount

    return {p.name: p for p in (NamespaceLifecycle, LimitRanger, ServiceAccount, NodeRestriction,
                                PodSecurity, Priority, DefaultTolerationSeconds, ResourceQuota)}


#: Every plugin name kube-apiserver 1.32 knows, in its order (AllOrderedPlugins).
ORDERED_PLUGINS = (
    "AlwaysAdmit", "NamespaceAutoProvision", "NamespaceLifecycle", "NamespaceExists",
    "LimitPodHardAntiAffinityTopology", "LimitRanger", "ServiceAccount", "NodeRestriction",
    "TaintNodesByCondition", "AlwaysPullImages", "ImagePolicyWebhook", "PodSecurity",
    "PodNodeSelector", "Priority", "DefaultTolerationSeconds", "PodTolerationRestriction",
    "EventRateLimit", "ExtendedResourceToleration", "DefaultStorageClass",
    "StorageObjectInUseProtection", "OwnerReferencesPermissionEnforcement",
    "PersistentVolumeClaimResize", "RuntimeClass", "CertificateApproval", "CertificateSigning",
    "ClusterTrustBundleAttest", "CertificateSubjectRestriction", "DefaultIngressClass",
    "DenyServiceExternalIPs", "MutatingAdmissionPolicy", "MutatingAdmissionWebhook",
    "ValidatingAdmissionPolicy", "ValidatingAdmissionWebhook", "ResourceQuota", "AlwaysDeny",
)

#: Enabled without flags: kube-apiserver's default-on set plus kubeadm's NodeRestriction.
DEFAULT_ENABLED = frozenset({
    "NamespaceLifecycle", "LimitRanger", "ServiceAccount", "NodeRestriction",
    "TaintNodesByCondition", "PodSecurity", "Priority", "DefaultTolerationSeconds",
    "DefaultStorageClass", "StorageObjectInUseProtection", "PersistentVolumeClaimResize",
    "RuntimeClass", "CertificateApproval", "CertificateSigning", "ClusterTrustBundleAttest",
    "CertificateSubjectRestriction", "DefaultIngressClass", "MutatingAdmissionWebhook",
    "ValidatingAdmissionPolicy", "ValidatingAdmissionWebhook", "ResourceQuota",
})


def _names(flag: str | None) -> set[str]:
    return {n.strip() for n in (flag or "").split(",") if n.strip()}


def chain_for(enabled: set[str]) -> AdmissionChain:
    """The implemented plugins among ``enabled``, in upstream's order."""
    factories = _factories()
    return AdmissionChain([factories[n]() for n in ORDERED_PLUGINS
                           if n in enabled and n in factories])


def default_chain() -> AdmissionChain:
    """The plugins kube-apiserver enables by default, in upstream's order."""
    return chain_for(set(DEFAULT_ENABLED))


def build(opts, ctx) -> AdmissionChain:
    """The chain ``--enable/--disable-admission-plugins`` select (order is always
    upstream's, whatever the flag's order, as kube-apiserver does)."""
    enable = _names(getattr(opts, "enable_admission_plugins", ""))
    disable = _names(getattr(opts, "disable_admission_plugins", ""))
    unknown = sorted((enable | disable) - set(ORDERED_PLUGINS))
    if unknown:
        raise ValueError(f"enable-admission-plugins plugin {unknown[0]!r} is not a known "
                         "admission plugin")
    both = sorted(enable & disable)
    if both:
        raise ValueError(f"{both[0]} in enable-admission-plugins and disable-admission-plugins "
                         "overlapped")
    return chain_for((set(DEFAULT_ENABLED) | enable) - disable)
