"""Fixtures and helpers for the controller integration tests.

``client`` and ``namespace`` (with its ``default`` ServiceAccount) come from workloadkit;
``run_controllers`` runs controllers in-process with a FakeKubelet that binds the
namespace's pods to a fresh Node and makes them Running and Ready; ``eventually`` polls.
"""

import contextlib
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from workloadkit import FakeKubelet, client, create_node, namespace, running, wait_for  # noqa: F401


async def eventually(check, timeout: float = 30.0):
    """Poll ``check`` (sync or async) until it answers something truthy (returned)."""
    return await wait_for(check, timeout=timeout)


@contextlib.asynccontextmanager
async def run_controllers(api_client, ns, *controller_classes):
    node = f"node-{ns}"
    await create_node(api_client, node)
    async with running(api_client, *controller_classes) as controllers, \
            FakeKubelet(api_client, ns, [node]):
        yield controllers
