"""Bootstrap tokens and the signed ``cluster-info``, shared by the controllers and the installer.

A joining node holds only a bootstrap token (``<id>.<secret>``). The controller manager keeps
``kube-public/cluster-info`` signed with every signing-enabled token and deletes expired token
Secrets; the installer verifies that signature before it trusts the CA it read from an
unauthenticated connection. Both sides read token Secrets and compute the JWS the same way, so
that code lives here, apart from either component.
"""
