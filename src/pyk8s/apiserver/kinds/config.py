"""ConfigMaps and Secrets: key and size validation, secret types, immutability.

Follows ValidateConfigMap / ValidateSecret and their update rules: keys must be
valid config keys, the total payload is capped at 1MiB, typed secrets must carry
their required keys, a secret's type never changes, and ``immutable: true``
freezes the data for good.
"""

from __future__ import annotations

import base64
import binascii

import orjson

from ..errors import FieldError, forbidden, invalid, required
from ..strategy import Strategy
from ..validation import is_config_map_key, validate_immutable
from . import register

MAX_SIZE = 1024 * 1024
IMMUTABLE = "field is immutable when `immutable` is set"


def _too_long(path: str) -> FieldError:
    return FieldError("FieldValueTooLong", path, f"must have at most {MAX_SIZE} bytes")


def _decoded_len(value: str) -> int:
    try:
        return len(base64.b64decode(value or "", validate=True))
    except (binascii.Error, ValueError):
        return len(value or "")


def _validate_frozen(obj: dict, old: dict, fields: tuple[str, ...]) -> list[FieldError]:
    if not old.get("immutable"):
        return []
    errs: list[FieldError] = []
    if not obj.get("immutable"):
        errs.append(forbidden("immutable", IMMUTABLE))
    for f in fields:
        if (obj.get(f) or {}) != (old.get(f) or {}):
            errs.append(forbidden(f, IMMUTABLE))
    return errs


@register("", "ConfigMap")
class ConfigMapStrategy(Strategy):
    def validate(self, obj: dict) -> list[FieldError]:
        errs: list[FieldError] = []
        data, binary = obj.get("data") or {}, obj.get("binaryData") or {}
        total = 0
        for key, value in data.items():
            errs += [invalid(f"data[{key}]", key, m) for m in is_config_map_key(key)]
            if key in binary:
                errs.append(invalid(f"data[{key}]", key, "duplicate of key present in binaryData"))
            total += len(str(value).encode())
        for key, value in binary.items():
            errs += [invalid(f"binaryData[{key}]", key, m) for m in is_config_map_key(key)]
            total += _decoded_len(value)
        if total > MAX_SIZE:
            errs.append(_too_long(""))
        return errs

    def validate_update(self, obj: dict, old: dict) -> list[FieldError]:
        return self.validate(obj) + _validate_frozen(obj, old, ("data", "binaryData"))


_JSON_KEYS = {
    "kubernetes.io/dockercfg": ".dockercfg",
    "kubernetes.io/dockerconfigjson": ".dockerconfigjson",
}


@register("", "Secret")
class SecretStrategy(Strategy):
    def default(self, obj: dict) -> None:
        if not obj.get("type"):
            obj["type"] = "Opaque"
        string_data = obj.pop("stringData", None)
        if string_data:
            data = obj.get("data") or {}
            for key, value in string_data.items():
                data[key] = base64.b64encode(str(value).encode()).decode()
            obj["data"] = data

    def validate(self, obj: dict) -> list[FieldError]:
        errs: list[FieldError] = []
        data = obj.get("data") or {}
        total = 0
        for key, value in data.items():
            errs += [invalid(f"data[{key}]", key, m) for m in is_config_map_key(key)]
            total += _decoded_len(value)
        if total > MAX_SIZE:
            errs.append(_too_long("data"))
        stype = obj.get("type") or ""
        if stype == "kubernetes.io/service-account-token":
            annotations = (obj.get("metadata") or {}).get("annotations") or {}
            if not annotations.get("kubernetes.io/service-account.name"):
                errs.append(required("metadata.annotations[kubernetes.io/service-account.name]"))
        elif stype in _JSON_KEYS:
            key = _JSON_KEYS[stype]
            if key not in data:
                errs.append(required(f"data[{key}]"))
            else:
                try:
                    orjson.loads(base64.b64decode(data[key] or ""))
                except (orjson.JSONDecodeError, binascii.Error, ValueError) as err:
                    errs.append(invalid(f"data[{key}]", "<secret contents redacted>", str(err)))
        elif stype == "kubernetes.io/basic-auth":
            if "username" not in data and "password" not in data:
                errs += [required("data[username]"), required("data[password]")]
        elif stype == "kubernetes.io/ssh-auth":
            if not data.get("ssh-privatekey"):
                errs.append(required("data[ssh-privatekey]"))
        elif stype == "kubernetes.io/tls":
            errs += [required(f"data[{k}]") for k in ("tls.crt", "tls.key") if k not in data]
        return errs

    def validate_update(self, obj: dict, old: dict) -> list[FieldError]:
        errs = self.validate(obj) + validate_immutable("type", obj.get("type"), old.get("type"))
        return errs + _validate_frozen(obj, old, ("data",))

    def selectable_fields(self, obj: dict) -> dict[str, str]:
        return {"type": obj.get("type") or ""}
