"""The kubelet-managed /etc/hosts: upstream's content for pod-network and hostNetwork pods."""

from __future__ import annotations

from pyk8s.kubelet.etchosts import hosts_file_content, wants_hosts_file, write_hosts_file

LOCAL = ("# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n"
         "::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\n"
         "fe00::0\tip6-mcastprefix\nfe00::1\tip6-allnodes\nfe00::2\tip6-allrouters\n")


def pod(**spec) -> dict:
    return {"metadata": {"name": "web-0", "namespace": "shop"}, "spec": spec}


def test_pod_network_pod():
    assert hosts_file_content(pod(), ["10.244.0.7"], "cluster.local") == \
        LOCAL + "10.244.0.7\tweb-0\n"


def test_hostname_subdomain_and_aliases():
    text = hosts_file_content(
        pod(hostname="db", subdomain="peers",
            hostAliases=[{"ip": "10.1.2.3", "hostnames": ["foo.local", "bar.local"]},
                         {"ip": "10.1.2.4", "hostnames": ["baz"]}]),
        ["10.244.0.7"], "example.org")
    assert text == LOCAL + "10.244.0.7\tdb.peers.shop.svc.example.org\tdb\n" + (
        "\n# Entries added by HostAliases.\n10.1.2.3\tfoo.local\tbar.local\n10.1.2.4\tbaz\n")


def test_host_network_pod_gets_the_nodes_file():
    text = hosts_file_content(pod(hostNetwork=True, hostAliases=[{"ip": "1.1.1.1",
                                                                 "hostnames": ["one"]}]),
                              ["192.168.1.5"], "cluster.local", "127.0.0.1\tlocalhost\n")
    assert text == ("# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n"
                    "\n# Entries added by HostAliases.\n1.1.1.1\tone\n")


def test_a_container_mounting_etc_hosts_keeps_its_own(tmp_path):
    assert wants_hosts_file({"name": "c"})
    assert not wants_hosts_file({"name": "c", "volumeMounts": [{"mountPath": "/etc/hosts/"}]})
    path = tmp_path / "pod" / "etc-hosts"
    write_hosts_file(str(path), "a\n")
    inode = path.stat().st_ino
    write_hosts_file(str(path), "b\n")  # in place: running containers have it mounted
    assert path.read_text() == "b\n" and path.stat().st_ino == inode
