"""The netns node comes up: Ready, with the advertised address as its InternalIP, and the
``kubernetes`` Service's endpoint at that address."""

import json

from nodekit import API_PORT, NODE, NODE_ADDRESS, wait_until


def test_node_advertises_its_address(node):
    kubectl = node.kubectl
    addresses = kubectl.jsonpath("get", "node", NODE,
                                 path="{.status.addresses[?(@.type=='InternalIP')].address}")
    assert addresses == NODE_ADDRESS
    endpoints = kubectl.jsonpath("get", "endpoints", "kubernetes", "-n", "default",
                                 path="{.subsets[0].addresses[0].ip}")
    assert endpoints == NODE_ADDRESS


def test_pod_reaches_the_api_server_through_the_kubernetes_service(node, ns):
    """KUBERNETES_SERVICE_HOST:PORT (the ClusterIP, DNAT'd by kube-proxy to the advertised
    address) accepts a pod's connection, and the pod's own token authenticates there as
    its ServiceAccount. (The TLS request itself is made from the node: busybox's built-in
    TLS 1.2 client cannot shake hands with the API server, see the README.)"""
    kubectl = node.kubectl
    kubectl("run", "caller", "-n", ns, "--image=busybox", "--restart=Never", "--", "sh", "-c",
            "nc -w 5 $KUBERNETES_SERVICE_HOST $KUBERNETES_SERVICE_PORT </dev/null "
            "&& echo connected; cat /var/run/secrets/kubernetes.io/serviceaccount/token")

    def finished():
        phase = kubectl.jsonpath("get", "pod", "caller", "-n", ns, path="{.status.phase}")
        return phase in ("Succeeded", "Failed") and phase
    phase = wait_until(finished, 90, "pod caller to finish")
    out = kubectl("logs", "caller", "-n", ns).stdout
    assert phase == "Succeeded", out
    lines = out.splitlines()
    assert "connected" in lines, out
    token = lines[-1]
    as_pod = ("--kubeconfig", "/dev/null", "--server", f"https://127.0.0.1:{API_PORT}",
              "--certificate-authority", str(node.data_dir / "pki" / "ca.crt"), "--token", token)
    review = kubectl("create", "-o", "json", "--validate=false", *as_pod, "-f", "-",
                     input=json.dumps({"apiVersion": "authentication.k8s.io/v1",
                                       "kind": "SelfSubjectReview"}))
    user = json.loads(review.stdout)["status"]["userInfo"]
    assert user["username"] == f"system:serviceaccount:{ns}:default"
    assert kubectl.jsonpath("get", "service", "kubernetes", "-n", "default",
                            path="{.spec.clusterIP}") == "10.96.0.1"
