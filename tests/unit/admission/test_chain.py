"""The admission chain's make-up: upstream's order, enable/disable flags."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from pyk8s.apiserver import admission


def names(chain) -> list[str]:
    return [p.name for p in chain.plugins]


def test_default_chain_in_upstream_order():
    assert names(admission.default_chain()) == [
        "NamespaceLifecycle", "LimitRanger", "ServiceAccount", "NodeRestriction", "PodSecurity",
        "Priority", "DefaultTolerationSeconds", "ResourceQuota"]


def test_flags_enable_and_disable():
    opts = SimpleNamespace(enable_admission_plugins="ResourceQuota,NamespaceLifecycle,"
                                                    "DefaultStorageClass",
                           disable_admission_plugins="PodSecurity, NodeRestriction")
    assert names(admission.build(opts, None)) == [
        "NamespaceLifecycle", "LimitRanger", "ServiceAccount", "Priority",
        "DefaultTolerationSeconds", "ResourceQuota"]
    with pytest.raises(ValueError, match="Bogus"):
        admission.build(SimpleNamespace(enable_admission_plugins="Bogus",
                                        disable_admission_plugins=""), None)
