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
    async def authenticate(self, request: web.Request) -> UserInfo | None:
        transport = request.transport
        if transport is None:
            return None
        cert = transport.get_extra_info("peercert")
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
        ssl_object = transport.get_extra_info("ssl_object")
        der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
        if der:
            extra[EXTRA_CREDENTIAL_ID] = ("X509SHA256=" + hashlib.sha256(der).hexdigest(),)
        return UserInfo(name, groups=tuple(groups) + (AUTHENTICATED,), extra=extra)
