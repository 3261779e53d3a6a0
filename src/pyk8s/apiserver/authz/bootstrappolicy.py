"""The default ClusterRoles and ClusterRoleBindings every cluster starts with.

Rules follow upstream's bootstrappolicy/policy.go (v1.32, with feature-gated
alpha rules left out) so that kubectl, controllers and kubelets find exactly the
permissions they expect. The controller and namespace roles are in
:mod:`.controllerpolicy`; :mod:`.reconcile` writes all of them at start.
"""

from __future__ import annotations

from .policydata import (READ, READ_UPDATE, READ_WRITE, WRITE, cluster_binding, cluster_role, events_rule,
                         group, rule, service_account, urls, user)

CERTS = "certificates.k8s.io"
STORAGE = "storage.k8s.io"
COORD = "coordination.k8s.io"
AUTHN = "authentication.k8s.io"
AUTHZ = "authorization.k8s.io"


def node_rules() -> list[dict]:
    """What a kubelet may do (NodeRules upstream); the node authorizer narrows it."""
    return [
        rule("create", AUTHN, "tokenreviews"),
        rule("create", AUTHZ, ("subjectaccessreviews", "localsubjectaccessreviews")),
        rule(READ, "", "services"),
        rule(("create", "get", "list", "watch"), "", "nodes"),
        rule(("update", "patch"), "", "nodes/status"),
        rule(("update", "patch"), "", "nodes"),
        events_rule(),
        rule(READ, "", "pods"),
        rule(("create", "delete"), "", "pods"),
        rule(("update", "patch"), "", "pods/status"),
        rule("create", "", "pods/eviction"),
        rule(READ, "", ("secrets", "configmaps")),
        rule("get", "", ("persistentvolumeclaims", "persistentvolumes")),
        rule("get", "", "endpoints"),
        rule(("create", "get", "list", "watch"), CERTS, "certificatesigningrequests"),
        rule(("get", "create", "update", "patch", "delete"), COORD, "leases"),
        rule("get", STORAGE, "volumeattachments"),
        rule("create", "", "serviceaccounts/token"),
        rule(("get", "update", "patch"), "", "persistentvolumeclaims/status"),
        rule(READ, STORAGE, "csidrivers"),
        rule(("get", "create", "update", "patch", "delete"), STORAGE, "csinodes"),
        rule(READ, "node.k8s.io", "runtimeclasses"),
    ]


def _aggregate_to_view() -> list[dict]:
    return [
        rule(READ, "", ("pods", "replicationcontrollers", "replicationcontrollers/scale",
                        "serviceaccounts", "services", "services/status", "endpoints",
                        "persistentvolumeclaims", "persistentvolumeclaims/status",
                        "configmaps")),
        rule(READ, "", ("limitranges", "resourcequotas", "bindings", "events", "pods/status",
                        "resourcequotas/status", "namespaces/status",
                        "replicationcontrollers/status", "pods/log")),
        rule(READ, "", "namespaces"),
        rule(READ, "discovery.k8s.io", "endpointslices"),
        rule(READ, "apps", ("controllerrevisions", "statefulsets", "statefulsets/status",
                            "statefulsets/scale", "daemonsets", "daemonsets/status",
                            "deployments", "deployments/status", "deployments/scale",
                            "replicasets", "replicasets/status", "replicasets/scale")),
        rule(READ, "autoscaling", ("horizontalpodautoscalers",
                                   "horizontalpodautoscalers/status")),
        rule(READ, "batch", ("jobs", "cronjobs", "cronjobs/status", "jobs/status")),
        rule(READ, "extensions", ("daemonsets", "daemonsets/status", "deployments",
                                  "deployments/scale", "deployments/status", "ingresses",
                                  "ingresses/status", "replicasets", "replicasets/scale",
                                  "replicasets/status", "replicationcontrollers/scale",
                                  "networkpolicies")),
        rule(READ, "policy", ("poddisruptionbudgets", "poddisruptionbudgets/status")),
        rule(READ, "networking.k8s.io", ("ingresses", "ingresses/status", "networkpolicies")),
    ]


def _aggregate_to_edit() -> list[dict]:
    return [
        rule(READ, "", ("pods/attach", "pods/proxy", "pods/exec", "pods/portforward", "secrets",
                        "services/proxy")),
        rule("impersonate", "", "serviceaccounts"),
        rule(WRITE, "", ("pods", "pods/attach", "pods/proxy", "pods/exec", "pods/portforward")),
        rule("create", "", "pods/eviction"),
        rule(WRITE, "", ("replicationcontrollers", "replicationcontrollers/scale",
                         "serviceaccounts", "services", "services/proxy",
                         "persistentvolumeclaims", "configmaps", "secrets", "events")),
        rule("create", "", "serviceaccounts/token"),
        rule(WRITE, "apps", ("statefulsets", "statefulsets/scale", "daemonsets", "deployments",
                             "deployments/scale", "deployments/rollback", "replicasets",
                             "replicasets/scale")),
        rule(WRITE, "autoscaling", "horizontalpodautoscalers"),
        rule(WRITE, "batch", ("jobs", "cronjobs")),
        rule(WRITE, "extensions", ("daemonsets", "deployments", "deployments/scale",
                                   "deployments/rollback", "ingresses", "replicasets",
                                   "replicasets/scale", "replicationcontrollers/scale",
                                   "networkpolicies")),
        rule(WRITE, "policy", "poddisruptionbudgets"),
        rule(WRITE, "networking.k8s.io", ("networkpolicies", "ingresses")),
    ]


def _scheduler() -> list[dict]:
    return [
        events_rule(),
        rule("create", COORD, "leases"),
        rule(("get", "update"), COORD, "leases", names="kube-scheduler"),
        rule(READ, "", "nodes"),
        rule(("delete",) + READ, "", "pods"),
        rule("create", "", ("bindings", "pods/binding")),
        rule(("patch", "update"), "", "pods/status"),
        rule(READ, "", ("replicationcontrollers", "services")),
        rule(READ, ("apps", "extensions"), "replicasets"),
        rule(READ, "apps", "statefulsets"),
        rule(READ, "policy", "poddisruptionbudgets"),
        rule(READ, "", ("persistentvolumeclaims", "persistentvolumes")),
        rule("create", AUTHN, "tokenreviews"),
        rule("create", AUTHZ, "subjectaccessreviews"),
        rule(READ, STORAGE, "csinodes"),
        rule(READ, "", "namespaces"),
        rule(READ, STORAGE, "csidrivers"),
        rule(READ, STORAGE, "csistoragecapacities"),
    ]


def _controller_manager() -> list[dict]:
    return [
        events_rule(),
        rule("create", COORD, "leases"),
        rule(("get", "update"), COORD, "leases", names="kube-controller-manager"),
        rule("create", "", ("secrets", "serviceaccounts")),
        rule("delete", "", "secrets"),
        rule("get", "", ("namespaces", "secrets", "serviceaccounts", "configmaps")),
        rule("update", "", ("secrets", "serviceaccounts")),
        rule("create", AUTHN, "tokenreviews"),
        rule("create", AUTHZ, "subjectaccessreviews"),
        rule(("list", "watch"), "*", "*"),
        rule("create", "", "serviceaccounts/token"),
    ]


def _approver(signer: str) -> list[dict]:
    return [rule("approve", CERTS, "signers", names=f"kubernetes.io/{signer}")]


def cluster_roles() -> list[dict]:
    return [
        cluster_role("cluster-admin", [rule("*", "*", "*"), urls("*", "*")]),
        cluster_role("system:discovery", [urls("get", (
            "/livez", "/readyz", "/healthz", "/version", "/version/", "/openapi", "/openapi/*",
            "/api", "/api/*", "/apis", "/apis/*"))]),
        cluster_role("system:monitoring", [urls("get", (
            "/metrics", "/metrics/slis", "/livez", "/readyz", "/healthz", "/livez/*",
            "/readyz/*", "/healthz/*"))]),
        cluster_role("system:basic-user", [
            rule("create", AUTHZ, ("selfsubjectaccessreviews", "selfsubjectrulesreviews")),
            rule("create", AUTHN, "selfsubjectreviews")]),
        cluster_role("system:public-info-viewer", [urls("get", (
            "/livez", "/readyz", "/healthz", "/version", "/version/"))]),
        cluster_role("admin", [], aggregate_from="admin"),
        cluster_role("edit", [], {"rbac.authorization.k8s.io/aggregate-to-admin": "true"},
                     aggregate_from="edit"),
        cluster_role("view", [], {"rbac.authorization.k8s.io/aggregate-to-edit": "true"},
                     aggregate_from="view"),
        cluster_role("system:aggregate-to-admin", [
            rule("create", AUTHZ, "localsubjectaccessreviews"),
            rule(READ_WRITE, "rbac.authorization.k8s.io", ("roles", "rolebindings"))],
            {"rbac.authorization.k8s.io/aggregate-to-admin": "true"}),
        cluster_role("system:aggregate-to-edit", _aggregate_to_edit(),
                     {"rbac.authorization.k8s.io/aggregate-to-edit": "true"}),
        cluster_role("system:aggregate-to-view", _aggregate_to_view(),
                     {"rbac.authorization.k8s.io/aggregate-to-view": "true"}),
        cluster_role("system:heapster", [
            rule(READ, "", ("events", "pods", "nodes", "namespaces")),
            rule(READ, "extensions", "deployments")]),
        cluster_role("system:node", node_rules()),
        cluster_role("system:node-problem-detector", [
            rule("get", "", "nodes"), rule("patch", "", "nodes/status"), events_rule()]),
        cluster_role("system:kubelet-api-admin", [
            rule(READ, "", "nodes"), rule("proxy", "", "nodes"),
            rule("*", "", ("nodes/proxy", "nodes/metrics", "nodes/stats", "nodes/log"))]),
        cluster_role("system:node-bootstrapper", [
            rule(("create", "get", "list", "watch"), CERTS, "certificatesigningrequests")]),
        cluster_role("system:auth-delegator", [
            rule("create", AUTHN, "tokenreviews"), rule("create", AUTHZ, "subjectaccessreviews")]),
        cluster_role("system:kube-aggregator", [rule(READ, "", ("services", "endpoints"))]),
        cluster_role("system:kube-controller-manager", _controller_manager()),
        cluster_role("system:kube-dns", [rule(("list", "watch"), "", ("endpoints", "services"))]),
        cluster_role("system:persistent-volume-provisioner", [
            rule(("get", "list", "watch", "create", "delete"), "", "persistentvolumes"),
            rule(("get", "list", "watch", "update"), "", "persistentvolumeclaims"),
            rule(READ, STORAGE, "storageclasses"),
            rule("watch", "", "events"),
            events_rule()]),
        cluster_role("system:certificates.k8s.io:certificatesigningrequests:nodeclient", [
            rule("create", CERTS, "certificatesigningrequests/nodeclient")]),
        cluster_role("system:certificates.k8s.io:certificatesigningrequests:selfnodeclient", [
            rule("create", CERTS, "certificatesigningrequests/selfnodeclient")]),
        cluster_role("system:volume-scheduler", [
            rule(READ_UPDATE, "", "persistentvolumes"),
            rule(READ, STORAGE, "storageclasses"),
            rule(READ_UPDATE, "", "persistentvolumeclaims")]),
        cluster_role("system:certificates.k8s.io:legacy-unknown-approver",
                     _approver("legacy-unknown")),
        cluster_role("system:certificates.k8s.io:kubelet-serving-approver",
                     _approver("kubelet-serving")),
        cluster_role("system:certificates.k8s.io:kube-apiserver-client-approver",
                     _approver("kube-apiserver-client")),
        cluster_role("system:certificates.k8s.io:kube-apiserver-client-kubelet-approver",
                     _approver("kube-apiserver-client-kubelet")),
        cluster_role("system:service-account-issuer-discovery", [
            urls("get", ("/.well-known/openid-configuration", "/openid/v1/jwks"))]),
        cluster_role("system:node-proxier", [
            rule(("list", "watch"), "", ("services", "endpoints")),
            rule(READ, "", "nodes"),
            events_rule(),
            rule(("list", "watch"), "discovery.k8s.io", "endpointslices")]),
        cluster_role("system:kube-scheduler", _scheduler()),
    ]



def cluster_role_bindings() -> list[dict]:
    return [
        cluster_binding("cluster-admin", group("system:masters")),
        cluster_binding("system:monitoring", group("system:monitoring")),
        cluster_binding("system:discovery", group("system:authenticated")),
        cluster_binding("system:basic-user", group("system:authenticated")),
        cluster_binding("system:public-info-viewer", group("system:authenticated"),
                        group("system:unauthenticated")),
        cluster_binding("system:node-proxier", user("system:kube-proxy")),
        cluster_binding("system:kube-controller-manager", user("system:kube-controller-manager")),
        cluster_binding("system:kube-dns", service_account("kube-system", "kube-dns")),
        cluster_binding("system:kube-scheduler", user("system:kube-scheduler")),
        cluster_binding("system:volume-scheduler", user("system:kube-scheduler")),
        cluster_binding("system:node"),  # no subjects: the node authorizer grants kubelets
        cluster_binding("system:service-account-issuer-discovery",
                        group("system:serviceaccounts")),
    ]
