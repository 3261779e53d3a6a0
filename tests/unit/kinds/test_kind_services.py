"""Services: defaults, validation messages, and cluster IP / node port allocation hooks."""

from __future__ import annotations

import copy

import pytest

from pyk8s.apiserver import errors
from pyk8s.apiserver.kinds import strategy_for

STRATEGY = strategy_for("", "Service")


def svc(name: str = "web", **spec) -> dict:
    base = {"selector": {"app": "web"}, "ports": [{"port": 80}]}
    base.update(spec)
    return {"metadata": {"name": name}, "spec": base}


async def created(ctx, create, obj: dict, uid: str = "uid-1") -> dict:
    obj, errs = create("", "Service", obj, uid=uid)
    assert errs == []
    await STRATEGY.before_create(ctx, obj)
    return obj


@pytest.mark.parametrize(
    "spec, expected",
    [
        ({}, {"type": "ClusterIP", "sessionAffinity": "None", "internalTrafficPolicy": "Cluster",
              "ports": [{"port": 80, "protocol": "TCP", "targetPort": 80}]}),
        ({"type": "NodePort", "ports": [{"port": 80, "targetPort": "http"}]},
         {"type": "NodePort", "sessionAffinity": "None", "internalTrafficPolicy": "Cluster",
          "externalTrafficPolicy": "Cluster",
          "ports": [{"port": 80, "protocol": "TCP", "targetPort": "http"}]}),
        ({"type": "LoadBalancer"},
         {"type": "LoadBalancer", "sessionAffinity": "None", "internalTrafficPolicy": "Cluster",
          "externalTrafficPolicy": "Cluster", "allocateLoadBalancerNodePorts": True,
          "ports": [{"port": 80, "protocol": "TCP", "targetPort": 80}]}),
        ({"sessionAffinity": "ClientIP"},
         {"type": "ClusterIP", "sessionAffinity": "ClientIP", "internalTrafficPolicy": "Cluster",
          "sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 10800}},
          "ports": [{"port": 80, "protocol": "TCP", "targetPort": 80}]}),
    ],
)
def test_service_defaults(create, spec, expected):
    obj, errs = create("", "Service", svc(**spec))
    assert errs == []
    got = {k: v for k, v in obj["spec"].items() if k != "selector"}
    assert got == expected
    assert obj["status"] == {"loadBalancer": {}}


@pytest.mark.parametrize(
    "spec, expected",
    [
        ({"ports": []}, ["spec.ports: Required value"]),
        ({"ports": [], "clusterIP": "None"}, []),
        ({"ports": [{"port": 80}, {"port": 81}]}, ["spec.ports[0].name: Required value",
                                                     "spec.ports[1].name: Required value"]),
        ({"ports": [{"port": 0}]},
         ["spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive",
          "spec.ports[0].targetPort: Invalid value: 0: must be between 1 and 65535, inclusive"]),
        ({"ports": [{"port": 80, "protocol": "ICMP"}]},
         ['spec.ports[0].protocol: Unsupported value: "ICMP": supported values: "SCTP", "TCP", '
          '"UDP"']),
        ({"type": "Magic"},
         ['spec.type: Unsupported value: "Magic": supported values: "ClusterIP", "ExternalName", '
          '"LoadBalancer", "NodePort"']),
        ({"ports": [{"port": 80, "nodePort": 30080}]},
         ["spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'"]),
        ({"ports": [{"name": "a", "port": 80}, {"name": "b", "port": 80}]},
         ['spec.ports[1]: Duplicate value: {"protocol":"TCP","port":80}']),
        ({"type": "NodePort", "clusterIP": "None"},
         ["spec.clusterIPs[0]: Invalid value: \"None\": may not be set to 'None' for NodePort "
          "services"]),
        ({"type": "ExternalName", "ports": []}, ["spec.externalName: Required value"]),
        ({"type": "ExternalName", "externalName": "db.example.com."}, []),
        ({"clusterIP": "10.96.0.300"},
         ['spec.clusterIPs[0]: Invalid value: "10.96.0.300": must be a valid IP address, (e.g. '
          "10.9.8.7 or 2001:db8::ffff)"]),
        ({"clusterIP": "10.96.0.3", "clusterIPs": ["10.96.0.4"]},
         ['spec.clusterIPs: Invalid value: ["10.96.0.4"]: first value must match `clusterIP`']),
        ({"externalTrafficPolicy": "Local"},
         ['spec.externalTrafficPolicy: Invalid value: "Local": may only be set for '
          "externally-accessible services"]),
        ({"sessionAffinity": "ClientIP",
          "sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 0}}},
         ["spec.sessionAffinityConfig.clientIP.timeoutSeconds: Invalid value: 0: must be greater "
          "than 0 and less than 86400"]),
        ({"selector": {"app": "-x"}},
         ['spec.selector: Invalid value: "-x": a valid label must be an empty string or consist '
          "of alphanumeric characters, '-', '_' or '.', and must start and end with an "
          "alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for "
          "validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"]),
    ],
)
def test_service_validation(create, spec, expected):
    assert create("", "Service", svc(**spec))[1] == expected


def test_service_name_is_dns1035(create):
    _, errs = create("", "Service", svc(name="1web"))
    assert errs[0].startswith('metadata.name: Invalid value: "1web": a DNS-1035 label')


async def test_cluster_ip_allocation(ctx, create):
    obj = await created(ctx, create, svc())
    spec = obj["spec"]
    assert spec["clusterIPs"] == [spec["clusterIP"]]
    assert ctx.cluster_ips.is_allocated(spec["clusterIP"])
    assert (spec["ipFamilies"], spec["ipFamilyPolicy"]) == (["IPv4"], "SingleStack")
    other, _ = create("", "Service", svc("other", clusterIP=spec["clusterIP"]), uid="uid-2")
    with pytest.raises(errors.APIError) as err:
        await STRATEGY.before_create(ctx, other)
    assert err.value.code == 422
    assert err.value.message == (
        f'Service "other" is invalid: spec.clusterIPs: Invalid value: ["{spec["clusterIP"]}"]: '
        f"failed to allocate IP {spec['clusterIP']}: provided IP is already allocated")
    await STRATEGY.after_delete(ctx, obj)
    assert not ctx.cluster_ips.is_allocated(spec["clusterIP"])


async def test_requested_ip_out_of_range(ctx, create):
    obj, _ = create("", "Service", svc(clusterIP="192.168.0.10"))
    with pytest.raises(errors.APIError) as err:
        await STRATEGY.before_create(ctx, obj)
    assert err.value.message.endswith(
        "failed to allocate IP 192.168.0.10: the provided IP (192.168.0.10) is not in the valid "
        "range. The range of valid IPs is 10.96.0.0/12")


async def test_headless_and_external_name(ctx, create):
    headless = await created(ctx, create, svc(clusterIP="None"))
    assert headless["spec"]["clusterIPs"] == ["None"]
    assert headless["spec"]["ipFamilyPolicy"] == "SingleStack"
    selectorless = await created(ctx, create, svc("h2", clusterIP="None", selector=None))
    assert selectorless["spec"]["ipFamilyPolicy"] == "RequireDualStack"
    assert selectorless["spec"]["ipFamilies"] == ["IPv4", "IPv6"]
    external = await created(ctx, create, svc("ext", type="ExternalName",
                                              externalName="example.com"))
    assert "clusterIP" not in external["spec"] and "ipFamilies" not in external["spec"]


async def test_node_ports(ctx, create):
    obj = await created(ctx, create, svc(type="NodePort", ports=[
        {"name": "dns", "port": 53, "protocol": "UDP"},
        {"name": "dns-tcp", "port": 53, "protocol": "TCP"},
        {"name": "web", "port": 80, "nodePort": 30080}]))
    ports = obj["spec"]["ports"]
    assert ports[0]["nodePort"] == ports[1]["nodePort"]
    assert ports[2]["nodePort"] == 30080
    assert ctx.node_ports.is_allocated(30080)
    clash, _ = create("", "Service", svc("clash", type="NodePort",
                                         ports=[{"port": 80, "nodePort": 30080}]), uid="uid-2")
    free_ips = ctx.cluster_ips.free
    with pytest.raises(errors.APIError) as err:
        await STRATEGY.before_create(ctx, clash)
    assert err.value.message == ('Service "clash" is invalid: spec.ports[0].nodePort: Invalid '
                                 "value: 30080: provided port is already allocated")
    # the failed create gave back the cluster IP it had taken
    assert ctx.cluster_ips.free == free_ips
    await STRATEGY.after_delete(ctx, obj)
    assert not ctx.node_ports.is_allocated(30080)
    assert not ctx.node_ports.is_allocated(ports[0]["nodePort"])


async def test_out_of_range_node_port(ctx, create):
    obj, _ = create("", "Service", svc(type="NodePort", ports=[{"port": 80, "nodePort": 80}]))
    with pytest.raises(errors.APIError) as err:
        await STRATEGY.before_create(ctx, obj)
    assert err.value.message.endswith(
        "spec.ports[0].nodePort: Invalid value: 80: provided port is not in the valid range. The "
        "range of valid ports is 30000-32767")


async def test_load_balancer_health_check_port(ctx, create):
    obj = await created(ctx, create, svc(type="LoadBalancer", externalTrafficPolicy="Local"))
    hc = obj["spec"]["healthCheckNodePort"]
    assert ctx.node_ports.is_allocated(hc)
    no_ports = await created(ctx, create, svc("lb2", type="LoadBalancer",
                                              allocateLoadBalancerNodePorts=False), uid="uid-2")
    assert "nodePort" not in no_ports["spec"]["ports"][0]


async def test_undo_create_releases(ctx, create):
    obj = await created(ctx, create, svc(type="NodePort"))
    await STRATEGY.undo_create(ctx, obj)
    assert not ctx.cluster_ips.is_allocated(obj["spec"]["clusterIP"])
    assert not ctx.node_ports.is_allocated(obj["spec"]["ports"][0]["nodePort"])


async def test_update_keeps_allocations_a_client_left_out(ctx, create, update):
    old = await created(ctx, create, svc(type="NodePort"))
    new, errs = update("", "Service", svc(type="NodePort"), old)
    assert errs == []
    await STRATEGY.before_update(ctx, new, old)
    assert new["spec"]["clusterIP"] == old["spec"]["clusterIP"]
    assert new["spec"]["ports"][0]["nodePort"] == old["spec"]["ports"][0]["nodePort"]
    assert new["spec"]["ipFamilies"] == ["IPv4"]


async def test_update_type_changes(ctx, create, update):
    old = await created(ctx, create, svc(type="NodePort"))
    node_port = old["spec"]["ports"][0]["nodePort"]
    as_cluster_ip = copy.deepcopy(old)
    as_cluster_ip["spec"]["type"] = "ClusterIP"
    new, errs = update("", "Service", as_cluster_ip, old)
    assert errs == []
    assert "nodePort" not in new["spec"]["ports"][0]
    assert "externalTrafficPolicy" not in new["spec"]
    await STRATEGY.before_update(ctx, new, old)
    assert not ctx.node_ports.is_allocated(node_port)

    as_external = copy.deepcopy(new)
    as_external["spec"].update(type="ExternalName", externalName="example.com")
    newer, errs = update("", "Service", as_external, new)
    assert errs == []
    assert "clusterIP" not in newer["spec"] and "ipFamilies" not in newer["spec"]
    await STRATEGY.before_update(ctx, newer, new)
    assert not ctx.cluster_ips.is_allocated(new["spec"]["clusterIP"])

    back = copy.deepcopy(newer)
    back["spec"]["type"] = "NodePort"
    back["spec"].pop("externalName")
    newest, errs = update("", "Service", back, newer)
    assert errs == []
    await STRATEGY.before_update(ctx, newest, newer)
    assert ctx.cluster_ips.is_allocated(newest["spec"]["clusterIP"])
    assert ctx.node_ports.is_allocated(newest["spec"]["ports"][0]["nodePort"])


async def test_update_cannot_change_cluster_ip(ctx, create, update):
    old = await created(ctx, create, svc())
    changed = copy.deepcopy(old)
    changed["spec"]["clusterIP"] = "10.96.0.50"
    changed["spec"]["clusterIPs"] = ["10.96.0.50"]
    _, errs = update("", "Service", changed, old)
    assert errs == ['spec.clusterIPs[0]: Invalid value: ["10.96.0.50"]: may not change once set']


def test_service_selectable_fields(create):
    obj, _ = create("", "Service", svc(clusterIP="10.96.0.9"))
    assert STRATEGY.selectable_fields(obj) == {"spec.clusterIP": "10.96.0.9",
                                               "spec.type": "ClusterIP"}
