"""The built-in resources pyk8s serves, as kube-apiserver 1.32 reports them in discovery.

Each line is data: group, version, kind, plural, scope, store segment (upstream's
etcd layout, e.g. nodes live under ``/registry/minions``), short names, categories,
verbs and subresources. Behaviour comes from :func:`pyk8s.apiserver.kinds.strategy_for`.
"""

from __future__ import annotations

from .crd import strategy as _crd_strategy  # noqa: F401 - registers the CRD strategy
from .kinds import strategy_for
from .registry import ALL_VERBS, Registry, ResourceType

NO_COLLECTION_DELETE = ("create", "delete", "get", "list", "patch", "update", "watch")

_N, _C = True, False  # namespaced, cluster-scoped

#: (group, version, kind, plural, namespaced, storage, shortNames, categories, subresources, verbs)
BUILTINS: list[tuple] = [
    ("", "v1", "Binding", "bindings", _N, "bindings", (), (), (), ("create",)),
    ("", "v1", "ConfigMap", "configmaps", _N, "configmaps", ("cm",), (), (), ALL_VERBS),
    ("", "v1", "Endpoints", "endpoints", _N, "services/endpoints", ("ep",), (), (), ALL_VERBS),
    ("", "v1", "Event", "events", _N, "events", ("ev",), (), (), ALL_VERBS),
    ("", "v1", "LimitRange", "limitranges", _N, "limitranges", ("limits",), (), (), ALL_VERBS),
    ("", "v1", "Namespace", "namespaces", _C, "namespaces", ("ns",), (), ("status", "finalize"),
     NO_COLLECTION_DELETE),
    ("", "v1", "Node", "nodes", _C, "minions", ("no",), (), ("status", "proxy"), ALL_VERBS),
    ("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims", _N, "persistentvolumeclaims",
     ("pvc",), (), ("status",), ALL_VERBS),
    ("", "v1", "PersistentVolume", "persistentvolumes", _C, "persistentvolumes", ("pv",), (),
     ("status",), ALL_VERBS),
    ("", "v1", "Pod", "pods", _N, "pods", ("po",), ("all",),
     ("status", "binding", "eviction", "ephemeralcontainers", "log", "exec", "attach",
      "portforward", "proxy"), ALL_VERBS),
    ("", "v1", "PodTemplate", "podtemplates", _N, "podtemplates", (), (), (), ALL_VERBS),
    ("", "v1", "ReplicationController", "replicationcontrollers", _N, "controllers", ("rc",),
     ("all",), ("status", "scale"), ALL_VERBS),
    ("", "v1", "ResourceQuota", "resourcequotas", _N, "resourcequotas", ("quota",), (),
     ("status",), ALL_VERBS),
    ("", "v1", "Secret", "secrets", _N, "secrets", (), (), (), ALL_VERBS),
    ("", "v1", "ServiceAccount", "serviceaccounts", _N, "serviceaccounts", ("sa",), (),
     ("token",), ALL_VERBS),
    ("", "v1", "Service", "services", _N, "services/specs", ("svc",), ("all",),
     ("status", "proxy"), ALL_VERBS),
    ("apiextensions.k8s.io", "v1", "CustomResourceDefinition", "customresourcedefinitions", _C,
     "apiextensions.k8s.io/customresourcedefinitions", ("crd", "crds"), ("api-extensions",),
     ("status",), ALL_VERBS),
    ("apps", "v1", "ControllerRevision", "controllerrevisions", _N, "controllerrevisions", (), (),
     (), ALL_VERBS),
    ("apps", "v1", "DaemonSet", "daemonsets", _N, "daemonsets", ("ds",), ("all",), ("status",),
     ALL_VERBS),
    ("apps", "v1", "Deployment", "deployments", _N, "deployments", ("deploy",), ("all",),
     ("status", "scale"), ALL_VERBS),
    ("apps", "v1", "ReplicaSet", "replicasets", _N, "replicasets", ("rs",), ("all",),
     ("status", "scale"), ALL_VERBS),
    ("apps", "v1", "StatefulSet", "statefulsets", _N, "statefulsets", ("sts",), ("all",),
     ("status", "scale"), ALL_VERBS),
    ("authentication.k8s.io", "v1", "SelfSubjectReview", "selfsubjectreviews", _C,
     "selfsubjectreviews", (), (), (), ("create",)),
    ("authentication.k8s.io", "v1", "TokenReview", "tokenreviews", _C, "tokenreviews", (), (), (),
     ("create",)),
    ("authorization.k8s.io", "v1", "LocalSubjectAccessReview", "localsubjectaccessreviews", _N,
     "localsubjectaccessreviews", (), (), (), ("create",)),
    ("authorization.k8s.io", "v1", "SelfSubjectAccessReview", "selfsubjectaccessreviews", _C,
     "selfsubjectaccessreviews", (), (), (), ("create",)),
    ("authorization.k8s.io", "v1", "SelfSubjectRulesReview", "selfsubjectrulesreviews", _C,
     "selfsubjectrulesreviews", (), (), (), ("create",)),
    ("authorization.k8s.io", "v1", "SubjectAccessReview", "subjectaccessreviews", _C,
     "subjectaccessreviews", (), (), (), ("create",)),
    ("batch", "v1", "CronJob", "cronjobs", _N, "cronjobs", ("cj",), ("all",), ("status",),
     ALL_VERBS),
    ("batch", "v1", "Job", "jobs", _N, "jobs", (), ("all",), ("status",), ALL_VERBS),
    ("certificates.k8s.io", "v1", "CertificateSigningRequest", "certificatesigningrequests", _C,
     "certificatesigningrequests", ("csr",), (), ("status", "approval"), ALL_VERBS),
    ("coordination.k8s.io", "v1", "Lease", "leases", _N, "leases", (), (), (), ALL_VERBS),
    ("discovery.k8s.io", "v1", "EndpointSlice", "endpointslices", _N, "endpointslices", (), (), (),
     ALL_VERBS),
    ("events.k8s.io", "v1", "Event", "events", _N, "events", ("ev",), (), (), ALL_VERBS),
    ("networking.k8s.io", "v1", "IngressClass", "ingressclasses", _C, "ingressclasses", (), (), (),
     ALL_VERBS),
    ("networking.k8s.io", "v1", "Ingress", "ingresses", _N, "ingress", ("ing",), (), ("status",),
     ALL_VERBS),
    ("networking.k8s.io", "v1", "NetworkPolicy", "networkpolicies", _N, "networkpolicies",
     ("netpol",), (), (), ALL_VERBS),
    ("policy", "v1", "PodDisruptionBudget", "poddisruptionbudgets", _N, "poddisruptionbudgets",
     ("pdb",), (), ("status",), ALL_VERBS),
    ("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding", "clusterrolebindings", _C,
     "clusterrolebindings", (), (), (), ALL_VERBS),
    ("rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", _C, "clusterroles", (), (),
     (), ALL_VERBS),
    ("rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings", _N, "rolebindings", (), (),
     (), ALL_VERBS),
    ("rbac.authorization.k8s.io", "v1", "Role", "roles", _N, "roles", (), (), (), ALL_VERBS),
    ("scheduling.k8s.io", "v1", "PriorityClass", "priorityclasses", _C, "priorityclasses", ("pc",),
     (), (), ALL_VERBS),
    ("storage.k8s.io", "v1", "StorageClass", "storageclasses", _C, "storageclasses", ("sc",), (),
     (), ALL_VERBS),
]

#: Groups whose resources are computed answers (reviews), never stored.
VIRTUAL_GROUPS = ("authentication.k8s.io", "authorization.k8s.io")

#: Resources stored in another group's form (events.k8s.io/v1 events are core events).
SHARED_STORAGE = {("events.k8s.io", "events"): ""}


def builtin_registry() -> Registry:
    """A fresh registry holding every built-in resource with its strategy."""
    registry = Registry()
    for group, version, kind, plural, namespaced, storage, short, cats, subs, verbs in BUILTINS:
        registry.add(
            ResourceType(
                group=group,
                version=version,
                kind=kind,
                plural=plural,
                namespaced=namespaced,
                storage_name=storage,
                short_names=short,
                categories=cats,
                verbs=verbs,
                subresources=subs,
                strategy=strategy_for(group, kind),
                storage_group=SHARED_STORAGE.get((group, plural)),
                virtual=group in VIRTUAL_GROUPS,
            )
        )
    return registry
