"""hollow-nodes flags: labels, taints, quantities, durations and range checks."""

from __future__ import annotations

import argparse
import dataclasses

import pytest

from pyk8s.cli import build_parser
from pyk8s.hollow.options import (
    HollowOptions,
    OptionError,
    duration,
    options_from_args,
    parse_labels,
    parse_taints,
    validate,
)


@pytest.mark.parametrize("text, want", [
    ("", {}),
    ("topology.kubernetes.io/zone=z1", {"topology.kubernetes.io/zone": "z1"}),
    ("a=1, b=", {"a": "1", "b": ""}),
    ("node-role.kubernetes.io/worker=", {"node-role.kubernetes.io/worker": ""}),
])
def test_labels(text, want):
    assert parse_labels(text) == want


@pytest.mark.parametrize("text", ["novalue", "=v", "a=b c", "a=-x", "UPPER/x=1"])
def test_bad_labels(text):
    with pytest.raises(OptionError):
        parse_labels(text)


@pytest.mark.parametrize("text, want", [
    ("", ()),
    ("dedicated=infra:NoSchedule", ({"key": "dedicated", "value": "infra",
                                     "effect": "NoSchedule"},)),
    ("gpu:NoExecute,x=y:PreferNoSchedule", ({"key": "gpu", "effect": "NoExecute"},
                                            {"key": "x", "value": "y",
                                             "effect": "PreferNoSchedule"})),
])
def test_taints(text, want):
    assert parse_taints(text) == want


@pytest.mark.parametrize("text", ["a=b", "a=b:Sometimes", ":NoSchedule", "a=b:"])
def test_bad_taints(text):
    with pytest.raises(OptionError):
        parse_taints(text)


@pytest.mark.parametrize("text, seconds", [("10", 10.0), ("10s", 10.0), ("5m", 300.0),
                                           ("1m30s", 90.0), ("250ms", 0.25)])
def test_duration(text, seconds):
    assert duration(text) == seconds


@pytest.mark.parametrize("text", ["", "5x", "m", "1m 2s"])
def test_bad_duration(text):
    with pytest.raises(argparse.ArgumentTypeError):
        duration(text)


def parse(*argv):
    args = build_parser().parse_args(["hollow-nodes", "--kubeconfig", "k", *argv])
    return options_from_args(args)


def test_flags_become_options():
    opts = parse("--count", "3", "--name-prefix", "hn-", "--cpu", "8", "--memory", "32Gi",
                 "--pods", "50", "--labels", "topology.kubernetes.io/zone=z1",
                 "--taints", "a=b:NoSchedule", "--node-status-report-frequency", "1m",
                 "--delete-nodes-on-exit")
    assert opts.count == 3
    assert [opts.node_name(i) for i in range(3)] == ["hn-0", "hn-1", "hn-2"]
    assert opts.capacity == {"cpu": "8", "memory": "32Gi", "pods": "50",
                             "ephemeral-storage": "100Gi"}
    assert opts.labels == {"topology.kubernetes.io/zone": "z1"}
    assert opts.taints == ({"key": "a", "value": "b", "effect": "NoSchedule"},)
    assert opts.node_status_report_frequency == 60.0
    assert opts.lease_renew_interval == 10.0
    assert opts.delete_nodes_on_exit


@pytest.mark.parametrize("argv, message", [
    (["--count", "0"], "at least 1"),
    (["--count", "2", "--cpu", "four"], "not a quantity"),
    (["--count", "300"], "too few"),
    (["--count", "2", "--pod-cidr-mask-size", "12"], "does not fit"),
    (["--count", "2", "--name-prefix", "Bad_"], "valid node names"),
    (["--count", "300", "--node-ip-range", "10.9.9.0/24",
      "--pod-cidr-base", "10.64.0.0/10"], "--node-ip-range"),
])
def test_bad_combinations(argv, message):
    with pytest.raises(OptionError, match=message):
        parse(*argv)


def test_first_index_counts_against_ranges():
    opts = HollowOptions(count=10, first_index=250)
    with pytest.raises(OptionError):
        validate(opts)
    assert validate(dataclasses.replace(opts, first_index=246)).node_name(0) == \
        "hollow-node-246"
