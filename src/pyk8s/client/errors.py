"""API errors as classes keyed by HTTP status, each carrying the server's Status body.

Callers branch on the class (``except NotFound``), never on message text, as with
apimachinery's ``errors.IsNotFound``; ``AlreadyExists`` is a ``Conflict`` distinguished by
the Status reason, as upstream. Transport failures are mapped here too, in one place.
"""

from __future__ import annotations


class ClientError(Exception):
    """Root of everything the client raises."""


class TransportError(ClientError):
    """The request did not get an HTTP answer (connect failure, reset, timeout)."""


class ApiError(ClientError):
    """A non-2xx answer from the API server (or an ERROR watch event)."""

    code = 0

    def __init__(self, status: dict, *, code: int | None = None) -> None:
        self.status = status
        self.code = code if code is not None else int(status.get("code") or self.code)
        super().__init__(f"{self.code} {self.reason}: {self.message}")

    @property
    def reason(self) -> str:
        return self.status.get("reason", "")

    @property
    def message(self) -> str:
        return self.status.get("message", "")

    @property
    def details(self) -> dict:
        return self.status.get("details") or {}


class BadRequest(ApiError):
    code = 400


class Unauthorized(ApiError):
    code = 401


class Forbidden(ApiError):
    code = 403


class NotFound(ApiError):
    code = 404


class MethodNotAllowed(ApiError):
    code = 405


class Conflict(ApiError):
    code = 409


class AlreadyExists(Conflict):
    """409 with reason AlreadyExists: a create of a name that is taken."""


class Gone(ApiError):
    """410: a resourceVersion or continue token older than the server's history."""

    code = 410


class Invalid(ApiError):
    code = 422


class TooManyRequests(ApiError):
    code = 429


class ServerError(ApiError):
    """Any 5xx."""

    code = 500


class ResourceNotServed(NotFound):
    """Discovery does not list the requested resource (even after a refresh)."""


_BY_CODE: dict[int, type[ApiError]] = {
    cls.code: cls for cls in (BadRequest, Unauthorized, Forbidden, NotFound, MethodNotAllowed,
                              Conflict, Gone, Invalid, TooManyRequests)
}


def status_body(code: int, message: str, reason: str = "") -> dict:
    """A Status for answers that did not carry one (e.g. a proxy's plain-text error)."""
    return {"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": code,
            "message": message, "reason": reason}


def from_status(status: dict, code: int | None = None) -> ApiError:
    """The ApiError subclass for a Status body (and the HTTP code, if known)."""
    code = code if code is not None else int(status.get("code") or 500)
    if code == 409 and status.get("reason") == "AlreadyExists":
        return AlreadyExists(status, code=code)
    cls = _BY_CODE.get(code) or (ServerError if code >= 500 else ApiError)
    return cls(status, code=code)
