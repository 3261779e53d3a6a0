"""Reads and validates an ``EncryptionConfiguration`` file (``--encryption-provider-config``).

The file format and the checks are kube-apiserver's (apiserver.config.k8s.io/v1): a list
of rules, each naming resources and an ordered list of providers (aesgcm, aescbc,
secretbox, identity; the first provider writes, all of them read). Errors name the
offending field the way upstream's field errors do, so a mistake in the file reads the
same as it would against kube-apiserver; a bad file stops the server at startup.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass

import yaml

API_VERSION = "apiserver.config.k8s.io/v1"
KIND = "EncryptionConfiguration"
PROVIDER_TYPES = ("aesgcm", "aescbc", "secretbox", "identity", "kms")
KEY_SIZES = {"aesgcm": (16, 24, 32), "aescbc": (16, 24, 32), "secretbox": (32,)}
NOT_REST = ("apiserveripinfo", "serviceipallocations", "servicenodeportallocations")


class EncryptionConfigError(ValueError):
    """The configuration file cannot be read or is invalid; the message says where."""


@dataclass(frozen=True, slots=True)
class ProviderSpec:
    """One provider of a rule: its type and, for ciphers, its named keys in order."""

    type: str  # aesgcm, aescbc, secretbox or identity
    keys: tuple[tuple[str, bytes], ...] = ()


@dataclass(frozen=True, slots=True)
class ResourceRule:
    """One entry of ``resources``: which resources, and their providers in order."""

    resources: tuple[str, ...]
    providers: tuple[ProviderSpec, ...]


def parse_group_resource(resource: str) -> tuple[str, str]:
    """``secrets`` -> ("", "secrets"); ``deployments.apps`` -> ("apps", "deployments");
    ``*.`` -> ("", "*"); ``*.*`` -> ("*", "*") (schema.ParseGroupResource)."""
    name, _, group = resource.partition(".")
    return group, name


def display(group: str, resource: str) -> str:
    """How upstream prints a group/resource in masking errors (``*.``, ``*.*``, ``secrets``)."""
    if resource == "*":
        return f"*.{group}"
    return f"{resource}.{group}" if group else resource


def load(path: str) -> list[ResourceRule]:
    """The validated rules of the file at ``path``."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as exc:
        raise EncryptionConfigError(
            f"error reading encryption provider configuration file {path!r}: {exc}") from None
    if not data.strip():
        raise EncryptionConfigError(
            f"encryption provider configuration file {path!r} is empty")
    try:
        return parse(data)
    except EncryptionConfigError as exc:
        raise EncryptionConfigError(
            f"error while loading encryption provider configuration file {path!r}: {exc}"
        ) from None


def parse(data: bytes | str) -> list[ResourceRule]:
    """Decode (YAML or JSON) and validate; raises EncryptionConfigError."""
    try:
        doc = yaml.safe_load(data)
    except yaml.YAMLError as exc:
        raise EncryptionConfigError(f"cannot decode: {exc}") from None
    if not isinstance(doc, dict):
        raise EncryptionConfigError("the file must hold an EncryptionConfiguration object")
    if doc.get("apiVersion") != API_VERSION or doc.get("kind") != KIND:
        raise EncryptionConfigError(
            f"expected apiVersion {API_VERSION!r} and kind {KIND!r}, got apiVersion "
            f"{doc.get('apiVersion')!r} and kind {doc.get('kind')!r}")
    errs: list[str] = []
    rules = _rules(doc.get("resources"), errs)
    if not errs:
        _check_masking(rules, errs)
    if errs:
        raise EncryptionConfigError(errs[0] if len(errs) == 1 else "[" + ", ".join(errs) + "]")
    return rules


# -- field errors, worded as k8s.io/apimachinery's field.Error ----------------------


def _required(path: str, detail: str) -> str:
    return f"{path}: Required value: {detail}"


def _invalid(path: str, value: object, detail: str) -> str:
    return f"{path}: Invalid value: {_go_value(value)}: {detail}"


def _go_value(value: object) -> str:
    if isinstance(value, list):
        return "[]string{" + ", ".join(_go_value(v) for v in value) + "}"
    if isinstance(value, str):
        return '"' + value.replace('"', '\\"') + '"'
    return repr(value)


def _list(value: object, path: str, errs: list[str]) -> list:
    if value is None:
        return []
    if not isinstance(value, list):
        errs.append(_invalid(path, type(value).__name__, "must be a list"))
        return []
    return value


# -- the document ------------------------------------------------------------------


def _rules(resources: object, errs: list[str]) -> list[ResourceRule]:
    entries = _list(resources, "resources", errs)
    if not entries and not errs:
        errs.append(_required("resources", "at least one resources is required"))
    rules = []
    for i, entry in enumerate(entries):
        root = f"resources[{i}]"
        if not isinstance(entry, dict):
            errs.append(_invalid(root, type(entry).__name__, "must be an object"))
            continue
        names = _list(entry.get("resources"), f"{root}.resources", errs)
        if not names:
            errs.append(_required(f"{root}.resources",
                                  f"at least one {root}.resources is required"))
        if not all(isinstance(n, str) for n in names):
            errs.append(_invalid(f"{root}.resources", repr(names), "must be a list of strings"))
            names = []
        _check_overlap(names, f"{root}.resources", errs)
        _check_names(names, f"{root}.resources", errs)
        providers = _list(entry.get("providers"), f"{root}.providers", errs)
        if not providers:
            errs.append(_required(f"{root}.providers",
                                  f"at least one {root}.providers is required"))
        specs = [_provider(p, f"{root}.providers[{j}]", errs) for j, p in enumerate(providers)]
        rules.append(ResourceRule(tuple(names), tuple(s for s in specs if s is not None)))
    return rules


def _check_overlap(names: list[str], path: str, errs: list[str]) -> None:
    parsed = [parse_group_resource(n) for n in names]
    duplicate = overlap = False
    for i, (g1, r1) in enumerate(parsed):
        for j, (g2, r2) in enumerate(parsed):
            if i == j:
                continue
            if (g1, r1) == (g2, r2):
                duplicate = True
            elif (g1, r1) == ("*", "*") or (g1 == g2 and "*" in (r1, r2)):
                overlap = True
    if duplicate:
        errs.append(_invalid(path, names, "the same resource cannot be specified multiple times"))
    if overlap:
        errs.append(_invalid(path, names, "using overlapping resources such as 'secrets' and '*.' "
                                          "in the same resource list is not allowed as they will "
                                          "be masked"))


def _check_names(names: list[str], path: str, errs: list[str]) -> None:
    for j, name in enumerate(names):
        group, resource = parse_group_resource(name)
        problem = None
        if name != name.lower():
            problem = "resource name should not contain capital letters"
        elif name == "*":
            problem = ("use '*.' to encrypt all the resources from core API group or *.* to "
                       "encrypt all resources")
        elif name in NOT_REST:
            problem = "resources which do not have REST API/s cannot be encrypted"
        elif group == "events.k8s.io":
            problem = ("'*.events.k8s.io' objects are stored using the 'events' API group in "
                       "etcd. Use 'events' instead in the config file")
        elif group == "extensions":
            problem = "'extensions' group has been removed and cannot be used for encryption"
        elif group == "*" and resource != "*":
            problem = "encrypting the same resource across groups is not supported"
        elif not resource:
            problem = "resource name must not be empty"
        if problem:
            errs.append(_invalid(f"{path}[{j}]", name, problem))


def _provider(provider: object, path: str, errs: list[str]) -> ProviderSpec | None:
    if not isinstance(provider, dict):
        errs.append(_invalid(path, type(provider).__name__, "must be an object"))
        return None
    present = [t for t in PROVIDER_TYPES if provider.get(t) is not None]
    if not present:
        errs.append(_invalid(path, provider, "provider does not contain any of the expected "
                                             "providers: KMS, AESGCM, AESCBC, Secretbox, Identity"))
        return None
    if len(present) > 1:
        errs.append(_invalid(path, provider, "more than one provider specified in a single "
                                             "element, should split into different list elements"))
        return None
    kind = present[0]
    if kind == "identity":
        return ProviderSpec("identity")
    if kind == "kms":
        errs.append(f"{path}.kms: Unsupported value: pyk8s has no KMS plugin support; use "
                    "aesgcm, aescbc, secretbox or identity")
        return None
    body = provider[kind]
    keys_path = f"{path}.{kind}.keys"
    keys = _list(body.get("keys") if isinstance(body, dict) else None, keys_path, errs)
    if not keys:
        errs.append(_required(keys_path, "at least one keys is required"))
        return None
    out = [_key(k, f"{keys_path}[{i}]", KEY_SIZES[kind], errs) for i, k in enumerate(keys)]
    if any(k is None for k in out):
        return None
    return ProviderSpec(kind, tuple(out))


def _key(key: object, path: str, sizes: tuple[int, ...],
         errs: list[str]) -> tuple[str, bytes] | None:
    if not isinstance(key, dict):
        errs.append(_invalid(path, type(key).__name__, "must be an object"))
        return None
    name, secret = key.get("name"), key.get("secret")
    ok = True
    if not name or not isinstance(name, str):
        errs.append(_required(f"{path}.name", "name is a mandatory field for a key"))
        ok = False
    if not secret or not isinstance(secret, str):
        errs.append(_required(f"{path}.secret", "secret is a mandatory field for a key"))
        return None
    try:
        raw = base64.b64decode(secret, validate=True)
    except (binascii.Error, ValueError):
        errs.append(_invalid(f"{path}.secret", "REDACTED", "secrets must be base64 encoded"))
        return None
    if len(raw) not in sizes:
        errs.append(_invalid(f"{path}.secret", "REDACTED",
                             f"secret is not of the expected length, got {len(raw)}, expected "
                             f"one of [{' '.join(map(str, sizes))}]"))
        return None
    return (name, raw) if ok else None


def _check_masking(rules: list[ResourceRule], errs: list[str]) -> None:
    """A resource after a ``*.group`` or ``*.*`` rule would never be used: refuse it."""
    seen: set[tuple[str, str]] = set()
    for rule in rules:
        for name in rule.resources:
            group, resource = parse_group_resource(name)
            for mask in ((group, "*"), ("*", "*")):
                if mask in seen:
                    errs.append(f'resource "{display(group, resource)}" is masked by earlier '
                                f'rule "{display(*mask)}"')
                    return
            seen.add((group, resource))
