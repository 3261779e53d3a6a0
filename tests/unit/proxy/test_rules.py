"""kube-proxy's iptables rules as tables: Services + EndpointSlices -> restore lines."""

from __future__ import annotations

import pytest

from pyk8s.proxy.model import Endpoint, categorize, service_ports, slice_endpoints
from pyk8s.proxy.rules import (LARGE_CLUSTER_ENDPOINTS, ProxyConfig, RuleCache, compute,
                               probability, sep_chain, svc_chain)

CFG = ProxyConfig(node_name="node-a", cluster_cidr="10.244.0.0/16")
SVC = "KUBE-SVC-XPGD46QRK7WJZT7O"  # upstream's proxier_test name for ns1/svc1:p80 tcp
SEP1 = "KUBE-SEP-SXIVWICOYRO3J4NJ"  # ... and for its endpoint 10.180.0.1:80


def service(name="svc1", *, ns="ns1", ip="172.30.0.41", type_="ClusterIP", ports=None,
            **spec):
    ports = ports or [{"name": "p80", "port": 80, "protocol": "TCP"}]
    status = spec.pop("status", {})
    return {"metadata": {"namespace": ns, "name": name},
            "spec": {"type": type_, "clusterIP": ip, "ports": ports, **spec}, "status": status}


def endpoint(ip, *, node=None, ready=True, serving=None, terminating=None):
    conditions = {"ready": ready}
    if serving is not None:
        conditions["serving"] = serving
    if terminating is not None:
        conditions["terminating"] = terminating
    return {"addresses": [ip], "conditions": conditions, "nodeName": node}


def eslice(svc="svc1", *endpoints, ns="ns1", port=80, port_name="p80", suffix="a"):
    return {"metadata": {"namespace": ns, "name": f"{svc}-{suffix}",
                         "labels": {"kubernetes.io/service-name": svc}},
            "addressType": "IPv4",
            "ports": [{"name": port_name, "port": port, "protocol": "TCP"}],
            "endpoints": list(endpoints)}


def lines(ruleset, table="nat"):
    return getattr(ruleset, table).splitlines()


def test_chain_names_match_upstream_hashes():
    sp = service_ports(service())[0]
    assert svc_chain(sp) == SVC
    assert sep_chain(sp, "10.180.0.1:80") == SEP1


@pytest.mark.parametrize("n,expected", [
    (2, ["0.5000000000", None]),
    (3, ["0.3333333333", "0.5000000000", None]),
    (4, ["0.2500000000", "0.3333333333", "0.5000000000", None]),
])
def test_statistic_probabilities(n, expected):
    eps = [endpoint(f"10.180.0.{i}") for i in range(1, n + 1)]
    rules = [l for l in lines(compute([service()], [eslice("svc1", *eps)], CFG))
             if l.startswith(f"-A {SVC}") and "-> " in l]
    got = [l.split("--probability ")[1].split()[0] if "--probability" in l else None
           for l in rules]
    assert got == expected
    assert probability(3) == "0.3333333333"


def test_cluster_ip_rules():
    r = compute([service()], [eslice("svc1", endpoint("10.180.0.1"))], CFG)
    nat = lines(r)
    assert (f'-A KUBE-SERVICES -m comment --comment "ns1/svc1:p80 cluster IP" -m tcp -p tcp '
            f"-d 172.30.0.41 --dport 80 -j {SVC}") in nat
    assert (f'-A {SVC} -m comment --comment "ns1/svc1:p80 cluster IP" -m tcp -p tcp '
            f"-d 172.30.0.41 --dport 80 ! -s 10.244.0.0/16 -j KUBE-MARK-MASQ") in nat
    assert f'-A {SVC} -m comment --comment "ns1/svc1:p80 -> 10.180.0.1:80" -j {SEP1}' in nat
    assert f"-A {SEP1} -m comment --comment ns1/svc1:p80 -s 10.180.0.1 -j KUBE-MARK-MASQ" in nat
    assert (f"-A {SEP1} -m comment --comment ns1/svc1:p80 -m tcp -p tcp -j DNAT "
            f"--to-destination 10.180.0.1:80") in nat
    assert f":{SVC} - [0:0]" in nat and f":{SEP1} - [0:0]" in nat
    assert "-A KUBE-MARK-MASQ -j MARK --or-mark 0x4000" in nat
    assert nat[-2].startswith("-A KUBE-SERVICES") and "KUBE-NODEPORTS" in nat[-2]
    assert "REJECT" not in r.filter
    assert (r.services, r.endpoints) == (1, 1)


def test_no_endpoints_rejects_in_filter_and_writes_no_nat_chains():
    r = compute([service(type_="NodePort",
                         ports=[{"name": "p80", "port": 80, "nodePort": 30001}])], [], CFG)
    filt = lines(r, "filter")
    assert ('-A KUBE-SERVICES -m comment --comment "ns1/svc1:p80 has no endpoints" -m tcp '
            "-p tcp -d 172.30.0.41 --dport 80 -j REJECT") in filt
    assert ('-A KUBE-EXTERNAL-SERVICES -m comment --comment "ns1/svc1:p80 has no endpoints" '
            "-m addrtype --dst-type LOCAL -m tcp -p tcp --dport 30001 -j REJECT") in filt
    assert not any(l.startswith(":KUBE-SVC-") or l.startswith(":KUBE-SEP-") for l in lines(r))
    assert r.nat_chains == set()


def test_nodeport_goes_through_ext_chain_with_masquerade():
    sp = service(type_="NodePort", ports=[{"name": "p80", "port": 80, "nodePort": 30001}])
    nat = lines(compute([sp], [eslice("svc1", endpoint("10.180.0.1"))], CFG))
    ext = SVC.replace("SVC", "EXT")
    assert (f"-A KUBE-NODEPORTS -m comment --comment ns1/svc1:p80 -m tcp -p tcp --dport 30001 "
            f"-j {ext}") in nat
    assert (f'-A {ext} -m comment --comment "masquerade traffic for ns1/svc1:p80 external '
            f'destinations" -j KUBE-MARK-MASQ') in nat
    assert f"-A {ext} -j {SVC}" in nat


@pytest.mark.parametrize("cfg,expected", [
    (CFG, "-m addrtype --dst-type LOCAL -j KUBE-NODEPORTS"),
    (ProxyConfig(node_name="n", localhost_nodeports=False),
     "-m addrtype --dst-type LOCAL ! -d 127.0.0.0/8 -j KUBE-NODEPORTS"),
    (ProxyConfig(node_name="n", nodeport_ips=("192.168.1.5",)), "-d 192.168.1.5 -j KUBE-NODEPORTS"),
])
def test_nodeport_addresses(cfg, expected):
    assert lines(compute([], [], cfg))[-2].endswith(expected)


def test_session_affinity_client_ip():
    svc = service(sessionAffinity="ClientIP",
                  sessionAffinityConfig={"clientIP": {"timeoutSeconds": 300}})
    nat = lines(compute([svc], [eslice("svc1", endpoint("10.180.0.1"),
                                       endpoint("10.180.0.2"))], CFG))
    sep2 = sep_chain(service_ports(svc)[0], "10.180.0.2:80")
    svc_rules = [l for l in nat if l.startswith(f"-A {SVC}") and "->" in l]
    assert svc_rules[0].endswith(f"-m recent --name {SEP1} --rcheck --seconds 300 --reap "
                                 f"-j {SEP1}")
    assert svc_rules[1].endswith(f"--rcheck --seconds 300 --reap -j {sep2}")
    assert "--probability 0.5000000000" in svc_rules[2]
    assert (f"-A {SEP1} -m comment --comment ns1/svc1:p80 -m recent --name {SEP1} --set "
            f"-m tcp -p tcp -j DNAT --to-destination 10.180.0.1:80") in nat


def test_external_and_load_balancer_ips():
    svc = service(type_="LoadBalancer", externalIPs=["192.0.2.10"],
                  ports=[{"name": "p80", "port": 80, "nodePort": 30002}],
                  status={"loadBalancer": {"ingress": [{"ip": "198.51.100.7"}]}})
    nat = lines(compute([svc], [eslice("svc1", endpoint("10.180.0.1"))], CFG))
    ext = SVC.replace("SVC", "EXT")
    assert (f'-A KUBE-SERVICES -m comment --comment "ns1/svc1:p80 external IP" -m tcp -p tcp '
            f"-d 192.0.2.10 --dport 80 -j {ext}") in nat
    assert (f'-A KUBE-SERVICES -m comment --comment "ns1/svc1:p80 loadbalancer IP" -m tcp '
            f"-p tcp -d 198.51.100.7 --dport 80 -j {ext}") in nat


def test_external_traffic_policy_local():
    svc = service(type_="NodePort", externalTrafficPolicy="Local",
                  ports=[{"name": "p80", "port": 80, "nodePort": 30003}])
    local, remote = endpoint("10.180.0.1", node="node-a"), endpoint("10.180.0.2", node="node-b")
    nat = lines(compute([svc], [eslice("svc1", local, remote)], CFG))
    svl, ext = SVC.replace("SVC", "SVL"), SVC.replace("SVC", "EXT")
    assert f'-A {svl} -m comment --comment "ns1/svc1:p80 -> 10.180.0.1:80" -j {SEP1}' in nat
    assert not any(l.startswith(f"-A {svl}") and "10.180.0.2" in l for l in nat)
    assert (f'-A {ext} -m comment --comment "pod traffic for ns1/svc1:p80 external '
            f'destinations" -s 10.244.0.0/16 -j {SVC}') in nat
    assert any(l.startswith(f"-A {ext}") and "--src-type LOCAL -j KUBE-MARK-MASQ" in l
               for l in nat)
    assert nat.index(f"-A {ext} -j {svl}") > max(i for i, l in enumerate(nat)
                                                 if l.startswith(f"-A {ext} -m comment"))
    # ClusterIP traffic still uses every endpoint.
    assert sum(1 for l in nat if l.startswith(f"-A {SVC}") and "->" in l) == 2

    # No local endpoint: external traffic is dropped in the filter table, not rejected.
    r = compute([svc], [eslice("svc1", remote)], CFG)
    assert ('-A KUBE-EXTERNAL-SERVICES -m comment --comment "ns1/svc1:p80 has no local '
            'endpoints" -m addrtype --dst-type LOCAL -m tcp -p tcp --dport 30003 -j DROP'
            ) in lines(r, "filter")
    assert f"-A {ext} -j {svl}" not in lines(r)


def test_internal_traffic_policy_local():
    svc = service(internalTrafficPolicy="Local")
    remote = endpoint("10.180.0.2", node="node-b")
    r = compute([svc], [eslice("svc1", remote)], CFG)
    assert ('-A KUBE-SERVICES -m comment --comment "ns1/svc1:p80 has no local endpoints" '
            "-m tcp -p tcp -d 172.30.0.41 --dport 80 -j DROP") in lines(r, "filter")
    assert r.nat_chains == set()
    r = compute([svc], [eslice("svc1", remote, endpoint("10.180.0.1", node="node-a"))], CFG)
    svl = SVC.replace("SVC", "SVL")
    assert any(l.startswith("-A KUBE-SERVICES") and l.endswith(f"-j {svl}") for l in lines(r))
    assert r.nat_chains == {svl, SEP1}


@pytest.mark.parametrize("endpoints,expected", [
    # Ready endpoints win; unready ones are left out.
    ([dict(ip="10.0.0.1"), dict(ip="10.0.0.2", ready=False, serving=False)], ["10.0.0.1:80"]),
    # No ready endpoint: serving + terminating ones keep the service up.
    ([dict(ip="10.0.0.1", ready=False, serving=True, terminating=True),
      dict(ip="10.0.0.2", ready=False, serving=False, terminating=True)], ["10.0.0.1:80"]),
    # Ready beats terminating.
    ([dict(ip="10.0.0.1", ready=False, serving=True, terminating=True),
      dict(ip="10.0.0.2")], ["10.0.0.2:80"]),
    ([dict(ip="10.0.0.1", ready=False, serving=False)], []),
])
def test_serving_terminating(endpoints, expected):
    sp = service_ports(service())[0]
    eps = slice_endpoints([eslice("svc1", *(endpoint(e.pop("ip"), **e) for e in endpoints))],
                          "p80", "tcp")
    assert [str(e) for e in categorize(sp, eps, "node-a").cluster] == expected


def test_slices_merge_dedupe_and_sort():
    a = eslice("svc1", endpoint("10.0.0.10"), endpoint("10.0.0.2"), suffix="a")
    b = eslice("svc1", endpoint("10.0.0.2"), endpoint("10.0.0.3"), suffix="b")
    other_port = eslice("svc1", endpoint("10.0.0.9"), port_name="metrics", suffix="c")
    eps = slice_endpoints([a, b, other_port], "p80", "tcp")
    assert [str(e) for e in eps] == ["10.0.0.10:80", "10.0.0.2:80", "10.0.0.3:80"]
    assert eps[0] == Endpoint("10.0.0.10", 80, node_name=None)


@pytest.mark.parametrize("svc", [
    service(ip="None"),
    service(ip=""),
    service(ip="fd00::1"),
    {"metadata": {"namespace": "ns1", "name": "x"},
     "spec": {"type": "ExternalName", "externalName": "example.com"}},
    {**service(), "metadata": {"namespace": "ns1", "name": "svc1", "labels": {
        "service.kubernetes.io/service-proxy-name": "other"}}},
])
def test_ignored_services(svc):
    assert service_ports(svc) == []


def test_stale_chains_are_deleted_others_kept():
    r = compute([service()], [eslice("svc1", endpoint("10.180.0.1"))], CFG,
                existing_nat_chains={SVC, "KUBE-SVC-GONE", "KUBE-SEP-GONE", "CNI-FOO",
                                     "KUBE-MARK-DROP"})
    nat = lines(r)
    assert "-X KUBE-SVC-GONE" in nat and "-X KUBE-SEP-GONE" in nat
    assert ":KUBE-SVC-GONE - [0:0]" in nat
    assert not any(l.endswith(("CNI-FOO", "KUBE-MARK-DROP", SVC)) and l.startswith("-X")
                   for l in nat)
    assert nat[-1] == "COMMIT"


def test_unnamed_port_and_udp():
    svc = service("dns", ports=[{"port": 53, "protocol": "UDP"}])
    es = {"metadata": {"namespace": "ns1", "name": "dns-x",
                       "labels": {"kubernetes.io/service-name": "dns"}},
          "addressType": "IPv4", "ports": [{"port": 5353, "protocol": "UDP"}],
          "endpoints": [endpoint("10.0.0.5")]}
    nat = lines(compute([svc], [es], CFG))
    assert any('"ns1/dns cluster IP" -m udp -p udp -d 172.30.0.41 --dport 53' in l
               for l in nat)
    assert any(l.endswith("-m udp -p udp -j DNAT --to-destination 10.0.0.5:5353") for l in nat)


def test_masquerade_all_and_no_cluster_cidr():
    es = eslice("svc1", endpoint("10.180.0.1"))
    nat = lines(compute([service()], [es], ProxyConfig(node_name="n", masquerade_all=True)))
    assert any(l.startswith(f"-A {SVC}") and l.endswith("--dport 80 -j KUBE-MARK-MASQ")
               for l in nat)
    nat = lines(compute([service()], [es], ProxyConfig(node_name="n", cluster_cidr=None)))
    assert not any(l.startswith(f"-A {SVC}") and "KUBE-MARK-MASQ" in l for l in nat)


def test_partial_sync_writes_only_changed_service_chains():
    svcs = [service(), service("svc2", ip="172.30.0.42")]
    slices = [eslice("svc1", endpoint("10.180.0.1")), eslice("svc2", endpoint("10.180.0.2"))]
    full = compute(svcs, slices, CFG)
    part = compute(svcs, slices, CFG, changed={("ns1", "svc2")},
                   existing_nat_chains=full.nat_chains)
    nat = lines(part)
    assert part.nat_chains == full.nat_chains  # still active: nothing deleted
    assert f":{SVC} - [0:0]" not in nat and not any(l.startswith(f"-A {SVC}") for l in nat)
    assert any(l.startswith("-A KUBE-SERVICES") and l.endswith(SVC) for l in nat)
    assert any(l.startswith("-A KUBE-SVC-") and "10.180.0.2" in l for l in nat)
    assert not any(l.startswith("-X") for l in nat)


def test_rule_cache_gives_the_same_text_and_rebuilds_only_what_changed():
    svcs = [service(), service("svc2", ip="172.30.0.42")]
    slices = [eslice("svc1", endpoint("10.180.0.1")), eslice("svc2", endpoint("10.180.0.2"))]
    cache = RuleCache()
    first = compute(svcs, slices, CFG, cache=cache)
    blocks = dict(cache.blocks)
    slices[1] = eslice("svc2", endpoint("10.180.0.2"), endpoint("10.180.0.3"))
    second = compute(svcs, slices, CFG, cache=cache)
    assert second.text == compute(svcs, slices, CFG).text != first.text
    reused = [key for key, block in cache.blocks.items() if blocks.get(key) is block]
    assert [key[0].name for key in reused] == ["svc1"]
    other = ProxyConfig(node_name="node-a", cluster_cidr="10.245.0.0/16")
    assert compute(svcs, slices, other, cache=cache).text == compute(svcs, slices, other).text


def test_large_cluster_mode_drops_endpoint_chain_comments():
    count = LARGE_CLUSTER_ENDPOINTS + 1
    eps = [endpoint(f"10.180.{i // 250}.{i % 250 + 1}") for i in range(count)]
    nat = lines(compute([service()], [eslice("svc1", *eps)], CFG))
    sep = sep_chain(service_ports(service())[0], "10.180.0.1:80")
    assert f"-A {sep} -s 10.180.0.1 -j KUBE-MARK-MASQ" in nat
    assert f"-A {sep} -m tcp -p tcp -j DNAT --to-destination 10.180.0.1:80" in nat
    assert f"-A {SVC} -m statistic --mode random --probability {probability(count)} " \
           "-j KUBE-SEP-" in "\n".join(nat)
    assert any(l.startswith("-A KUBE-SERVICES") and '"ns1/svc1:p80 cluster IP"' in l
               for l in nat)  # the top-level chains keep theirs
    small = lines(compute([service()], [eslice("svc1", *eps[:-1])], CFG))
    assert f'-A {sep} -m comment --comment ns1/svc1:p80 -s 10.180.0.1 -j KUBE-MARK-MASQ' \
        in small
