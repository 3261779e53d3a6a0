"""Token cleaner: deletes bootstrap token Secrets once their expiration has passed.

Bootstrap tokens are short-lived join credentials (24 h by default). The API server already
refuses an expired token, but the Secret -- and the cluster-info signature made with it --
should not outlive it. As upstream's tokencleaner, each ``bootstrap.kubernetes.io/token``
Secret in kube-system is checked when it appears or changes: if expired (an unparseable
expiration counts as expired) it is deleted with its uid as precondition, so a recreated
namesake survives; otherwise it is looked at again when it expires. Tokens without an
expiration live until deleted by hand.
"""

from __future__ import annotations

from ..bootstrap import tokens
from ..client import Conflict, NotFound
from . import register
from .base import Controller
from .util.times import utcnow


@register("tokencleaner", default=False)
class TokenCleaner(Controller):
    def setup(self) -> None:
        self.secrets = self.ctx.informers.informer(
            "v1", "Secret", namespace=tokens.NAMESPACE,
            field_selector=f"type={tokens.SECRET_TYPE}")
        self.secrets.add_event_handler(on_add=self.enqueue,
                                       on_update=lambda old, new: self.enqueue(new))
        self.api = self.client.api("v1", "Secret")

    async def sync(self, key: str) -> None:
        secret = self.secrets.store.get(key)
        if secret is None:
            return
        left, expired = tokens.expiration(secret, utcnow())
        if not expired:
            if left > 0:
                self.queue.add_after(key, left)
            return
        meta = secret["metadata"]
        try:
            await self.api.delete(meta["name"], namespace=meta["namespace"],
                                  preconditions={"uid": meta["uid"]})
        except (NotFound, Conflict):  # already gone, or a recreated namesake
            return
        self.log.info("deleted expired bootstrap token %s", key)
