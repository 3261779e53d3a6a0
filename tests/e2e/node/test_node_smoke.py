"""The netns node comes up: Ready, with the advertised address as its InternalIP, and the
``kubernetes`` Service's endpoint at that address."""

from nodekit import NODE, NODE_ADDRESS


def test_node_advertises_its_address(node):
    kubectl = node.kubectl
    addresses = kubectl.jsonpath("get", "node", NODE,
                                 path="{.status.addresses[?(@.type=='InternalIP')].address}")
    assert addresses == NODE_ADDRESS
    endpoints = kubectl.jsonpath("get", "endpoints", "kubernetes", "-n", "default",
                                 path="{.subsets[0].addresses[0].ip}")
    assert endpoints == NODE_ADDRESS
