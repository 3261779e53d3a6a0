"""Bootstrap signer: keeps ``kube-public/cluster-info`` signed by every signing bootstrap token.

A joining node fetches cluster-info anonymously and trusts the CA in it only if the
``jws-kubeconfig-<token id>`` entry is a valid detached JWS of the ``kubeconfig`` entry made
with the token it was given. As upstream's bootstrapsigner, every change to cluster-info or to
a bootstrap token Secret in kube-system recomputes the wanted signatures -- one per token that
is well formed, unexpired and has ``usage-bootstrap-signing: "true"`` -- and writes the
ConfigMap only when they differ from what it holds (stale ones removed). Everything funnels
into one queue key, so the ConfigMap has one writer at a time. Unlike upstream, which waits
for the token cleaner to delete an expired token, the key is also requeued at the next token
expiry, so an expired token's signature goes even when no cleaner runs. No cluster-info (the
installer creates it) or no ``kubeconfig`` entry: nothing to sign.
"""

from __future__ import annotations

from ..bootstrap import tokens
from ..bootstrap.jws import compute_detached_signature
from ..client import NotFound
from . import register
from .base import Controller
from .util.times import utcnow

NAMESPACE = "kube-public"
NAME = "cluster-info"
KEY = f"{NAMESPACE}/{NAME}"
KUBECONFIG_KEY = "kubeconfig"
SIGNATURE_PREFIX = "jws-kubeconfig-"


def signed_data(data: dict, signers: dict[str, str]) -> dict | None:
    """cluster-info's ``data`` signed by exactly ``signers`` (id -> secret); None if the
    signatures in ``data`` are already those (or there is no kubeconfig to sign)."""
    content = data.get(KUBECONFIG_KEY)
    if content is None:
        return None
    wanted = {k: v for k, v in data.items() if not k.startswith(SIGNATURE_PREFIX)}
    for token_id, secret in signers.items():
        wanted[SIGNATURE_PREFIX + token_id] = compute_detached_signature(content, token_id,
                                                                         secret)
    return None if wanted == data else wanted


@register("bootstrapsigner", default=False)
class BootstrapSigner(Controller):
    workers = 1

    def setup(self) -> None:
        self.configmaps = self.ctx.informers.informer(
            "v1", "ConfigMap", namespace=NAMESPACE, field_selector=f"metadata.name={NAME}")
        self.secrets = self.ctx.informers.informer(
            "v1", "Secret", namespace=tokens.NAMESPACE,
            field_selector=f"type={tokens.SECRET_TYPE}")
        poke = self._poke
        self.configmaps.add_event_handler(on_add=poke, on_update=lambda old, new: poke(new))
        self.secrets.add_event_handler(on_add=poke, on_update=lambda old, new: poke(new),
                                       on_delete=poke)
        self.api = self.client.api("v1", "ConfigMap")

    def _poke(self, _obj=None) -> None:
        self.queue.add(KEY)

    def _signers(self) -> dict[str, str]:
        """id -> secret of the tokens that sign now; requeues at the soonest expiry."""
        now = utcnow()
        signers: dict[str, str] = {}
        for secret in sorted(self.secrets.store.list(),
                             key=lambda s: s["metadata"]["name"]):
            token = tokens.signing_token(secret, now)
            if token is None or token[0] in signers:
                continue
            signers[token[0]] = token[1]
            left, _ = tokens.expiration(secret, now)
            if left > 0:
                self.queue.add_after(KEY, left)
        return signers

    async def sync(self, key: str) -> None:
        cm = self.configmaps.store.get(KEY)
        if cm is None:
            return
        data = signed_data(cm.get("data") or {}, self._signers())
        if data is None:
            return
        try:
            await self.api.update({**cm, "data": data})
        except NotFound:
            return
        self.log.info("updated signatures of %s", KEY)
