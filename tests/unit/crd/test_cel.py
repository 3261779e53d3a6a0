"""The CEL subset of x-kubernetes-validations: parsing, evaluation, rule errors."""

from __future__ import annotations

import pytest

from pyk8s.apiserver.crd.cel import CelError, compile_rule
from pyk8s.apiserver.crd.celeval import eval_node
from pyk8s.apiserver.crd.celrules import check_schema_rules, validate_rules

SELF = {"replicas": 3, "max": 5, "name": "web-1", "tags": ["a", "bb"], "labels": {"x": "1"},
        "ratio": 0.5}


@pytest.mark.parametrize("rule, expected", [
    ("self.replicas <= self.max", True),
    ("self.replicas * 2 + 1 == 7 && self.max - self.replicas == 2", True),
    ("self.replicas / 2 == 1 && self.replicas % 2 == 1 && -7 / 2 == -3", True),
    ("has(self.name) && !has(self.missing)", True),
    ("size(self.name) == 5 && self.tags.size() == 2 && size(self.labels) == 1", True),
    ("self.name.startsWith('web') && self.name.endsWith('-1') && self.name.contains('b-')",
     True),
    ("self.name.matches('^[a-z]+-[0-9]$') && matches(self.name, 'web')", True),
    ("self.replicas > 5 ? false : true", True),
    ("self.tags.all(t, size(t) <= 2) && self.tags.exists(t, t == 'bb')", True),
    ("self.tags.exists_one(t, t == 'a') && self.tags.filter(t, t != 'a') == ['bb']", True),
    ("self.tags.map(t, t + '!') == ['a!', 'bb!']", True),
    ("'a' in self.tags && 'x' in self.labels && !('z' in self.tags)", True),
    ("self.ratio < 1 && double(self.replicas) == 3.0 && int('4') == 4", True),
    ("string(self.replicas) == '3' && self.name.upperAscii() == 'WEB-1'", True),
    ("self.missing == 1 || true", True),
    ("true && false", False),
])
def test_evaluation(rule, expected):
    assert eval_node(compile_rule(rule), {"self": SELF}) is expected


@pytest.mark.parametrize("rule, message", [
    ("self.missing > 1", "no such key: missing"),
    ("self.name > 1", "no such overload: _>_"),
    ("self.replicas / 0 == 1", "division by zero"),
])
def test_evaluation_errors(rule, message):
    with pytest.raises(CelError, match=message):
        eval_node(compile_rule(rule), {"self": SELF})


@pytest.mark.parametrize("rule", [
    "quantity(self.x).isGreaterThan(quantity('1'))",
    "self.a.?b",
    "other > 1",
    "self.x +",
    "self.name.format([1])",
])
def test_unsupported_rules_are_refused(rule):
    with pytest.raises(CelError):
        compile_rule(rule)


SCHEMA = {"type": "object", "properties": {"spec": {
    "type": "object",
    "x-kubernetes-validations": [
        {"rule": "self.replicas <= self.max", "message": "replicas must not exceed max"},
        {"rule": "self.mode == oldSelf.mode", "message": "mode is immutable",
         "fieldPath": ".mode"},
    ],
    "properties": {"replicas": {"type": "integer"}, "max": {"type": "integer"},
                   "mode": {"type": "string",
                            "x-kubernetes-validations": [{"rule": "self.size() > 1"}]}},
}}}


def _messages(errs) -> list[str]:
    return [f"{e.field}: {e.message()}" for e in errs]


def test_rules_on_create_skip_transition_rules():
    obj = {"spec": {"replicas": 6, "max": 5, "mode": "a"}}
    assert _messages(validate_rules(obj, SCHEMA)) == [
        'spec: Invalid value: "object": replicas must not exceed max',
        'spec.mode: Invalid value: "string": failed rule: self.size() > 1']


def test_transition_rules_see_old_self():
    old = {"spec": {"replicas": 1, "max": 5, "mode": "fast"}}
    new = {"spec": {"replicas": 1, "max": 5, "mode": "slow"}}
    assert _messages(validate_rules(new, SCHEMA, old)) == [
        'spec.mode: Invalid value: "object": mode is immutable']
    assert validate_rules(old, SCHEMA, old) == []


def test_rule_evaluation_error_is_reported():
    obj = {"spec": {"max": 5, "mode": "ab"}}
    assert _messages(validate_rules(obj, SCHEMA)) == [
        ('spec: Invalid value: "object": no such key: replicas evaluating rule: '
        'self.replicas <= self.max')]


def test_crd_schema_rule_compilation_errors():
    schema = {"type": "object", "properties": {"spec": {
        "type": "object", "x-kubernetes-validations": [{"rule": "self.x.quantity()"}]}}}
    errs = check_schema_rules(schema, "s")
    assert len(errs) == 1
    assert errs[0].field == "s.properties[spec].x-kubernetes-validations[0].rule"
    assert "compilation failed: undeclared reference to 'quantity'" in errs[0].message()
