"""Applying kube-proxy's rules: ``iptables-restore --noflush``, jump rules, sysctls.

Everything goes through the ``iptables`` commands (Debian 12's are the nft backend;
python-iptables writes the legacy backend, which those commands do not show), run as
asyncio subprocesses. ``Iptables(prefix=[...])`` runs every command under a prefix such
as ``nsenter --net=/run/netns/X``, so the same code drives a test's network namespace;
sysctls are set with the ``sysctl`` command for the same reason (``/proc/sys/net``
shows the namespace of whoever opens it).

As upstream, a sync restores both tables in one ``--noflush`` call (kube-proxy owns
every chain it declares; other chains are left alone), and the jumps into those chains
from the built-in ones are checked with ``-C`` and inserted with ``-I`` when missing,
which is idempotent across restarts.

With the nft backend (iptables 1.8.x), ``--noflush`` restores of thousands of chains are
quadratic in userspace: iptables-nft-restore records every chain a command names in a
sorted linked list, to fetch only those chains from the kernel, and inserting each name
walks that list from its start. A command that names no chain makes it fetch the whole
table instead and stop keeping the list, so an input declaring many chains starts each
table with ``-S`` (list the table's rules: read-only; its output is discarded). That
turns the first restore of 5,000 services from minutes into about a second. Fetching the
whole table costs time of its own (about as long as an ``iptables-save``), so inputs
declaring few chains, such as partial syncs, go without it; for those, ``rules`` orders
the many jumps of KUBE-SERVICES and KUBE-NODEPORTS by target, descending, so that each
new name is inserted at the head of the list (a partial sync of 5,000 services: 1.0 s
with ``-S``, 0.36 s this way).
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Sequence

from .rules import JUMPS

log = logging.getLogger("pyk8s.kube-proxy.iptables")

WAIT = ("-w", "5")
#: Restore inputs declaring more chains than this list the tables first (see above).
LIST_FIRST_CHAINS = 1000
#: sysctls kube-proxy sets (in the namespace it runs in).
SYSCTLS = (("net.ipv4.ip_forward", "1"),
           ("net.ipv4.conf.all.route_localnet", "1"),
           ("net.bridge.bridge-nf-call-iptables", "1"))


class IptablesError(Exception):
    """An iptables command failed; carries its stderr."""


class Iptables:
    """Runs the iptables tools (optionally under a command prefix)."""

    def __init__(self, prefix: Sequence[str] = ()) -> None:
        self.prefix = list(prefix)
        self._nft: bool | None = None

    async def _run(self, *argv: str, stdin: bytes | None = None, check: bool = True,
                   keep_stdout: bool = True) -> tuple[int, bytes]:
        proc = await asyncio.create_subprocess_exec(
            *self.prefix, *argv, stdin=asyncio.subprocess.PIPE if stdin is not None else None,
            stdout=asyncio.subprocess.PIPE if keep_stdout else asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE)
        out, err = await proc.communicate(stdin)
        if check and proc.returncode:
            raise IptablesError(f"{' '.join(argv[:3])} exited {proc.returncode}: "
                                f"{err.decode(errors='replace').strip()}")
        return proc.returncode, out

    async def nft_backend(self) -> bool:
        """Whether the iptables tools are the nf_tables ones (asked once)."""
        if self._nft is None:
            _, out = await self._run("iptables-restore", "--version", check=False)
            self._nft = b"nf_tables" in out
        return self._nft

    async def restore(self, text: str) -> None:
        """Load ``text`` with ``--noflush`` (tables and chains not named are untouched)."""
        if text.count("\n:") > LIST_FIRST_CHAINS and await self.nft_backend():
            text = re.sub(r"^(\*\w+)$", r"\1\n-S", text, flags=re.MULTILINE)
        await self._run("iptables-restore", *WAIT, "--noflush", stdin=text.encode(),
                        keep_stdout=False)

    async def chains(self, table: str) -> set[str]:
        """Names of the user chains of ``table`` right now."""
        _, out = await self._run("iptables-save", "-t", table)
        return set(re.findall(r"^:(\S+) ", out.decode(), re.M)) - {
            "PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"}

    async def ensure_jumps(self) -> int:
        """Make sure every built-in chain jumps to its kube chain; returns how many were added."""
        added = 0
        for table, builtin, chain, text, extra in JUMPS:
            code, _ = await self._run("iptables", *WAIT, "-t", table, "-N", chain, check=False)
            rule = [*extra, "-m", "comment", "--comment", text, "-j", chain]
            code, _ = await self._run("iptables", *WAIT, "-t", table, "-C", builtin, *rule,
                                      check=False)
            if code:
                await self._run("iptables", *WAIT, "-t", table, "-I", builtin, *rule)
                added += 1
        return added

    async def set_sysctls(self) -> None:
        """Forwarding on, route_localnet (localhost NodePorts), bridged traffic through
        iptables when br_netfilter is loaded; missing knobs are logged, not fatal."""
        for name, value in SYSCTLS:
            code, _ = await self._run("sysctl", "-q", "-w", f"{name}={value}", check=False)
            if code:
                log.warning("could not set sysctl %s=%s", name, value)

    async def addresses(self) -> list[str]:
        """The IPv4 addresses of the (namespace's) interfaces, for ``--nodeport-addresses``."""
        _, out = await self._run("ip", "-4", "-j", "addr", "show")
        return [a["local"] for link in json.loads(out or b"[]")
                for a in link.get("addr_info", ()) if "local" in a]

    async def cleanup(self) -> None:
        """Remove every rule and chain kube-proxy made (``kube-proxy --cleanup``)."""
        for table, builtin, chain, text, extra in JUMPS:
            rule = [*extra, "-m", "comment", "--comment", text, "-j", chain]
            await self._run("iptables", *WAIT, "-t", table, "-D", builtin, *rule, check=False)
        for table in ("filter", "nat"):
            owned = sorted(c for c in await self.chains(table) if c.startswith("KUBE-"))
            if owned:
                lines = [f"*{table}", *(f":{c} - [0:0]" for c in owned),
                         *(f"-X {c}" for c in owned), "COMMIT", ""]
                await self.restore("\n".join(lines))
