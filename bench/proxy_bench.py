"""kube-proxy benchmark: time to compute and apply the iptables rules for many Services.

For 1,000 and 5,000 NodePort Services with 2 endpoints each (``--endpoints 2-10``:
a seeded random count per Service), measures ``rules.compute`` and the
``iptables-restore --noflush`` of the result inside a network namespace this script
creates and deletes (the host's tables are never touched): the first (full) sync into
empty tables, a full resync of the same rules, and a partial sync after one endpoint
changed (only that Service's chains plus the top-level chains are written). As in the
proxier, computes after the first reuse a ``RuleCache``. ``--repeat N`` runs each size N
times (a fresh namespace each time) and reports each column's best run, the least
disturbed by other work on a shared machine. Run as root:
``.venv/bin/python bench/proxy_bench.py``.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import subprocess
import time
import uuid

from pyk8s.proxy.iptables import Iptables
from pyk8s.proxy.rules import ProxyConfig, RuleCache, compute


def objects(count: int, endpoints: str = "2", seed: int = 1) -> tuple[list[dict], list[dict]]:
    low, _, high = endpoints.partition("-")
    rng = random.Random(seed)
    services, slices = [], []
    for i in range(count):
        name = f"svc-{i}"
        services.append({"metadata": {"namespace": "bench", "name": name}, "spec": {
            "type": "NodePort", "clusterIP": f"10.{96 + i // 65536}.{i // 256 % 256}.{i % 256}",
            "ports": [{"name": "http", "port": 80, "protocol": "TCP",
                       "nodePort": 30000 + i % 2768}]}})
        eps = [{"addresses": [f"10.244.{(i * 10 + j) // 256 % 256}.{(i * 10 + j) % 256}"],
                "conditions": {"ready": True}, "nodeName": f"node-{j}"}
               for j in range(rng.randint(int(low), int(high or low)))]
        slices.append({"metadata": {"namespace": "bench", "name": f"{name}-x",
                                    "labels": {"kubernetes.io/service-name": name}},
                       "addressType": "IPv4",
                       "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
                       "endpoints": eps})
    return services, slices


async def measure(count: int, endpoints: str) -> dict:
    services, slices = objects(count, endpoints)
    cfg = ProxyConfig(node_name="node-0")
    netns = f"kpbench-{uuid.uuid4().hex[:6]}"
    subprocess.run(["ip", "netns", "add", netns], check=True)
    try:
        runner = Iptables(prefix=["nsenter", f"--net=/run/netns/{netns}"])
        cache = RuleCache()
        t0 = time.perf_counter()
        ruleset = compute(services, slices, cfg, cache=cache)
        t1 = time.perf_counter()
        await runner.ensure_jumps()
        t2 = time.perf_counter()
        await runner.restore(ruleset.text)
        t3 = time.perf_counter()
        existing = await runner.chains("nat")
        t4 = time.perf_counter()
        again = compute(services, slices, cfg, existing_nat_chains=existing, cache=cache)
        await runner.restore(again.text)
        t5 = time.perf_counter()
        slices[0] = {**slices[0], "endpoints": slices[0]["endpoints"][1:]}
        changed = compute(services, slices, cfg, existing_nat_chains=again.nat_chains,
                          changed={("bench", "svc-0")}, cache=cache)
        t6 = time.perf_counter()
        await runner.restore(changed.text)
        t7 = time.perf_counter()
        return {"services": count, "endpoints": ruleset.endpoints,
                "rules": ruleset.filter_rules + ruleset.nat_rules,
                "chains": len(ruleset.nat_chains), "compute": t1 - t0, "jumps": t2 - t1,
                "first": t3 - t2, "save": t4 - t3, "resync": t5 - t4,
                "change_compute": t6 - t5, "change_apply": t7 - t6}
    finally:
        subprocess.run(["ip", "netns", "del", netns], check=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,5000")
    parser.add_argument("--endpoints", default="2", help="per Service: N or LOW-HIGH")
    parser.add_argument("--repeat", type=int, default=1, help="runs per size (best is shown)")
    args = parser.parse_args()
    print("| services | endpoints | rules | chains | compute | first restore | iptables-save "
          "| resync (compute+restore) | 1 endpoint changed (compute / restore) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for size in (int(s) for s in args.sizes.split(",")):
        runs = [asyncio.run(measure(size, args.endpoints)) for _ in range(args.repeat)]
        r = {key: min(run[key] for run in runs) for key in runs[0]}
        print(f"| {r['services']:,} | {r['endpoints']:,} | {r['rules']:,} | {r['chains']:,} "
              f"| {r['compute'] * 1e3:.0f} ms | {r['first'] * 1e3:.0f} ms "
              f"| {r['save'] * 1e3:.0f} ms | {r['resync'] * 1e3:.0f} ms "
              f"| {r['change_compute'] * 1e3:.0f} / {r['change_apply'] * 1e3:.0f} ms |")


if __name__ == "__main__":
    main()
