"""Streams on a real node: logs, exec, cp, attach and port-forward with real containers.

The netns node (``nodekit.py``) runs busybox pods in its own containerd; the real kubectl
(WebSocket ``v5.channel.k8s.io``, and SPDY over WebSocket for port-forward) and the
official Python client (``v4.channel.k8s.io``) reach them through the API server and
the kubelet:

* ``kubectl logs`` of a two-container pod: the default container, ``-c``,
  ``--all-containers --prefix``, ``--tail``, ``--timestamps``, ``--since``/``--since-time``,
  ``-f`` following new lines (and returning once a container has ended), and
  ``--previous`` after the container restarted (new output is written to the
  container's own stdout from an exec, through ``/proc/1/fd/1``);
* ``kubectl exec``: the pod's hostname, stdin with ``-i``, stdout and stderr apart,
  exit codes; ``kubectl cp`` both ways;
* ``kubectl attach``: following a container's output, and ``-i`` to a container created
  with ``stdin: true``: lines reach its process, and with ``stdinOnce`` the end of
  kubectl's input is the end of the container's stdin (also ``kubectl run -i --rm``);
* ``kubectl port-forward`` to busybox httpd in a pod, fetched from the node, also to a
  server bound to the pod's own loopback;
* the Python client's ``stream()``: exec (also on a tty) and attach with stdin, also to
  a ``tty: true`` container, whose terminal follows a resize;
* ``kubectl debug``: an ephemeral container added to a running pod, attached with ``-i``,
  sees the target container's processes (their PID namespace), shows in the pod's
  ``ephemeralContainerStatuses`` and its logs, and leaves the pod running and ready;
* a pod's PID namespace: shared by its containers with ``shareProcessNamespace``, the
  node's with ``hostPID`` (also ``kubectl debug node/NAME``, whose pod has the node's
  namespaces and root filesystem at /host);
* the kubelet-managed ``/etc/hosts``: the pod's IP with its hostname (and subdomain
  FQDN), ``hostAliases``; a hostNetwork pod's is the node's own file;
* security contexts: a pod of the restricted profile runs as its user with its groups,
  no_new_privs and the runtime's default seccomp filter; runAsNonRoot refuses an image
  that runs as root (CreateContainerConfigError);
* termination messages: what a container wrote to its terminationMessagePath (also a
  custom one), or its log's tail with FallbackToLogsOnError;
* activeDeadlineSeconds: the kubelet stops the pod and fails it (DeadlineExceeded);
* log rotation: a container's log past 10Mi is rotated (CRI ReopenContainerLog) and
  ``kubectl logs`` goes on with the new file;
* the node as a cluster: Ready with its podCIDR, ``kubectl run --restart=Never``
  Succeeds, a Deployment becomes available with pod IPs from the podCIDR.
"""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
import time
from datetime import UTC, datetime

from nodekit import NODE, wait_until

POD_CIDR = "10.244.0.0/24"  # what node IPAM gives the node from nodekit's cluster CIDR
FORWARD_PORT = 18080  # on the node's own loopback, in its network namespace


def _apply(kubectl, *objects: dict) -> None:
    kubectl("apply", "-f", "-", input=json.dumps({"apiVersion": "v1", "kind": "List",
                                                  "items": list(objects)}))


def _pod(name: str, *containers: dict, **spec) -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"terminationGracePeriodSeconds": 1, "containers": list(containers),
                     **spec}}


def _sh(name: str, script: str, **extra) -> dict:
    return {"name": name, "image": "busybox", "command": ["sh", "-c", script], **extra}


def _running(kubectl, name: str, containers: int) -> dict:
    """Wait until ``containers`` containers of the pod run; the pod."""

    def check():
        pod = json.loads(kubectl("get", "pod", name, "-o", "json").stdout)
        statuses = pod.get("status", {}).get("containerStatuses") or ()
        return sum("running" in s["state"] for s in statuses) == containers and pod

    return wait_until(check, 120, f"pod {name} running")


def _stamp(line: str) -> float:
    """The time of a ``--timestamps`` line, as seconds since the epoch."""
    text = line.split(" ", 1)[0]
    whole, _, fraction = text.rstrip("Z").partition(".")
    return (datetime.fromisoformat(whole).replace(tzinfo=UTC).timestamp()
            + float(f"0.{fraction or 0}"))


def _say(kubectl, pod: str, container: str, text: str) -> None:
    """Make the container's own process print ``text`` (on its stdout)."""
    kubectl("exec", pod, "-c", container, "--", "sh", "-c", f"echo {text} >> /proc/1/fd/1")


def test_logs_exec_and_cp(node, kubectl):
    _apply(kubectl, _pod(
        "talker",
        _sh("main", "echo one; echo two; echo three; exec sleep 3600"),
        _sh("side", "echo side up; while [ ! -e /tmp/stop ]; do sleep 1; done")))
    _running(kubectl, "talker", 2)
    wait_until(lambda: kubectl("logs", "talker", "-c", "main").stdout == "one\ntwo\nthree\n",
               30, "main's first lines")

    # the default container is the first one, as kubectl says on stderr
    default = kubectl("logs", "talker")
    assert default.stdout == "one\ntwo\nthree\n", default
    assert 'Defaulted container "main" out of: main, side' in default.stderr, default
    assert kubectl("logs", "pod/talker", "-c", "side").stdout == "side up\n"
    every = kubectl("logs", "talker", "--all-containers", "--prefix").lines
    assert [line for line in every if "/main]" in line] == [  # containers in any order
        "[pod/talker/main] one", "[pod/talker/main] two", "[pod/talker/main] three"], every
    assert [line for line in every if "/main]" not in line] == ["[pod/talker/side] side up"]
    assert kubectl("logs", "talker", "-c", "main", "--tail=1").stdout == "three\n"
    assert kubectl("logs", "talker", "-c", "main", "--tail=0").stdout == ""
    assert kubectl("logs", "talker", "-c", "main", "--since=1h").stdout == "one\ntwo\nthree\n"
    stamped = kubectl("logs", "talker", "-c", "main", "--timestamps").stdout.splitlines()
    assert [line.split(" ", 1)[1] for line in stamped] == ["one", "two", "three"], stamped
    assert all(line[:4].isdigit() and line.split(" ", 1)[0].endswith("Z") for line in stamped)

    # --since-time has whole seconds: a line written after the next one starts is newer
    since = math.floor(_stamp(stamped[-1])) + 1
    time.sleep(max(0.0, since - time.time()) + 0.1)
    _say(kubectl, "talker", "main", "later")
    since_text = datetime.fromtimestamp(since, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert kubectl("logs", "talker", "-c", "main", f"--since-time={since_text}").stdout == \
        "later\n"

    # -f: what is there, then what the container prints while kubectl follows
    with kubectl.popen("logs", "-f", "talker", "-c", "main") as follow:
        follow.wait_for("^later$", 30)
        _say(kubectl, "talker", "main", "followed")
        follow.wait_for("^followed$", 30)
        assert follow.seen == ["one", "two", "three", "later", "followed"]

    # --previous after a restart of the side container
    missing = kubectl.fails("logs", "talker", "-c", "side", "--previous")
    assert 'previous terminated container "side" in pod "talker" not found' in missing.stderr
    kubectl("exec", "talker", "-c", "side", "--", "sh", "-c",
            "echo before restart >> /proc/1/fd/1; touch /tmp/stop")
    wait_until(lambda: kubectl.jsonpath(
        "get", "pod", "talker",
        path="{.status.containerStatuses[?(@.name=='side')].restartCount}") == "1",
               60, "side restarted")
    assert kubectl("logs", "talker", "-c", "side", "--previous").stdout == \
        "side up\nbefore restart\n"
    wait_until(lambda: kubectl("logs", "talker", "-c", "side").stdout == "side up\n", 30,
               "the new side container's output")

    # exec: the pod's own hostname, stdin, both output streams apart, exit codes
    assert kubectl("exec", "talker", "-c", "main", "--", "cat", "/etc/hostname").stdout == \
        "talker\n"
    assert kubectl("exec", "-i", "talker", "-c", "main", "--", "cat",
                   input="piped in\nand more\n").stdout == "piped in\nand more\n"
    split = kubectl("exec", "talker", "-c", "main", "--", "sh", "-c",
                    "echo to out; echo to err >&2")
    assert split.stdout == "to out\n" and split.stderr == "to err\n", split
    for code in (1, 3, 42):
        failed = kubectl("exec", "talker", "-c", "main", "--", "sh", "-c", f"exit {code}",
                         check=False)
        assert failed.returncode == code, failed
    missing_binary = kubectl("exec", "talker", "-c", "main", "--", "no-such-command",
                             check=False)
    assert missing_binary.returncode != 0, missing_binary

    # exec -it on a terminal (script(1) gives kubectl one): kubectl's window size reaches
    # the container's terminal (a moment after the process starts, as upstream), whose
    # lines end in one CRLF
    sized = 'until [ "$(stty size 2>/dev/null)" = "40 120" ]; do sleep 1; done'
    on_terminal = ("stty cols 120 rows 40; exec kubectl exec -it talker -c main -- "
                   f"sh -c 'tty; {sized}; stty size'")
    with subprocess.Popen([*kubectl.prefix, "script", "-qec", on_terminal, "/dev/null"],
                          stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=kubectl.env,
                          cwd=kubectl.workdir) as term:  # stdin open: nothing typed
        shown = term.stdout.read()  # until the command ends
        term.stdin.close()
    assert re.search(rb"/dev/pts/\d+\r\n40 120\r\n", shown), shown

    # cp: tar through exec, both ways
    local = kubectl.write("to-pod.txt", "copied content\n")
    kubectl("cp", str(local), "talker:/tmp/copied.txt", "-c", "main")
    assert kubectl("exec", "talker", "-c", "main", "--", "cat", "/tmp/copied.txt").stdout == \
        "copied content\n"
    back = local.with_name("from-pod.txt")
    kubectl("cp", "talker:/tmp/copied.txt", str(back), "-c", "main")
    assert back.read_text() == "copied content\n"


PYTHON_CLIENT = """
import json
import re
import sys
from kubernetes import client, config
from kubernetes.stream import stream

config.load_kube_config(sys.argv[1])
api = client.CoreV1Api()
ns, pod = sys.argv[2], sys.argv[3]


def read_until(ws, text):
    got = ""
    while text not in got and ws.is_open():
        got += ws.read_stdout(timeout=1)
    return got


out = stream(api.connect_get_namespaced_pod_exec, pod, ns, container="keep",
             command=["cat", "/etc/hostname"], stdin=False, stdout=True, stderr=True,
             tty=False)
print("exec:" + out.strip())
out = stream(api.connect_get_namespaced_pod_exec, pod, ns, container="keep",
             command=["tty"], stdin=False, stdout=True, stderr=False, tty=True)
print("exec tty:" + ("a pty" if re.fullmatch(r"/dev/pts/\\d+\\r\\n", out) else repr(out)))
ws = stream(api.connect_get_namespaced_pod_attach, pod, ns, container="keep", stdin=True,
            stdout=True, stderr=True, tty=False, _preload_content=False)
ws.write_stdin("from python\\n")
print("attach:" + read_until(ws, "\\n").strip())
ws.close()
ws = stream(api.connect_get_namespaced_pod_attach, pod, ns, container="term", stdin=True,
            stdout=True, stderr=False, tty=True, _preload_content=False)
ws.write_stdin("on a terminal\\n")
print("attach tty:" + read_until(ws, "got on a terminal").splitlines()[-1].strip())
got = ""
while "30 100" not in got and ws.is_open():  # the resize and the line race in containerd
    ws.write_channel(4, json.dumps({"Width": 100, "Height": 30}))
    ws.write_stdin("size\\n")
    got += ws.read_stdout(timeout=1)
print("resized:" + ("30 100" if "30 100" in got else repr(got)))
ws.close()
"""


def _attach(kubectl, *args: str) -> subprocess.Popen:
    """``kubectl attach`` with its stdin a pipe of the test's."""
    return subprocess.Popen([*kubectl.prefix, "kubectl", "attach", *args],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, bufsize=1,
                            env=kubectl.env, cwd=kubectl.workdir)


def test_attach_and_port_forward(node, kubectl, ns):
    loop = 'while read line; do echo "got $line"; done; echo "stdin closed"'
    sizes = 'while read line; do [ "$line" = size ] && stty size || echo "got $line"; done'
    _apply(kubectl,
           _pod("reader", _sh("once", loop, stdin=True, stdinOnce=True),
                _sh("keep", loop, stdin=True), _sh("term", sizes, stdin=True, tty=True),
                restartPolicy="Never"),
           _pod("web", _sh("httpd", "mkdir -p /www /lo && echo forwarded > /www/index.html && "
                                    "echo loopback only > /lo/index.html && "
                                    "httpd -p 127.0.0.1:8081 -h /lo && "
                                    "exec httpd -f -p 8080 -h /www")))
    _running(kubectl, "reader", 3)

    # kubectl attach -i (v5): lines reach the process, and kubectl's EOF is its EOF
    attach = _attach(kubectl, "-i", "reader", "-c", "once")
    try:
        attach.stdin.write("hello\n")
        attach.stdin.flush()
        first = attach.stdout.readline()
        assert first == "got hello\n", (first, attach.kill(), attach.communicate())
        rest, err = attach.communicate("again\n", timeout=60)  # then closes its stdin
    finally:
        if attach.poll() is None:
            attach.kill()
            attach.wait()
    assert rest == "got again\nstdin closed\n", (rest, err)
    assert attach.returncode == 0, err
    wait_until(lambda: kubectl.jsonpath(
        "get", "pod", "reader",
        path="{.status.containerStatuses[?(@.name=='once')].state.terminated.reason}"
    ) == "Completed", 60, "the stdinOnce container done")
    # -f on a container that has ended prints its output and returns
    assert kubectl("logs", "-f", "reader", "-c", "once").stdout == \
        "got hello\ngot again\nstdin closed\n"

    # kubectl run -i --rm: a stdinOnce pod attached to at once, deleted afterwards
    ran = kubectl("run", "oneshot", "-i", "--rm", "--restart=Never", "--image=busybox", "--",
                  "sh", "-c", 'read first; echo "read $first"', input="typed\n", timeout=90)
    assert ran.stdout.splitlines() == ["read typed", 'pod "oneshot" deleted'], ran
    assert kubectl.fails("get", "pod", "oneshot").stderr.endswith('"oneshot" not found\n')

    # the official Python client (v4): exec, and attach with stdin
    script = node.run(sys.executable, "-c", PYTHON_CLIENT,
                      str(kubectl.kubeconfig), ns, "reader", timeout=60)
    assert script.stdout.splitlines() == [
        "exec:reader", "exec tty:a pty", "attach:got from python",
        "attach tty:got on a terminal", "resized:30 100"], script

    # kubectl attach without -i follows what the container prints from now on
    with kubectl.popen("attach", "reader", "-c", "keep") as follow:
        deadline = time.monotonic() + 30
        while True:  # until the attach is up: earlier lines may be missed
            _say(kubectl, "reader", "keep", "tick")
            try:
                follow.wait_for("^tick$", 1)
                break
            except AssertionError:
                assert time.monotonic() < deadline, follow.seen
        assert all(line == "tick" for line in follow.seen), follow.seen

    # port-forward to httpd in the pod, fetched from the node's own loopback; as upstream
    # the port is dialed on the pod's loopback, so a server bound only there is reached too
    _running(kubectl, "web", 1)
    with kubectl.popen("port-forward", "pod/web", f"{FORWARD_PORT}:8080",
                       f"{FORWARD_PORT + 1}:8081") as forward:
        forward.wait_for(f"^Forwarding from 127.0.0.1:{FORWARD_PORT} -> 8080$", 30)
        forward.wait_for(f"^Forwarding from 127.0.0.1:{FORWARD_PORT + 1} -> 8081$", 30)
        url = f"http://127.0.0.1:{FORWARD_PORT}/index.html"
        first = wait_until(lambda: node.wget(url).stdout, 30, "a page through port-forward")
        assert first == "forwarded\n"
        assert node.wget(url).stdout == "forwarded\n"  # a second connection
        loopback = f"http://127.0.0.1:{FORWARD_PORT + 1}/index.html"
        assert wait_until(lambda: node.wget(loopback).stdout, 30,
                          "the pod's loopback-only server") == "loopback only\n"
        assert forward.proc.poll() is None


def test_kubectl_debug_ephemeral_container(node, kubectl):
    _apply(kubectl, _pod("target", _sh("app", "exec sleep 3601")))
    _running(kubectl, "target", 1)
    # as with docker, the end of a non-stdinOnce attach's input detaches it: keep it open
    debug = subprocess.Popen([*kubectl.prefix, "kubectl", "debug", "target", "-i", "--quiet",
                              "--image=busybox", "--target=app", "--container=dbg", "--",
                              "sh", "-c", "read go; ps -o args; echo $go"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, bufsize=1, env=kubectl.env,
                             cwd=kubectl.workdir)
    try:
        debug.stdin.write("done\n")
        debug.stdin.flush()
        lines = []
        while not lines or lines[-1] != "done":
            line = debug.stdout.readline()
            assert line, (lines, debug.kill(), debug.communicate())
            lines.append(line.rstrip("\n"))
        debug.communicate(timeout=60)
    finally:
        if debug.poll() is None:
            debug.kill()
            debug.wait()
    assert "sleep 3601" in lines, lines  # the target container's processes
    wait_until(lambda: kubectl.jsonpath(
        "get", "pod", "target",
        path="{.status.ephemeralContainerStatuses[?(@.name=='dbg')].state.terminated.exitCode}"
    ) == "0", 60, "the ephemeral container done")
    assert kubectl("logs", "target", "-c", "dbg").stdout.splitlines()[-1] == "done"
    pod = json.loads(kubectl("get", "pod", "target", "-o", "json").stdout)
    assert pod["spec"]["ephemeralContainers"][0]["targetContainerName"] == "app"
    (app,) = pod["status"]["containerStatuses"]
    assert app["ready"] and app["restartCount"] == 0 and "running" in app["state"]
    (dbg,) = pod["status"]["ephemeralContainerStatuses"]
    assert dbg["ready"] is False and dbg["containerID"].startswith("containerd://")
    # ephemeral containers are never restarted, changed or removed
    time.sleep(2)
    assert kubectl.jsonpath("get", "pod", "target", path="{.status.ephemeralContainerStatuses[0]"
                            ".restartCount}") == "0"
    refused = kubectl.fails("patch", "pod", "target", "--subresource=ephemeralcontainers",
                            "--type=json", "-p", '[{"op": "remove", '
                                                 '"path": "/spec/ephemeralContainers/0"}]')
    assert 'existing ephemeral containers "dbg" may not be removed' in refused.stderr


def test_pid_namespaces_and_debugging_the_node(node, kubectl):
    _apply(kubectl,
           _pod("shared", _sh("a", "exec sleep 3602"), _sh("b", "exec sleep 3603"),
                shareProcessNamespace=True),
           _pod("host", _sh("c", "exec sleep 3604"), hostPID=True),
           _pod("alone", _sh("d", "exec sleep 3605")))
    for name, containers in (("shared", 2), ("host", 1), ("alone", 1)):
        _running(kubectl, name, containers)

    def processes(pod: str, container: str) -> list[str]:
        return kubectl("exec", pod, "-c", container, "--", "ps", "-o", "args").stdout.splitlines()

    assert "sleep 3603" in processes("shared", "a")
    assert "sleep 3602" in processes("shared", "b")
    on_host = processes("host", "c")
    assert "sleep 3605" in on_host and any("containerd" in p for p in on_host), on_host
    assert "sleep 3604" not in processes("alone", "d")

    created = kubectl("debug", f"node/{NODE}", "--image=busybox", "--profile=general", "--",
                      "sh", "-c", "test -d /host/proc/1 && echo host root; "
                                  "ps -o args | grep -q 'sleep 360[5]' && echo host pids")
    name = re.search(r"Creating debugging pod (\S+)", created.stdout + created.stderr).group(1)
    wait_until(lambda: kubectl.jsonpath("get", "pod", name, path="{.status.phase}") ==
               "Succeeded", 60, "the node debugging pod done")
    assert kubectl("logs", name).stdout == "host root\nhost pids\n"


def test_managed_etc_hosts(node, kubectl, ns):
    _apply(kubectl,
           _pod("named", _sh("c", "exec sleep 3606"), hostname="db", subdomain="peers",
                hostAliases=[{"ip": "10.1.2.3", "hostnames": ["foo.local", "bar.local"]}]),
           _pod("onhost", _sh("c", "exec sleep 3607"), hostNetwork=True))
    pod = _running(kubectl, "named", 1)
    ip = pod["status"]["podIP"]
    hosts = kubectl("exec", "named", "--", "cat", "/etc/hosts").stdout
    assert hosts.startswith("# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n")
    assert f"{ip}\tdb.peers.{ns}.svc.cluster.local\tdb\n" in hosts, hosts
    assert hosts.endswith("# Entries added by HostAliases.\n10.1.2.3\tfoo.local\tbar.local\n")
    _running(kubectl, "onhost", 1)
    with open("/etc/hosts", encoding="utf-8") as node_file:
        assert kubectl("exec", "onhost", "--", "cat", "/etc/hosts").stdout == \
            "# Kubernetes-managed hosts file.\n" + node_file.read()


def test_security_contexts(node, kubectl):
    restricted = {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]},
                  "seccompProfile": {"type": "RuntimeDefault"}}
    show = "id; grep -E '^(NoNewPrivs|Seccomp):' /proc/self/status; exec sleep 3608"
    _apply(kubectl,
           _pod("restricted", _sh("c", show, securityContext=restricted),
                securityContext={"runAsNonRoot": True, "runAsUser": 1000, "runAsGroup": 3000,
                                 "supplementalGroups": [4000], "fsGroup": 2000}),
           _pod("asroot", _sh("c", "exec sleep 3609"),
                securityContext={"runAsNonRoot": True}))
    _running(kubectl, "restricted", 1)
    lines = wait_until(lambda: (lambda out: len(out) == 3 and out)(
        kubectl("logs", "restricted").stdout.splitlines()), 30, "the restricted pod's output")
    uid, nnp, seccomp = lines
    assert uid.startswith("uid=1000 gid=3000 groups=") and "2000" in uid and "4000" in uid, uid
    assert nnp.split() == ["NoNewPrivs:", "1"] and seccomp.split() == ["Seccomp:", "2"], lines

    def refused():
        found = kubectl.jsonpath("get", "pod", "asroot",
                                 path="{.status.containerStatuses[0].state.waiting}")
        waiting = json.loads(found) if found else {}
        return waiting.get("reason") == "CreateContainerConfigError" and waiting

    waiting = wait_until(refused, 60, "asroot refused")
    assert waiting["message"].startswith(
        "container has runAsNonRoot and image will run as root (pod: \"asroot_"), waiting


def test_termination_messages(node, kubectl):
    _apply(kubectl,
           _pod("says", _sh("c", "printf 'all done' > /dev/termination-log"),
                restartPolicy="Never"),
           _pod("custom", _sh("c", "printf custom > /tmp/why; exit 1",
                              terminationMessagePath="/tmp/why"), restartPolicy="Never"),
           _pod("fails", _sh("c", "echo first; echo oops; exit 3",
                             terminationMessagePolicy="FallbackToLogsOnError"),
                restartPolicy="Never"))

    def terminated(name: str) -> dict:
        def check():
            found = kubectl.jsonpath("get", "pod", name,
                                     path="{.status.containerStatuses[0].state.terminated}")
            return found and json.loads(found)
        return wait_until(check, 60, f"{name} terminated")

    assert terminated("says")["message"] == "all done"
    custom = terminated("custom")
    assert (custom["exitCode"], custom["message"]) == (1, "custom")
    fails = terminated("fails")
    assert (fails["exitCode"], fails["message"]) == (3, "first\noops\n")


def test_active_deadline(node, kubectl):
    _apply(kubectl, _pod("deadline", _sh("c", "exec sleep 3610"), activeDeadlineSeconds=3))
    _running(kubectl, "deadline", 1)

    def failed():
        pod = json.loads(kubectl("get", "pod", "deadline", "-o", "json").stdout)
        return pod["status"].get("phase") == "Failed" and pod

    pod = wait_until(failed, 60, "the pod failed at its deadline")
    assert pod["status"]["reason"] == "DeadlineExceeded"
    assert pod["status"]["message"] == \
        "Pod was active on the node longer than the specified deadline"
    (status,) = pod["status"]["containerStatuses"]
    assert "terminated" in status["state"] and not status["ready"], status


def test_log_rotation(node, kubectl, ns):
    # 11 MiB of 1 KiB lines, past the kubelet's default --container-log-max-size of 10Mi
    chatty = ("head -c 11534336 /dev/zero | tr '\\0' x | fold -w 1023; echo written; "
              "while sleep 1; do [ -f /tmp/more ] && echo after rotation && rm /tmp/more; done")
    _apply(kubectl, _pod("chatty", _sh("c", chatty)))
    pod = _running(kubectl, "chatty", 1)
    log_dir = node.data_dir / "kubelet" / "pod-logs" / \
        f"{ns}_chatty_{pod['metadata']['uid']}" / "c"
    rotated = wait_until(lambda: [p.name for p in log_dir.iterdir() if p.name != "0.log"],
                         60, "the log rotated")
    assert rotated[0].startswith("0.log.") and (log_dir / rotated[0]).stat().st_size > 10 << 20
    kubectl("exec", "chatty", "--", "touch", "/tmp/more")
    wait_until(lambda: kubectl("logs", "chatty").stdout.endswith("after rotation\n"), 30,
               "new output in the new log file")
    assert len(kubectl("logs", "chatty").stdout) < 1 << 20


def test_node_runs_what_kubectl_asks(node, kubectl):
    got = json.loads(kubectl("get", "node", NODE, "-o", "json").stdout)
    conditions = {c["type"]: c["status"] for c in got["status"]["conditions"]}
    assert conditions["Ready"] == "True"
    assert got["spec"]["podCIDR"] == POD_CIDR
    row = next(line for line in kubectl("get", "nodes").lines if line.startswith(NODE))
    assert row.split()[1] == "Ready"

    kubectl("run", "bb", "--image=busybox", "--restart=Never", "--", "sh", "-c", "echo hi")
    kubectl("create", "deployment", "sleeper", "--image=busybox", "--replicas=2", "--",
            "sleep", "3600")

    def bb_phase():
        phase = kubectl.jsonpath("get", "pod", "bb", path="{.status.phase}")
        assert phase != "Failed", kubectl("describe", "pod", "bb").stdout
        return phase == "Succeeded"

    wait_until(bb_phase, 60, "pod bb Succeeded")
    assert kubectl.jsonpath("get", "pod", "bb", path="{.spec.nodeName}") == NODE
    assert kubectl("logs", "bb").stdout == "hi\n"

    wait_until(lambda: kubectl.jsonpath("get", "deployment", "sleeper",
                                        path="{.status.availableReplicas}") == "2",
               90, "deployment sleeper available")
    ips = kubectl.jsonpath("get", "pods", "-l", "app=sleeper", path="{.items[*].status.podIP}")
    assert len(ips.split()) == 2 and all(ip.startswith("10.244.0.") for ip in ips.split()), ips
    pod = kubectl.jsonpath("get", "pods", "-l", "app=sleeper", path="{.items[0].metadata.name}")
    assert kubectl("exec", pod, "--", "echo", "exec works").stdout == "exec works\n"
