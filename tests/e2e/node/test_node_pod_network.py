"""The node's pod network: pod traffic leaving the podCIDR is masqueraded by the one rule
the kubelet adds for its podCIDR, and starting pods adds no nat chain per pod (the CNI
bridge runs without ``ipMasq``), which is what keeps a burst of sandboxes cheap."""

import json

from nodekit import wait_until


def _nat(node) -> list[str]:
    return node.run("iptables-save", "-t", "nat", check=True).stdout.splitlines()


def test_one_masquerade_rule_and_no_chain_per_pod(node, ns):
    kubectl = node.kubectl
    node_obj = json.loads(kubectl("get", "node", "-o", "json").stdout)["items"][0]
    cidr = node_obj["spec"]["podCIDR"]
    masquerade = [line for line in _nat(node) if "-j MASQUERADE" in line and
                  f"-s {cidr}" in line and "masquerade traffic leaving the pod CIDR" in line]
    assert len(masquerade) == 1, masquerade
    assert f"! -d {cidr}" in masquerade[0]

    for name in ("net-a", "net-b"):
        kubectl("run", name, "-n", ns, "--image=busybox", "--restart=Never", "--",
                "sleep", "3600")

    def running():
        phases = kubectl.jsonpath("get", "pods", "-n", ns, path="{.items[*].status.phase}")
        return phases.split() == ["Running", "Running"]
    wait_until(running, 90, "both pods Running")
    ips = kubectl.jsonpath("get", "pods", "-n", ns, path="{.items[*].status.podIP}").split()
    rules = _nat(node)
    for ip in ips:
        assert not [line for line in rules if f"-s {ip}/32" in line], rules
    assert not [line for line in rules if line.startswith(":CNI-") and
                not line.startswith(":CNI-HOSTPORT")], rules
