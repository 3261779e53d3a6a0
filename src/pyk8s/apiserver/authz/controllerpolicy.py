"""Roles of the kube-controller-manager's controllers and the namespaced default roles.

Each controller runs as the ServiceAccount kube-system/NAME and holds the
ClusterRole system:controller:NAME (controller_policy.go upstream, v1.32, for the
controllers pyk8s runs or plans to); kube-system and kube-public hold the Roles of
namespace_policy.go (leader locking, bootstrap tokens, authentication config).
"""

from __future__ import annotations

from .policydata import (READ, cluster_binding, cluster_role, events_rule, role,
                         role_binding, rule, service_account, user)

PREFIX = "system:controller:"
APPS = ("apps", "extensions")


def _controllers() -> dict[str, list[dict]]:
    ev = events_rule()
    return {
        "clusterrole-aggregation-controller": [
            rule(("escalate", "get", "list", "watch", "update", "patch"),
                 "rbac.authorization.k8s.io", "clusterroles")],
        "cronjob-controller": [
            rule(("get", "list", "watch", "update"), "batch", "cronjobs"),
            rule(("get", "list", "watch", "create", "update", "delete", "patch"), "batch", "jobs"),
            rule("update", "batch", "cronjobs/status"),
            rule("update", "batch", "cronjobs/finalizers"),
            rule(("list", "delete"), "", "pods"), ev],
        "daemon-set-controller": [
            rule(READ, APPS, "daemonsets"),
            rule("update", APPS, "daemonsets/status"),
            rule("update", APPS, "daemonsets/finalizers"),
            rule(("list", "watch"), "", "nodes"),
            rule(("list", "watch", "create", "delete", "patch"), "", "pods"),
            rule("create", "", "pods/binding"),
            rule(("get", "list", "watch", "create", "delete", "update", "patch"), "apps",
                 "controllerrevisions"), ev],
        "deployment-controller": [
            rule(("get", "list", "watch", "update"), APPS, "deployments"),
            rule("update", APPS, "deployments/status"),
            rule("update", APPS, "deployments/finalizers"),
            rule(("get", "list", "watch", "create", "update", "patch", "delete"), APPS,
                 "replicasets"),
            rule(("get", "list", "watch", "update"), "", "pods"), ev],
        "disruption-controller": [
            rule(READ, APPS, "deployments"),
            rule(READ, APPS, "replicasets"),
            rule(READ, "", "replicationcontrollers"),
            rule(READ, "policy", "poddisruptionbudgets"),
            rule(READ, "apps", "statefulsets"),
            rule("update", "policy", "poddisruptionbudgets/status"),
            rule("get", "*", "*/scale"),
            rule("patch", "", "pods/status"), ev],
        "endpoint-controller": [
            rule(READ, "", ("services", "pods")),
            rule(("get", "list", "create", "update", "delete"), "", "endpoints"),
            rule("create", "", "endpoints/restricted"), ev],
        "endpointslice-controller": [
            rule(READ, "", ("services", "pods", "nodes")),
            rule("update", "", "services/finalizers"),
            rule(("get", "list", "watch", "create", "update", "delete"), "discovery.k8s.io",
                 "endpointslices"), ev],
        "endpointslicemirroring-controller": [
            rule(READ, "", ("services", "endpoints")),
            rule("update", "", ("services/finalizers", "endpoints/finalizers")),
            rule(("get", "list", "watch", "create", "update", "delete"), "discovery.k8s.io",
                 "endpointslices"), ev],
        "ephemeral-volume-controller": [
            rule(READ, "", "pods"),
            rule("update", "", "pods/finalizers"),
            rule(("get", "list", "watch", "create"), "", "persistentvolumeclaims"), ev],
        "generic-garbage-collector": [
            rule(("get", "list", "watch", "patch", "update", "delete"), "*", "*"), ev],
        "horizontal-pod-autoscaler": [
            rule(READ, "autoscaling", "horizontalpodautoscalers"),
            rule("update", "autoscaling", "horizontalpodautoscalers/status"),
            rule(("get", "update"), "*", "*/scale"),
            rule("list", "", "pods"),
            rule("list", "metrics.k8s.io", "pods"),
            rule(("get", "list"), "custom.metrics.k8s.io", "*"),
            rule(("get", "list"), "external.metrics.k8s.io", "*"), ev],
        "job-controller": [
            rule(("get", "list", "watch", "update", "patch"), "batch", "jobs"),
            rule("update", "batch", "jobs/status"),
            rule("update", "batch", "jobs/finalizers"),
            rule(("list", "watch", "create", "delete", "patch"), "", "pods"), ev],
        "namespace-controller": [
            rule(("get", "list", "watch", "delete"), "", "namespaces"),
            rule("update", "", ("namespaces/finalize", "namespaces/status")),
            rule(("get", "list", "delete", "deletecollection"), "*", "*")],
        "node-controller": [
            rule(("get", "list", "update", "delete", "patch"), "", "nodes"),
            rule(("patch", "update"), "", "nodes/status"),
            rule(("patch", "update"), "", "pods/status"),
            rule(("list", "delete"), "", "pods"), ev],
        "persistent-volume-binder": [
            rule(("get", "list", "watch", "update", "create", "delete"), "",
                 "persistentvolumes"),
            rule("update", "", "persistentvolumes/status"),
            rule(("get", "list", "watch", "update"), "", "persistentvolumeclaims"),
            rule("update", "", "persistentvolumeclaims/status"),
            rule(("get", "list", "watch", "delete"), "", "pods"),
            rule(READ, "storage.k8s.io", "storageclasses"),
            rule(("get", "create", "delete"), "", ("endpoints", "services")),
            rule("get", "", "secrets"),
            rule(("get", "list"), "", "nodes"), ev],
        "pod-garbage-collector": [
            rule(("list", "watch", "delete"), "", "pods"),
            rule(("get", "list"), "", "nodes"),
            rule("patch", "", "pods/status")],
        "pv-protection-controller": [
            rule(("get", "list", "watch", "update"), "", "persistentvolumes"), ev],
        "pvc-protection-controller": [
            rule(("get", "list", "watch", "update"), "", "persistentvolumeclaims"),
            rule(READ, "", "pods"), ev],
        "replicaset-controller": [
            rule(("get", "list", "watch", "update"), APPS, "replicasets"),
            rule("update", APPS, "replicasets/status"),
            rule("update", APPS, "replicasets/finalizers"),
            rule(("list", "watch", "patch", "create", "delete"), "", "pods"), ev],
        "replication-controller": [
            rule(("get", "list", "watch", "update"), "", "replicationcontrollers"),
            rule("update", "", "replicationcontrollers/status"),
            rule("update", "", "replicationcontrollers/finalizers"),
            rule(("list", "watch", "patch", "create", "delete"), "", "pods"), ev],
        "resourcequota-controller": [
            rule(("list", "watch"), "*", "*"),
            rule("update", "", "resourcequotas/status"), ev],
        "root-ca-cert-publisher": [
            rule(("create", "update"), "", "configmaps"), ev],
        "service-account-controller": [
            rule("create", "", "serviceaccounts"), ev],
        "service-controller": [
            rule(READ, "", "services"),
            rule(("patch", "update"), "", "services/status"),
            rule(("list", "watch"), "", "nodes"), ev],
        "statefulset-controller": [
            rule(("list", "watch"), "", "pods"),
            rule(("list", "watch"), "apps", "statefulsets"),
            rule("get", "apps", "statefulsets"),
            rule("update", "apps", "statefulsets/status"),
            rule("update", "apps", "statefulsets/finalizers"),
            rule(("get", "create", "delete", "update", "patch"), "", "pods"),
            rule(("get", "create", "delete", "update", "patch", "list", "watch"), "apps",
                 "controllerrevisions"),
            rule(("get", "create"), "", "persistentvolumeclaims"),
            rule("update", "", "persistentvolumeclaims"), ev],
        "ttl-after-finished-controller": [
            rule(("get", "list", "watch", "delete"), "batch", "jobs"), ev],
        "ttl-controller": [
            rule(("update", "patch", "list", "watch"), "", "nodes"), ev],
        "certificate-controller": [
            rule(("get", "list", "watch", "delete"), "certificates.k8s.io",
                 "certificatesigningrequests"),
            rule("update", "certificates.k8s.io", ("certificatesigningrequests/status",
                                                   "certificatesigningrequests/approval")),
            rule("approve", "certificates.k8s.io", "signers", names=(
                "kubernetes.io/kube-apiserver-client-kubelet")),
            rule("sign", "certificates.k8s.io", "signers", names=(
                "kubernetes.io/kube-apiserver-client", "kubernetes.io/kube-apiserver-client-kubelet",
                "kubernetes.io/kubelet-serving", "kubernetes.io/legacy-unknown")),
            rule("create", "authorization.k8s.io", "subjectaccessreviews"), ev],
        "legacy-service-account-token-cleaner": [
            rule("get", "", "configmaps", names="kube-apiserver-legacy-service-account-token-tracking"),
            rule("delete", "", "secrets"), ev],
    }


def controller_roles() -> list[dict]:
    return [cluster_role(PREFIX + name, rules) for name, rules in _controllers().items()]


def controller_role_bindings() -> list[dict]:
    return [cluster_binding(PREFIX + name, service_account("kube-system", name))
            for name in _controllers()]


def namespace_roles() -> list[dict]:
    return [
        role("kube-system", "extension-apiserver-authentication-reader", [
            rule(READ, "", "configmaps", names="extension-apiserver-authentication")]),
        role("kube-system", "system::leader-locking-kube-controller-manager", [
            rule("watch", "", "configmaps"),
            rule(("get", "update"), "", "configmaps", names="kube-controller-manager")]),
        role("kube-system", "system::leader-locking-kube-scheduler", [
            rule("watch", "", "configmaps"),
            rule(("get", "update"), "", "configmaps", names="kube-scheduler")]),
        role("kube-system", PREFIX + "bootstrap-signer", [rule(READ, "", "secrets")]),
        role("kube-system", PREFIX + "cloud-provider", [
            rule(("create", "get", "list", "watch"), "", "configmaps")]),
        role("kube-system", PREFIX + "token-cleaner", [
            rule(("delete",) + READ, "", "secrets"), events_rule()]),
        role("kube-public", PREFIX + "bootstrap-signer", [
            rule(READ, "", "configmaps"),
            rule("update", "", "configmaps", names="cluster-info"), events_rule()]),
    ]


def namespace_role_bindings() -> list[dict]:
    ks = "kube-system"
    return [
        role_binding(ks, "extension-apiserver-authentication-reader",
                     user("system:kube-controller-manager"), user("system:kube-scheduler"),
                     name="system::extension-apiserver-authentication-reader"),
        role_binding(ks, "system::leader-locking-kube-controller-manager",
                     user("system:kube-controller-manager"),
                     service_account(ks, "kube-controller-manager")),
        role_binding(ks, "system::leader-locking-kube-scheduler",
                     user("system:kube-scheduler"), service_account(ks, "kube-scheduler")),
        role_binding(ks, PREFIX + "bootstrap-signer", service_account(ks, "bootstrap-signer")),
        role_binding(ks, PREFIX + "cloud-provider", service_account(ks, "cloud-provider")),
        role_binding(ks, PREFIX + "token-cleaner", service_account(ks, "token-cleaner")),
        role_binding("kube-public", PREFIX + "bootstrap-signer",
                     service_account(ks, "bootstrap-signer")),
    ]

