"""Protobuf messages for the part of etcd's v3 gRPC API that the etcd store speaks.

``etcd_pb2`` is generated from ``etcd.proto`` by ``generate.sh`` (see that proto for why
it is a subset under our own package name); the gRPC method table is in
:mod:`pyk8s.store.etcdclient`.
"""
