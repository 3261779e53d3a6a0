"""Runs the real kubectl against the session's API server, with a timeout.

Test modules import the fixtures from here (``from kubectl_cli import kubectl, ns``):
``kubectl`` is a :class:`Kubectl` bound to the session server's admin.conf, ``ns`` a
namespace created for the calling test only, so tests stay independent.
"""

from __future__ import annotations

import os
import queue
import re
import subprocess
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

TIMEOUT = 30.0  # no single kubectl call may take longer


@dataclass
class Result:
    args: list[str]
    returncode: int
    stdout: str
    stderr: str

    def __str__(self) -> str:
        return (f"$ kubectl {' '.join(self.args)}\n-> exit {self.returncode}\n"
                f"--- stdout\n{self.stdout}--- stderr\n{self.stderr}")

    @property
    def lines(self) -> list[str]:
        return [line for line in self.stdout.splitlines() if line.strip()]

    def table(self) -> list[list[str]]:
        """The printed table split on runs of 2+ spaces (header first)."""
        return [re.split(r"\s{2,}", line.strip()) for line in self.lines]


class Kubectl:
    """Calls kubectl with KUBECONFIG pointing at the test server."""

    def __init__(self, kubeconfig: Path, workdir: Path) -> None:
        self.kubeconfig = kubeconfig
        self.workdir = workdir
        self.env = {**os.environ, "KUBECONFIG": str(kubeconfig)}
        self.env.pop("KUBE_EDITOR", None)
        self.env.pop("EDITOR", None)
        self.prefix: list[str] = []  # e.g. nsenter into the network namespace of the server

    def __call__(self, *args: str, input: str | None = None, check: bool = True,
                 timeout: float = TIMEOUT, env: dict | None = None) -> Result:
        started = time.monotonic()
        try:
            proc = subprocess.run([*self.prefix, "kubectl", *args], input=input, capture_output=True,
                                  text=True, timeout=timeout, env={**self.env, **(env or {})},
                                  cwd=self.workdir)
        except subprocess.TimeoutExpired as exc:
            raise AssertionError(
                f"kubectl {' '.join(args)} did not finish in {timeout} s\n"
                f"stdout: {exc.stdout!r}\nstderr: {exc.stderr!r}") from None
        result = Result(list(args), proc.returncode, proc.stdout, proc.stderr)
        assert time.monotonic() - started < timeout
        if check and proc.returncode != 0:
            raise AssertionError(f"kubectl failed:\n{result}")
        return result

    def fails(self, *args: str, **kw) -> Result:
        """Run a command that must fail; return its result."""
        result = self(*args, check=False, **kw)
        assert result.returncode != 0, f"kubectl should have failed:\n{result}"
        return result

    def popen(self, *args: str) -> "Streaming":
        return Streaming([*self.prefix, "kubectl", *args], self.env, self.workdir)

    def jsonpath(self, *args: str, path: str) -> str:
        return self(*args, "-o", f"jsonpath={path}").stdout

    def write(self, name: str, text: str) -> Path:
        path = self.workdir / name
        path.write_text(text)
        return path


class Streaming:
    """A long-running kubectl (``get -w``) whose output lines are read by a thread."""

    def __init__(self, argv: list[str], env: dict, cwd: Path) -> None:
        self.argv = argv
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True, env=env, cwd=cwd, bufsize=1)
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        self.errors: list[str] = []
        threading.Thread(target=self._pump, args=(self.proc.stdout, self.lines),
                         daemon=True).start()
        threading.Thread(target=self._drain_errors, daemon=True).start()

    def _pump(self, stream, sink) -> None:
        for line in stream:
            sink.put(line.rstrip("\n"))
        sink.put(None)

    def _drain_errors(self) -> None:
        for line in self.proc.stderr:
            self.errors.append(line)

    def wait_for(self, pattern: str, timeout: float = 15.0) -> str:
        """Wait for an output line matching ``pattern`` (a regex); return it."""
        deadline = time.monotonic() + timeout
        rx = re.compile(pattern)
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                break
            if line is None:
                raise AssertionError(f"{' '.join(self.argv)} exited ({self.proc.poll()}) "
                                     f"before printing {pattern!r}; printed {self.seen}; "
                                     f"stderr {''.join(self.errors)}")
            self.seen.append(line)
            if rx.search(line):
                return line
        raise AssertionError(f"no line matching {pattern!r} within {timeout} s from "
                             f"{' '.join(self.argv)}; printed {self.seen}; "
                             f"stderr {''.join(self.errors)}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)

    def __enter__(self) -> "Streaming":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


@pytest.fixture
def kubectl(apiserver, tmp_path) -> Kubectl:
    return Kubectl(apiserver.kubeconfig, tmp_path)


@pytest.fixture
def ns(kubectl, request) -> str:
    """A namespace of the test's own, named after it."""
    base = re.sub(r"[^a-z0-9-]+", "-", request.node.name.lower()).strip("-")[:40].strip("-")
    name = f"{base}-{uuid.uuid4().hex[:5]}"
    kubectl("create", "namespace", name)
    # ServiceAccount admission refuses pods without it; the controller manager's
    # serviceaccounts controller creates it upstream (not run by the e2e server).
    kubectl("create", "serviceaccount", "default", "-n", name)
    return name
