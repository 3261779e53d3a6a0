"""pyk8s's client library: how every component talks to the API server.

The scheduler, controller manager, kubelet and kube-proxy are API clients like upstream's,
so they share one client shaped after client-go: a kubeconfig/in-cluster ``Config``, a generic
REST ``Client`` over discovered resources, ``Informer`` caches fed by list+watch, rate-limited
``WorkQueue``\\s, Lease-based leader election and an aggregating ``EventRecorder``.
Objects are plain dicts throughout; cached ones are shared and must never be mutated.
"""

from .api import Client, ResourceAPI, retry_on_conflict
from .config import Config, load_config, load_incluster_config, load_kubeconfig
from .errors import (
                     AlreadyExists,
                     ApiError,
                     BadRequest,
                     Conflict,
                     Forbidden,
                     Gone,
                     Invalid,
                     NotFound,
                     ServerError,
                     TooManyRequests,
                     Unauthorized,
)
from .events import EventRecorder
from .informers import DeletedFinalStateUnknown, Informer, SharedInformerFactory
from .leaderelection import LeaderElector
from .store import Store
from .workqueue import RateLimitingQueue, ShutDown, WorkQueue, run_workers

__all__ = [
                     "AlreadyExists",
                     "ApiError",
                     "BadRequest",
                     "Client",
                     "Config",
                     "Conflict",
                     "DeletedFinalStateUnknown",
                     "EventRecorder",
                     "Forbidden",
                     "Gone",
                     "Informer",
                     "Invalid",
                     "LeaderElector",
                     "NotFound",
                     "RateLimitingQueue",
                     "ResourceAPI",
                     "ServerError",
                     "SharedInformerFactory",
                     "ShutDown",
                     "Store",
                     "TooManyRequests",
                     "Unauthorized",
                     "WorkQueue",
                     "load_config",
                     "load_incluster_config",
                     "load_kubeconfig",
                     "retry_on_conflict",
                     "run_workers",
]
