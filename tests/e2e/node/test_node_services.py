"""Services on a real node: kube-proxy's iptables rules carry traffic to the pods.

One Deployment of three busybox httpd pods (each serves a page naming its pod, and is
Ready only while ``/tmp/ready`` exists) sits behind a ClusterIP Service and a NodePort
Service. From the node and from another pod, repeated requests to the ClusterIP reach
all three pods; the NodePort answers on the node's address and on 127.0.0.1 (route_localnet).
A pod whose readiness probe fails leaves the Service's EndpointSlice (ready: false) and
stops getting traffic, and comes back when the probe passes again. With the Deployment
scaled to 0 the Service has no endpoints and kube-proxy REJECTs: connections are refused
at once instead of hanging. The API server's services/proxy, pods/proxy and nodes/proxy
reach the pods and the kubelet. kube-proxy's health and metrics servers answer on the node,
and its /healthz fails while the autoscaler's deletion taint is on the Node.
"""

from __future__ import annotations

import json

from nodekit import BUSYBOX, NODE, NODE_ADDRESS, wait_until

REQUESTS = 30  # each pod is missed by all 30 with probability (2/3)**30, about 5e-6

WEB = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: httpd
        image: busybox
        command: [sh, -c, "mkdir -p /www && hostname > /www/index.html && touch /tmp/ready
          && exec httpd -f -p 80 -h /www"]
        ports: [{containerPort: 80}]
        readinessProbe:
          exec: {command: [test, -f, /tmp/ready]}
          periodSeconds: 1
          failureThreshold: 1
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 8080, targetPort: 80}]
---
apiVersion: v1
kind: Service
metadata: {name: web-np}
spec:
  type: NodePort
  selector: {app: web}
  ports: [{port: 80, targetPort: 80}]
---
apiVersion: v1
kind: Pod
metadata: {name: client}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - {name: client, image: busybox, command: [sleep, "3600"]}
"""


def loop(url: str) -> list[str]:
    """A shell loop of REQUESTS busybox wgets; prints one page (a pod name) per line."""
    script = f"for i in $(seq {REQUESTS}); do wget -q -O - {url} || echo FAILED; done"
    return ["sh", "-c", script]


def from_node(node, url: str) -> list[str]:
    result = node.run(BUSYBOX, *loop(url), timeout=60)
    return result.stdout.split()


def from_pod(kubectl, url: str) -> list[str]:
    return kubectl("exec", "client", "--", *loop(url), timeout=60).stdout.split()


def ready_endpoints(kubectl) -> dict[str, bool]:
    """The web Service's endpoints (pod name -> ready) from its EndpointSlices."""
    slices = json.loads(kubectl("get", "endpointslices", "-l",
                                "kubernetes.io/service-name=web", "-o", "json").stdout)
    return {ep["targetRef"]["name"]: ep["conditions"].get("ready", True)
            for es in slices["items"] for ep in es.get("endpoints") or ()}


def test_services_reach_ready_pods(node, ns, kubectl):
    kubectl("apply", "-f", "-", input=WEB)
    wait_until(lambda: kubectl.jsonpath("get", "deployment", "web",
                                        path="{.status.readyReplicas}") == "3", 120,
               "deployment web ready")
    wait_until(lambda: kubectl.jsonpath("get", "pod", "client",
                                        path="{.status.phase}") == "Running", 60,
               "pod client Running")
    pods = set(kubectl.jsonpath("get", "pods", "-l", "app=web",
                                path="{.items[*].metadata.name}").split())
    assert len(pods) == 3
    wait_until(lambda: ready_endpoints(kubectl) == dict.fromkeys(pods, True), 30,
               "three ready endpoints")
    cluster_ip = kubectl.jsonpath("get", "service", "web", path="{.spec.clusterIP}")
    node_port = kubectl.jsonpath("get", "service", "web-np", path="{.spec.ports[0].nodePort}")
    service_url = f"http://{cluster_ip}:8080/"

    # kube-proxy syncs at most once a second after a change: wait until it has all three.
    wait_until(lambda: set(from_node(node, service_url)) == pods, 30,
               "the ClusterIP to reach every pod")
    assert set(from_pod(kubectl, service_url)) == pods
    for address in (NODE_ADDRESS, "127.0.0.1"):
        assert set(from_node(node, f"http://{address}:{node_port}/")) == pods, address
    assert set(from_pod(kubectl, f"http://{NODE_ADDRESS}:{node_port}/")) == pods

    # Through the API server: services/proxy to a ready endpoint, pods/proxy to one pod,
    # nodes/proxy to the kubelet (over its HTTPS, with the API server's client certificate).
    proxied = {kubectl("get", "--raw", f"/api/v1/namespaces/{ns}/services/web:8080/proxy/")
               .stdout.strip() for _ in range(10)}
    assert proxied and proxied <= pods, proxied
    one = min(pods)
    assert kubectl("get", "--raw", f"/api/v1/namespaces/{ns}/pods/{one}:80/proxy/index.html"
                   ).stdout.strip() == one
    assert kubectl("get", "--raw", f"/api/v1/nodes/{NODE}/proxy/healthz").stdout == "ok"

    # A failing readiness probe takes the pod out of the Service, a passing one back in.
    unready = min(pods)
    kubectl("exec", unready, "--", "rm", "/tmp/ready")
    wait_until(lambda: ready_endpoints(kubectl).get(unready) is False, 30,
               f"{unready} not ready in the EndpointSlice")
    endpoints = json.loads(kubectl("get", "endpoints", "web", "-o", "json").stdout)
    listed = {a["targetRef"]["name"] for s in endpoints["subsets"] for a in s.get("addresses", ())}
    assert listed == pods - {unready}
    wait_until(lambda: unready not in from_node(node, service_url), 30,
               f"traffic to stop reaching {unready}")
    assert set(from_node(node, service_url)) == pods - {unready}
    assert set(from_pod(kubectl, service_url)) == pods - {unready}
    kubectl("exec", unready, "--", "touch", "/tmp/ready")
    wait_until(lambda: ready_endpoints(kubectl).get(unready) is True, 30,
               f"{unready} ready again")
    wait_until(lambda: set(from_node(node, service_url)) == pods, 30,
               f"traffic to reach {unready} again")

    # No endpoints: kube-proxy REJECTs, so the connection is refused rather than hanging.
    kubectl("scale", "deployment", "web", "--replicas=0")
    wait_until(lambda: not ready_endpoints(kubectl), 60, "no endpoints left")

    # Until kube-proxy's next sync the old DNAT rules send SYNs to pods that are gone.
    def rejected() -> bool:
        rules = node.run("iptables-save", "-t", "filter").stdout
        return all(f"{ns}/{name} has no endpoints" in rules for name in ("web", "web-np"))
    wait_until(rejected, 30, "kube-proxy to REJECT the empty Services")
    result = node.wget(service_url)
    assert result.returncode != 0 and "refused" in result.stderr, result
    for address in (NODE_ADDRESS, "127.0.0.1"):
        result = node.wget(f"http://{address}:{node_port}/")
        assert result.returncode != 0 and "refused" in result.stderr, (address, result)
    result = kubectl("exec", "client", "--", "wget", "-q", "-O", "-", service_url, check=False)
    assert result.returncode != 0 and "refused" in result.stderr, result


def test_kube_proxy_health_and_metrics(node):
    """kube-proxy's healthz (0.0.0.0:10256) and metrics (127.0.0.1:10249) servers."""
    def healthy() -> dict | None:
        result = node.wget("http://127.0.0.1:10256/healthz")
        return result.returncode == 0 and json.loads(result.stdout)
    health = wait_until(healthy, 60, "kube-proxy healthz")
    assert set(health) >= {"lastUpdated", "currentTime", "nodeEligible"}
    assert health["nodeEligible"] is True
    livez = node.wget(f"http://{NODE_ADDRESS}:10256/livez")
    assert livez.returncode == 0 and set(json.loads(livez.stdout)) >= {"lastUpdated"}

    # A node the cluster autoscaler is about to delete fails /healthz (load balancers
    # drain it) but not /livez. PreferNoSchedule keeps other tests' pods schedulable.
    taint = "ToBeDeletedByClusterAutoscaler=1:PreferNoSchedule"
    node.kubectl("taint", "node", NODE, taint)
    try:
        def ineligible() -> bool:
            result = node.wget("http://127.0.0.1:10256/healthz")
            return result.returncode != 0 and "503" in result.stderr
        wait_until(ineligible, 30, "healthz to answer 503")
        assert node.wget("http://127.0.0.1:10256/livez").returncode == 0
    finally:
        node.kubectl("taint", "node", NODE, f"{taint}-")
    wait_until(healthy, 30, "healthz to answer 200 again")

    metrics = node.wget("http://127.0.0.1:10249/metrics")
    assert metrics.returncode == 0, metrics
    text = metrics.stdout
    assert "# TYPE kubeproxy_sync_proxy_rules_duration_seconds histogram" in text
    count = next(line for line in text.splitlines()
                 if line.startswith("kubeproxy_sync_proxy_rules_duration_seconds_count"))
    assert int(float(count.split()[1])) >= 1
    assert "kubeproxy_sync_proxy_rules_last_timestamp_seconds " in text
    assert "kubeproxy_sync_full_proxy_rules_duration_seconds_count" in text
    # Metrics listen on loopback only, as upstream's default.
    assert node.wget(f"http://{NODE_ADDRESS}:10249/metrics").returncode != 0
