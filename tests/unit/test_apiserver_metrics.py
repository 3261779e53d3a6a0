"""/metrics: upstream's verbs and labels, histogram buckets, and the text format."""

from __future__ import annotations

import pytest

from pyk8s.apiserver.metrics import RequestMetrics, labels_for, metric_verb
from pyk8s.apiserver.requestinfo import parse_resource_path


@pytest.mark.parametrize("method,path,query,content_type,verb", [
    ("GET", "/api/v1/namespaces/a/pods", {}, "", "LIST"),
    ("GET", "/api/v1/namespaces/a/pods/p", {}, "", "GET"),
    ("GET", "/api/v1/pods", {"watch": "true"}, "", "WATCH"),
    ("GET", "/api/v1/watch/pods", {}, "", "WATCH"),
    ("POST", "/api/v1/namespaces/a/pods", {}, "application/json", "POST"),
    ("PATCH", "/apis/apps/v1/namespaces/a/deployments/d", {},
     "application/apply-patch+yaml", "APPLY"),
    ("PATCH", "/apis/apps/v1/namespaces/a/deployments/d", {},
     "application/merge-patch+json", "PATCH"),
    ("DELETE", "/api/v1/namespaces/a/pods", {}, "", "DELETECOLLECTION"),
    ("POST", "/api/v1/namespaces/a/pods/p/exec", {}, "", "CONNECT"),
    ("GET", "/api/v1/namespaces/a/pods/p/log", {"follow": "true"}, "", "CONNECT"),
    ("GET", "/api/v1/namespaces/a/pods/p/log", {}, "", "GET"),
    ("GET", "/version", {}, "", "GET"),
])
def test_verbs(method, path, query, content_type, verb):
    assert metric_verb(method, parse_resource_path(path), query, content_type) == verb


def test_counts_durations_and_text():
    m = RequestMetrics()
    get = labels_for("GET", parse_resource_path("/api/v1/namespaces/a/pods/p"), {})
    assert get == ("GET", "", "", "v1", "pods", "", "resource", "apiserver")
    watch = labels_for("GET", parse_resource_path("/api/v1/pods"), {"watch": "1"})
    m.started(get)
    m.started(watch)
    assert m.inflight == {"readOnly": 2, "mutating": 0}
    m.finished(get, 200, 0.03)
    m.started(get)
    m.finished(get, 404, 2.5)

    class Ctx:
        watch_cache = None

    text = m.render(Ctx())
    assert 'apiserver_request_total{verb="GET",dry_run="",group="",version="v1",resource="pods",' \
           'subresource="",scope="resource",component="apiserver",code="404"} 1' in text
    prefix = 'apiserver_request_duration_seconds_bucket{verb="GET",dry_run="",group="",' \
             'version="v1",resource="pods",subresource="",scope="resource",component="apiserver",'
    assert prefix + 'le="0.025"} 0' in text and prefix + 'le="0.05"} 1' in text
    assert prefix + 'le="3"} 2' in text and prefix + 'le="+Inf"} 2' in text
    assert 'apiserver_longrunning_requests{verb="WATCH",dry_run="",group="",version="v1",' \
           'resource="pods",subresource="",scope="cluster",component="apiserver"} 1' in text
    assert 'apiserver_current_inflight_requests{request_kind="readOnly"} 1' in text
    assert "# TYPE apiserver_request_duration_seconds histogram" in text
    assert "process_resident_memory_bytes " in text and text.endswith("\n")
