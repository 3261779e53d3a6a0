"""CSR signing controller: issues certificates for approved CSRs of the built-in signers.

Signs with the cluster CA (``--cluster-signing-cert-file``/``--cluster-signing-key-file``) for
the four ``kubernetes.io`` signers kube-controller-manager serves: ``kube-apiserver-client``,
``kube-apiserver-client-kubelet``, ``kubelet-serving`` and ``legacy-unknown``. Upstream runs one
controller per signer over the same informer; one controller with a signer table is the same
behaviour with one queue.

A CSR is signed once it is approved, not denied, not Failed, and has no certificate yet. A
request the signer must refuse -- wrong shape for its signer (upstream's messages), a request
that is not a parseable, self-signed PEM CSR, usages that are not key usages -- gets a Failed
condition (reason SignerValidationFailure) written through ``/status`` and is never retried:
``spec`` is immutable, so trying again cannot help. (Upstream requeues unparseable requests
forever because its API server rejects them at create; ours does not, so they end Failed.)
Problems of the CA itself (files unreadable, expired) are retried with backoff. Without the CA
flags the controller idles, as upstream skips it.
"""

from __future__ import annotations

import base64
import copy
from datetime import timedelta

from ..client import NotFound
from . import register
from .base import Controller
from .util.certauthority import CAFiles, duration
from .util.csr import (
    KUBE_APISERVER_CLIENT,
    KUBE_APISERVER_CLIENT_KUBELET,
    KUBELET_SERVING,
    LEGACY_UNKNOWN,
    RequestError,
    has_true_condition,
    is_approved,
    parse_request,
    signer_problem,
    usages_of,
)
from .util.times import format_time, utcnow

SIGNERS = (KUBE_APISERVER_CLIENT, KUBE_APISERVER_CLIENT_KUBELET, KUBELET_SERVING,
           LEGACY_UNKNOWN)
FAILURE_REASON = "SignerValidationFailure"


def wants_certificate(obj: dict) -> bool:
    """Approved, not Failed, for one of our signers, and not yet issued."""
    spec = obj.get("spec") or {}
    return (is_approved(obj) and not has_true_condition(obj, "Failed")
            and spec.get("signerName") in SIGNERS
            and not (obj.get("status") or {}).get("certificate"))


def failed_copy(obj: dict, message: str, now: str) -> dict:
    """A copy of the CSR with a Failed condition saying why the signer refuses it."""
    out = copy.deepcopy(obj)
    status = out.setdefault("status", {})
    status["conditions"] = list(status.get("conditions") or ()) + [{
        "type": "Failed", "status": "True", "reason": FAILURE_REASON, "message": message,
        "lastUpdateTime": now, "lastTransitionTime": now}]
    return out


def issued_copy(obj: dict, certificate_pem: bytes) -> dict:
    """A copy of the CSR carrying the issued certificate (``status.certificate`` is base64)."""
    out = copy.deepcopy(obj)
    out.setdefault("status", {})["certificate"] = base64.b64encode(certificate_pem).decode()
    return out


@register("csrsigning")
class CSRSigningController(Controller):
    def setup(self) -> None:
        opts = self.ctx.options
        self.ca = None
        if opts.cluster_signing_cert_file and opts.cluster_signing_key_file:
            self.ca = CAFiles(opts.cluster_signing_cert_file, opts.cluster_signing_key_file)
        self.cert_ttl = timedelta(seconds=opts.cluster_signing_duration)
        self.csrs = self.ctx.informers.informer("certificates.k8s.io/v1",
                                                "CertificateSigningRequest")
        self.csrs.add_event_handler(on_add=self.enqueue,
                                    on_update=lambda old, new: self.enqueue(new))
        self.api = self.client.api("certificates.k8s.io/v1", "CertificateSigningRequest")

    async def run(self, stop) -> None:
        if self.ca is None:
            self.log.warning("no --cluster-signing-cert-file/--cluster-signing-key-file; "
                             "not signing CSRs")
            await stop.wait()
            return
        await super().run(stop)

    async def sync(self, key: str) -> None:
        obj = self.csrs.store.get(key)
        if obj is None or not wants_certificate(obj):
            return
        try:
            req = parse_request(obj)
            problem = signer_problem(obj["spec"]["signerName"], req, usages_of(obj))
            if problem is not None:
                raise RequestError(problem)
            ttl = duration((obj.get("spec") or {}).get("expirationSeconds"), self.cert_ttl)
            pem = self.ca.current().sign(req, usages_of(obj), ttl, utcnow())
        except RequestError as err:
            await self._write(failed_copy(obj, str(err), format_time()))
            self.log.info("csr %s failed: %s", key, err)
            return
        await self._write(issued_copy(obj, pem))
        self.log.info("signed csr %s for %s", key, obj["spec"]["signerName"])

    async def _write(self, obj: dict) -> None:
        try:
            await self.api.update_status(obj)
        except NotFound:
            pass
