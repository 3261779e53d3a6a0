"""PolicyRule matching and covering, shared by RBAC, the node authorizer and escalation.

A rule is the plain dict of an rbac.authorization.k8s.io/v1 PolicyRule. Matching
decides whether one request is allowed by a rule (rbac.RuleAllows upstream);
covering decides whether a set of rules holds every permission another rule grants
(validation.Covers upstream, used to refuse privilege escalation).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable

if TYPE_CHECKING:
    from . import Attributes

ALL = "*"


def verb_matches(rule: dict, verb: str) -> bool:
    verbs = rule.get("verbs") or ()
    return ALL in verbs or verb in verbs


def group_matches(rule: dict, group: str) -> bool:
    groups = rule.get("apiGroups") or ()
    return ALL in groups or group in groups


def resource_matches(rule: dict, resource: str, subresource: str) -> bool:
    """``pods``, ``pods/log``, ``*`` and ``*/log`` as upstream's ResourceMatches."""
    wanted = f"{resource}/{subresource}" if subresource else resource
    for item in rule.get("resources") or ():
        if item == ALL or item == wanted:
            return True
        if subresource and item == f"*/{subresource}":
            return True
    return False


def name_matches(rule: dict, name: str) -> bool:
    names = rule.get("resourceNames") or ()
    return not names or name in names


def url_matches(rule: dict, path: str) -> bool:
    for item in rule.get("nonResourceURLs") or ():
        if item == ALL or item == path:
            return True
        if item.endswith(ALL) and path.startswith(item[:-1]):
            return True
    return False


def rule_allows(attrs: "Attributes", rule: dict) -> bool:
    if not verb_matches(rule, attrs.verb):
        return False
    if attrs.resource_request:
        return (group_matches(rule, attrs.api_group)
                and resource_matches(rule, attrs.resource, attrs.subresource)
                and name_matches(rule, attrs.name))
    return url_matches(rule, attrs.path)


def rules_allow(attrs: "Attributes", rules: Iterable[dict]) -> bool:
    return any(rule_allows(attrs, rule) for rule in rules)


# ---- covering (escalation checks) ---------------------------------------------


def breakdown(rule: dict) -> list[dict]:
    """One rule per (group, resource, name, verb) or (url, verb), as BreakdownRule."""
    out = []
    verbs = rule.get("verbs") or ()
    names = rule.get("resourceNames") or ()
    for group in rule.get("apiGroups") or ():
        for resource in rule.get("resources") or ():
            for verb in verbs:
                if names:
                    out.extend({"apiGroups": [group], "resources": [resource],
                                "resourceNames": [name], "verbs": [verb]} for name in names)
                else:
                    out.append({"apiGroups": [group], "resources": [resource], "verbs": [verb]})
    for url in rule.get("nonResourceURLs") or ():
        out.extend({"nonResourceURLs": [url], "verbs": [verb]} for verb in verbs)
    return out


def _resource_covered(owner: list, resource: str) -> bool:
    if ALL in owner or resource in owner:
        return True
    _, slash, sub = resource.partition("/")
    return bool(slash) and f"*/{sub}" in owner


def _url_covered(owner: list, url: str) -> bool:
    if ALL in owner or url in owner:
        return True
    return any(item.endswith(ALL) and url.startswith(item[:-1]) for item in owner)


def rule_covers(owner: dict, atom: dict) -> bool:
    """Whether ``owner`` grants all of the single permission ``atom``."""
    verbs = owner.get("verbs") or []
    if ALL not in verbs and atom["verbs"][0] not in verbs:
        return False
    if "nonResourceURLs" in atom:
        return _url_covered(owner.get("nonResourceURLs") or [], atom["nonResourceURLs"][0])
    groups = owner.get("apiGroups") or []
    if ALL not in groups and atom["apiGroups"][0] not in groups:
        return False
    if not _resource_covered(owner.get("resources") or [], atom["resources"][0]):
        return False
    names = owner.get("resourceNames") or []
    return not names or bool(atom.get("resourceNames")) and atom["resourceNames"][0] in names


def uncovered(owner_rules: list[dict], wanted: Iterable[dict]) -> list[dict]:
    """The single permissions of ``wanted`` no owner rule grants."""
    missing = []
    for rule in wanted:
        for atom in breakdown(rule):
            if not any(rule_covers(owner, atom) for owner in owner_rules):
                missing.append(atom)
    return missing


def compact(atoms: list[dict]) -> list[dict]:
    """Merge the verbs of single permissions on the same thing (CompactRules)."""
    merged: dict[tuple, dict] = {}
    for atom in atoms:
        key = (tuple(atom.get("apiGroups", ())), tuple(atom.get("resources", ())),
               tuple(atom.get("resourceNames", ())), tuple(atom.get("nonResourceURLs", ())))
        if key in merged:
            if atom["verbs"][0] not in merged[key]["verbs"]:
                merged[key]["verbs"].append(atom["verbs"][0])
        else:
            merged[key] = {k: list(v) for k, v in atom.items()}
    return list(merged.values())


def _go_quoted(items: list[str]) -> str:
    """A []string as Go's %q prints it: ``["a" "b"]``."""
    return "[" + " ".join('"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'
                          for s in items) + "]"


def compact_string(rule: dict) -> str:
    """``{APIGroups:[""], Resources:["pods"], Verbs:["get"]}`` as PolicyRule.CompactString."""
    parts = []
    for label, key in (("APIGroups", "apiGroups"), ("Resources", "resources"),
                       ("NonResourceURLs", "nonResourceURLs"),
                       ("ResourceNames", "resourceNames"), ("Verbs", "verbs")):
        if rule.get(key):
            parts.append(f"{label}:{_go_quoted(rule[key])}")
    return "{" + ", ".join(parts) + "}"
