"""x509 client certificates: CN is the user name, O entries are its groups.

The TLS layer already verified the chain against the cluster CA (verify_mode
CERT_OPTIONAL with the CA loaded): OpenSSL aborts the handshake when a client
presents a certificate it cannot verify, so a certificate present here is trusted.
As upstream, the user carries the certificate's SHA-256 fingerprint as its
``authentication.kubernetes.io/credential-id`` extra (``X509SHA256=<hex>``).
"""

from __future__ import annotations

import hashlib

from aiohttp import web

from ..user import AUTHENTICATED, UserInfo

EXTRA_CREDENTIAL_ID = "authentication.kubernetes.io/credential-id"


class X509Authenticator:
    """Users by client certificate, remembered by the certificate's DER bytes: a client
    sends many requests with one certificate, and decoding its subject and hashing it
    on every request was a visible part of a request's CPU."""

    CACHE_SIZE = 1024

    def __init__(self) -> None:
        self._users: dict[bytes, UserInfo] = {}

    async def authenticate(self, request: web.Request) -> UserInfo | None:
        transport = request.transport
        if transport is None:
            return None
        ssl_object = transport.get_extra_info("ssl_object")
        der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
        if der:
            user = self._users.get(der)
            if user is not None:
                return user
        user = _user_of(transport.get_extra_info("peercert"), der)
        if user is not None and der:
            if len(self._users) >= self.CACHE_SIZE:
                self._users.clear()
            self._users[der] = user
        return user


def _user_of(cert: dict | None, der: bytes | None) -> UserInfo | None:
    if not cert:
        return None
    name, groups = "", []
    for rdn in cert.get("subject", ()):
        for key, value in rdn:
            if key == "commonName":
                name = value
            elif key == "organizationName":
                groups.append(value)
    if not name:
        return None
    extra = {}
    if der:
        extra[EXTRA_CREDENTIAL_ID] = ("X509SHA256=" + hashlib.sha256(der).hexdigest(),)
    return UserInfo(name, groups=tuple(groups) + (AUTHENTICATED,), extra=extra)
