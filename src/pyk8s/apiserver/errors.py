"""API errors as metav1.Status, with upstream's reasons and message forms.

Handlers raise :class:`APIError`; the server turns it into a Status body and status
code in one place. Constructors mirror k8s.io/apimachinery/pkg/api/errors so that
kubectl prints the same words it prints against kube-apiserver.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class FieldError:
    """One field-path cause of an Invalid error (field.Error upstream)."""

    type: str  # FieldValueRequired, FieldValueInvalid, FieldValueNotSupported, ...
    field: str
    detail: str = ""
    bad_value: object = None

    _PHRASES = {
        "FieldValueRequired": "Required value",
        "FieldValueInvalid": "Invalid value",
        "FieldValueNotSupported": "Unsupported value",
        "FieldValueDuplicate": "Duplicate value",
        "FieldValueForbidden": "Forbidden",
        "FieldValueTooLong": "Too long",
        "FieldValueTooMany": "Too many",
        "FieldValueNotFound": "Not found",
        "InternalError": "Internal error",
        "FieldValueTypeInvalid": "Invalid value",
    }

    def message(self) -> str:
        phrase = self._PHRASES.get(self.type, self.type)
        if self.type in ("FieldValueInvalid", "FieldValueNotSupported", "FieldValueDuplicate",
                         "FieldValueTypeInvalid", "FieldValueNotFound"):
            text = f"{phrase}: {_quote(self.bad_value)}"
        else:
            text = phrase
        return f"{text}: {self.detail}" if self.detail else text

    def as_cause(self) -> dict:
        return {"reason": self.type, "message": self.message(), "field": self.field}


def _quote(value: object) -> str:
    import orjson

    if isinstance(value, str):
        return orjson.dumps(value).decode()
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, (int, float)):
        return str(value)
    return orjson.dumps(value).decode()


def required(path: str, detail: str = "") -> FieldError:
    return FieldError("FieldValueRequired", path, detail)


def invalid(path: str, value: object, detail: str = "") -> FieldError:
    return FieldError("FieldValueInvalid", path, detail, value)


def not_supported(path: str, value: object, valid: list[str]) -> FieldError:
    detail = "supported values: " + ", ".join(f'"{v}"' for v in valid)
    return FieldError("FieldValueNotSupported", path, detail, value)


def forbidden(path: str, detail: str) -> FieldError:
    return FieldError("FieldValueForbidden", path, detail)


def duplicate(path: str, value: object) -> FieldError:
    return FieldError("FieldValueDuplicate", path, "", value)


def field_not_found(path: str, value: object) -> FieldError:
    return FieldError("FieldValueNotFound", path, "", value)


@dataclass
class APIError(Exception):
    """An error answered as a metav1.Status."""

    code: int
    reason: str
    message: str
    details: dict | None = None
    headers: dict = field(default_factory=dict)
    metadata: dict = field(default_factory=dict)  # the Status's ListMeta (e.g. continue)

    def status(self) -> dict:
        body = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": dict(self.metadata),
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if self.details:  # StatusDetails fields are all omitempty upstream
            body["details"] = {k: v for k, v in self.details.items() if v not in ("", None)}
        return body

    def __str__(self) -> str:
        return f"{self.code} {self.reason}: {self.message}"


def _qualified(group: str, resource: str) -> str:
    return f"{resource}.{group}" if group else resource


def not_found(group: str, resource: str, name: str) -> APIError:
    return APIError(404, "NotFound", f'{_qualified(group, resource)} "{name}" not found',
                    {"name": name, "group": group, "kind": resource})


def already_exists(group: str, resource: str, name: str) -> APIError:
    return APIError(409, "AlreadyExists", f'{_qualified(group, resource)} "{name}" already exists',
                    {"name": name, "group": group, "kind": resource})


def conflict(group: str, resource: str, name: str, why: str) -> APIError:
    return APIError(
        409, "Conflict",
        f'Operation cannot be fulfilled on {_qualified(group, resource)} "{name}": {why}',
        {"name": name, "group": group, "kind": resource},
    )


STALE_OBJECT = "the object has been modified; please apply your changes to the latest version and try again"


def invalid_object(group: str, kind: str, name: str, errors: list[FieldError]) -> APIError:
    qualified = f"{kind}.{group}" if group else kind
    messages = [f"{e.field}: {e.message()}" if e.field else e.message() for e in errors]
    if len(messages) == 1:
        text = messages[0]
    else:
        text = "[" + ", ".join(messages) + "]"
    return APIError(
        422, "Invalid", f'{qualified} "{name}" is invalid: {text}',
        {"name": name, "group": group, "kind": kind, "causes": [e.as_cause() for e in errors]},
    )


def bad_request(message: str) -> APIError:
    return APIError(400, "BadRequest", message)


def method_not_allowed(verb: str, resource: str) -> APIError:
    return APIError(405, "MethodNotAllowed", f"{verb} is not supported on resources of kind \"{resource}\"")


def gone(message: str) -> APIError:
    return APIError(410, "Expired", message)


def too_large() -> APIError:
    return APIError(413, "RequestEntityTooLarge", "Request entity too large: limit is 3145728")


def forbidden_error(group: str, resource: str, name: str, why: str) -> APIError:
    subject = f'{_qualified(group, resource)} "{name}"' if name else _qualified(group, resource)
    return APIError(403, "Forbidden", f"{subject} is forbidden: {why}",
                    {"name": name, "group": group, "kind": resource})


def timeout(message: str) -> APIError:
    return APIError(504, "Timeout", message)


def internal(message: str) -> APIError:
    return APIError(500, "InternalError", f"Internal error occurred: {message}")
