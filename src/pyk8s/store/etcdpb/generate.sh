#!/bin/sh
# Regenerates etcd_pb2.py (and its type stub) from etcd.proto.
# grpcio-tools is a build-time tool only, kept out of pyk8s's dependencies:
#   python3 -m venv /tmp/gtools && /tmp/gtools/bin/pip install grpcio-tools==1.78.0  # emits code for protobuf >= 6.31.1
#   PYTHON=/tmp/gtools/bin/python ./generate.sh
set -eu
cd "$(dirname "$0")"
"${PYTHON:-python3}" -m grpc_tools.protoc -I. --python_out=. --pyi_out=. etcd.proto
