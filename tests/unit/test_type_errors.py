"""JSON type errors of built-in kinds, worded as kube-apiserver's Go decoders word them."""

from __future__ import annotations

import pytest

from pyk8s.apiserver import gotime, typecheck
from pyk8s.apiserver.typecheck import QUANTITY_FORMAT_ERROR, type_error

TEMPLATE = {"metadata": {"labels": {"app": "x"}},
            "spec": {"containers": [{"name": "c", "image": "nginx"}]}}


def deployment(spec: object) -> tuple:
    return ("apps", "v1", "Deployment", {"apiVersion": "apps/v1", "kind": "Deployment",
                                         "metadata": {"name": "x"}, "spec": spec})


def pod_container(**fields) -> tuple:
    return ("", "v1", "Pod", {"spec": {"containers": [{"name": "c", **fields}]}})


CASES = [
    (deployment({"replicas": "two", "template": TEMPLATE}),
     "json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of type "
     "int32"),
    (deployment({"replicas": 1.5}),
     "json: cannot unmarshal number 1.5 into Go struct field DeploymentSpec.spec.replicas of "
     "type int32"),
    (deployment({"replicas": 2 ** 31}),
     "json: cannot unmarshal number 2147483648 into Go struct field DeploymentSpec.spec.replicas "
     "of type int32"),
    (deployment({"paused": "yes"}),
     "json: cannot unmarshal string into Go struct field DeploymentSpec.spec.paused of type bool"),
    (deployment("x"),
     "json: cannot unmarshal string into Go struct field Deployment.spec of type "
     "v1.DeploymentSpec"),
    (deployment({"template": {"spec": {"containers": [{"name": "c", "image": 5}]}}}),
     "json: cannot unmarshal number into Go struct field Container.spec.template.spec.containers"
     ".image of type string"),
    (deployment({"template": {"spec": {"containers": {"name": "c"}}}}),
     "json: cannot unmarshal object into Go struct field PodSpec.spec.template.spec.containers "
     "of type []v1.Container"),
    (("", "v1", "ConfigMap", {"metadata": {"labels": {"a": True}}}),
     "json: cannot unmarshal bool into Go struct field ObjectMeta.metadata.labels of type string"),
    (("", "v1", "ConfigMap", {"data": {"a": 1}}),
     "json: cannot unmarshal number into Go struct field ConfigMap.data of type string"),
    (("", "v1", "ConfigMap", {"data": ["a"]}),
     "json: cannot unmarshal array into Go struct field ConfigMap.data of type map[string]string"),
    (("", "v1", "Secret", {"data": {"a": "aGVsbG8"}}), "illegal base64 data at input byte 4"),
    (("", "v1", "Secret", {"data": {"a": 5}}),
     "json: cannot unmarshal number into Go struct field Secret.data of type []uint8"),
    (pod_container(resources={"limits": {"cpu": "abc"}}), QUANTITY_FORMAT_ERROR),
    (pod_container(resources={"limits": {"cpu": "1kk"}}), "unable to parse quantity's suffix"),
    (pod_container(resources={"limits": "x"}),
     "json: cannot unmarshal string into Go struct field ResourceRequirements.spec.containers."
     "resources.limits of type v1.ResourceList"),
    (("", "v1", "Service", {"spec": {"ports": [{"port": 80, "targetPort": True}]}}),
     "json: cannot unmarshal bool into Go struct field ServicePort.spec.ports.targetPort of type "
     "int32"),
    (("", "v1", "Pod", {"metadata": {"creationTimestamp": "x"}}),
     'parsing time "x" as "2006-01-02T15:04:05Z07:00": cannot parse "x" as "2006"'),
    (("", "v1", "Pod", {"metadata": {"creationTimestamp": 5}}),
     "json: cannot unmarshal number into Go struct field ObjectMeta.metadata.creationTimestamp "
     "of type string"),
    # A custom unmarshaler's error ends decoding and wins over an earlier mismatch.
    (("", "v1", "Pod", {"metadata": {"labels": {"a": 1}, "creationTimestamp": "x"}}),
     'parsing time "x" as "2006-01-02T15:04:05Z07:00": cannot parse "x" as "2006"'),
    # Otherwise the first mismatch in document order is reported.
    (deployment({"paused": 1, "replicas": "two"}),
     "json: cannot unmarshal number into Go struct field DeploymentSpec.spec.paused of type bool"),
]

VALID = [
    deployment({"replicas": 3, "paused": None, "template": TEMPLATE, "strategy": None}),
    ("", "v1", "ConfigMap", {"data": {"a": "1", "b": None}, "binaryData": {"c": "aGVsbG8="}}),
    pod_container(resources={"limits": {"cpu": 1, "memory": "1Gi"}, "requests": {"cpu": 0.5}}),
    ("", "v1", "Service", {"spec": {"ports": [{"port": 80, "targetPort": "http"}]}}),
    ("", "v1", "Pod", {"metadata": {"creationTimestamp": "2024-01-01T00:00:00Z", "foo": 5}}),
    ("coordination.k8s.io", "v1", "Lease", {"spec": {"renewTime": "2024-01-01T00:00:00.123456Z"}}),
    ("example.com", "v1", "Widget", {"spec": {"replicas": "two"}}),  # no built-in schema
]


@pytest.mark.parametrize("args,message", CASES)
def test_json_decoder_messages(args, message):
    assert type_error(*args) == message


@pytest.mark.parametrize("args", VALID)
def test_valid_bodies(args):
    assert type_error(*args) is None


@pytest.mark.parametrize("args,message", [
    (deployment({"replicas": "two"}), "unrecognized type: int32"),
    (deployment({"replicas": 1.5}), "cannot convert float64 to int32"),
    (deployment({"replicas": 3.0}), None),
    (deployment("x"), "cannot restore struct from: string"),
    (("", "v1", "ConfigMap", {"data": {"a": 1}}), "cannot convert int64 to string"),
    (("", "v1", "ConfigMap", {"data": "x"}), "cannot restore map from string"),
    (("", "v1", "Service", {"spec": {"ports": [{"targetPort": True}]}}),
     "json: cannot unmarshal bool into Go value of type int32"),
])
def test_unstructured_converter_messages(args, message):
    assert type_error(*args, mode="unstructured") == message


@pytest.mark.parametrize("value,message", [
    ("2024/01/01", 'parsing time "2024/01/01" as "2006-01-02T15:04:05Z07:00": cannot parse '
                   '"/01/01" as "-"'),
    ("2024-13-01T00:00:00Z", 'parsing time "2024-13-01T00:00:00Z": month out of range'),
    ("2024-02-30T00:00:00Z", 'parsing time "2024-02-30T00:00:00Z": day out of range'),
    ("2024-01-01T00:00:00Zx", 'parsing time "2024-01-01T00:00:00Zx": extra text: "x"'),
    ("2024-01-01T00:00:00+01:00", None),
])
def test_time_parse_errors(value, message):
    assert gotime.parse_error("2006-01-02T15:04:05Z07:00", value) == message


def test_micro_time_requires_microseconds():
    assert gotime.parse_error("2006-01-02T15:04:05.000000Z07:00", "2024-01-01T00:00:00Z") == (
        'parsing time "2024-01-01T00:00:00Z" as "2006-01-02T15:04:05.000000Z07:00": cannot '
        'parse "Z" as ".000000"')


@pytest.mark.parametrize("text,offset", [
    ("aGVsbG8=", None), ("aGVs\nbG8=", None), ("aGVsbG8", 4), ("!!!!", 0), ("aGVsbG8=x", 8),
    ("a", 0), ("aG==", None), ("a===", 1),
])
def test_base64_offsets(text, offset):
    assert typecheck.base64_error_offset(text.encode()) == offset
