"""x509 client certificates: CN is the user name, O entries are its groups.

The TLS layer already verified the chain against the cluster CA (verify_mode
CERT_OPTIONAL with the CA loaded), so a certificate present here is trusted.
"""

from __future__ import annotations

from aiohttp import web

from ..user import AUTHENTICATED, UserInfo


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
        return UserInfo(name, groups=tuple(groups) + (AUTHENTICATED,))
