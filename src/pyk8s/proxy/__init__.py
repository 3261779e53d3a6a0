"""kube-proxy in iptables mode: Services and EndpointSlices in, iptables rules out.

``model`` boils API objects down to service ports and endpoints, ``rules`` computes the
whole iptables-restore input purely, ``iptables`` applies it, ``proxier`` is the
debounced sync loop over the informers and ``main`` the ``pyk8s kube-proxy`` process.
"""
