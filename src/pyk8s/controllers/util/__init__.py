"""Helpers shared by the workload controllers (upstream's pkg/controller/controller_utils.go).

The ReplicaSet, Deployment, StatefulSet, DaemonSet and Job controllers all need the same
small pieces: reading pod readiness and availability, ranking pods for deletion, owner
references and adoption, expectations that keep a lagging cache from causing duplicate
writes, the pod-template-hash, and slow-start batching of creations. They live here, one
concern per module, as pure functions over plain dicts where possible.
"""
