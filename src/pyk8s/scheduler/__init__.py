"""pyk8s's kube-scheduler: assigns pending pods to nodes through the API.

Shaped after upstream's: a scheduling framework (``framework``) of narrow extension-point
interfaces, plugins registered by name (``plugins``), a cache of node state kept from
informers with assumed pods (``cache``), a three-part scheduling queue (``queue``), the
scheduling and binding cycles (``scheduler``) and the process around them (``app``).
The scheduler only reads and writes API objects; its bookkeeping stays in its own cache.
"""
