"""Jobs, CronJobs and cron schedule parsing."""

from __future__ import annotations

import copy

import pytest

from pyk8s.apiserver.kinds import strategy_for
from pyk8s.apiserver.kinds.cron import CronError, parse_schedule

POD = {"spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox"}]}}


def job(name: str = "pi", **spec) -> dict:
    base = {"template": copy.deepcopy(POD)}
    base.update(spec)
    return {"metadata": {"name": name}, "spec": base}


def test_job_defaults_and_generated_selector(create):
    obj, errs = create("batch", "Job", job(), uid="u-1")
    assert errs == []
    spec = obj["spec"]
    expected_labels = {"batch.kubernetes.io/controller-uid": "u-1",
                       "batch.kubernetes.io/job-name": "pi", "controller-uid": "u-1",
                       "job-name": "pi"}
    assert spec["selector"] == {"matchLabels": {"batch.kubernetes.io/controller-uid": "u-1"}}
    assert spec["template"]["metadata"]["labels"] == expected_labels
    assert obj["metadata"]["labels"] == expected_labels
    for key, value in {"completions": 1, "parallelism": 1, "backoffLimit": 6,
                       "completionMode": "NonIndexed", "suspend": False,
                       "podReplacementPolicy": "TerminatingOrFailed"}.items():
        assert spec[key] == value, key
    assert obj["status"] == {}


def test_job_parallelism_only(create):
    obj, _ = create("batch", "Job", job(parallelism=3))
    assert "completions" not in obj["spec"]
    assert obj["spec"]["parallelism"] == 3


@pytest.mark.parametrize(
    "spec, expected",
    [
        ({"template": {"spec": {"containers": [{"name": "c", "image": "x"}]}}},
         ['spec.template.spec.restartPolicy: Unsupported value: "Always": supported values: '
          '"OnFailure", "Never"']),
        ({"parallelism": -1},
         ["spec.parallelism: Invalid value: -1: must be greater than or equal to 0"]),
        ({"completionMode": "Sometimes"},
         ['spec.completionMode: Unsupported value: "Sometimes": supported values: "NonIndexed", '
          '"Indexed"']),
        ({"manualSelector": True}, ["spec.selector: Required value"]),
        ({"manualSelector": True, "selector": {"matchLabels": {"a": "b"}}},
         ["spec.template.metadata.labels: Invalid value: {}: `selector` does not match template "
          "`labels`"]),
    ],
)
def test_job_validation(create, spec, expected):
    assert create("batch", "Job", job(**spec))[1] == expected


def test_job_name_too_long_for_label(create):
    _, errs = create("batch", "Job", job(name="j" * 64))
    name = "j" * 64
    too_long = f'spec.template.labels: Invalid value: "{name}": must be no more than 63 characters'
    assert too_long in errs


def test_job_template_is_immutable(create, update):
    old, _ = create("batch", "Job", job())
    new = copy.deepcopy(old)
    new["spec"]["template"]["spec"]["containers"][0]["image"] = "alpine"
    errs = update("batch", "Job", new, old)[1]
    assert len(errs) == 1 and errs[0].startswith("spec.template: Invalid value: ")
    assert errs[0].endswith(": field is immutable")
    suspended, _ = create("batch", "Job", job(suspend=True))
    new = copy.deepcopy(suspended)
    new["spec"]["template"]["spec"]["nodeSelector"] = {"zone": "a"}
    assert update("batch", "Job", new, suspended)[1] == []


def test_job_selectable_fields(create):
    obj, _ = create("batch", "Job", job())
    obj["status"] = {"succeeded": 2}
    assert strategy_for("batch", "Job").selectable_fields(obj) == {"status.successful": "2"}


def cronjob(name: str = "nightly", **spec) -> dict:
    base = {"schedule": "0 3 * * *", "jobTemplate": {"spec": {"template": copy.deepcopy(POD)}}}
    base.update(spec)
    return {"metadata": {"name": name}, "spec": base}


def test_cronjob_defaults(create):
    obj, errs = create("batch", "CronJob", cronjob())
    assert errs == []
    spec = obj["spec"]
    assert (spec["concurrencyPolicy"], spec["suspend"], spec["successfulJobsHistoryLimit"],
            spec["failedJobsHistoryLimit"]) == ("Allow", False, 3, 1)
    assert spec["jobTemplate"]["metadata"] == {"creationTimestamp": None}
    assert spec["jobTemplate"]["spec"]["template"]["spec"]["dnsPolicy"] == "ClusterFirst"
    assert "backoffLimit" not in spec["jobTemplate"]["spec"]


@pytest.mark.parametrize(
    "spec, expected",
    [
        ({"schedule": ""}, ["spec.schedule: Required value"]),
        ({"schedule": "* * * *"},
         ['spec.schedule: Invalid value: "* * * *": expected exactly 5 fields, found 4: '
          "[* * * *]"]),
        ({"schedule": "61 * * * *"},
         ['spec.schedule: Invalid value: "61 * * * *": end of range (61) above maximum (59): 61']),
        ({"schedule": "@weekly"}, []),
        ({"schedule": "TZ=UTC 0 * * * *"},
         ['spec.schedule: Invalid value: "TZ=UTC 0 * * * *": cannot use TZ or CRON_TZ in '
          "schedule, use timeZone field instead"]),
        ({"timeZone": "Mars/Olympus"},
         ['spec.timeZone: Invalid value: "Mars/Olympus": unknown time zone Mars/Olympus']),
        ({"timeZone": "Europe/Paris"}, []),
        ({"concurrencyPolicy": "Sometimes"},
         ['spec.concurrencyPolicy: Unsupported value: "Sometimes": supported values: "Allow", '
          '"Forbid", "Replace"']),
        ({"jobTemplate": {"spec": {"template": {"spec": {
            "containers": [{"name": "c", "image": "x"}]}}}}},
         ['spec.jobTemplate.spec.template.spec.restartPolicy: Unsupported value: "Always": '
          'supported values: "OnFailure", "Never"']),
    ],
)
def test_cronjob_validation(create, spec, expected):
    assert create("batch", "CronJob", cronjob(**spec))[1] == expected


def test_cronjob_name_length(create):
    _, errs = create("batch", "CronJob", cronjob(name="c" * 53))
    assert errs == ['metadata.name: Invalid value: "' + "c" * 53 + '": must be no more than 52 '
                    "characters"]


@pytest.mark.parametrize(
    "spec, message",
    [
        ("", "empty spec string"),
        ("@often", "unrecognized descriptor: @often"),
        ("* * * * * *", "expected exactly 5 fields, found 6: [* * * * * *]"),
        ("x * * * *", 'failed to parse int from x: strconv.Atoi: parsing "x": invalid syntax'),
        ("5-1 * * * *", "beginning of range (5) beyond end of range (1): 5-1"),
        ("*/0 * * * *", "step of range should be a positive number: */0"),
        ("0 0 0 * *", "beginning of range (0) below minimum (1): 0"),
        ("0 0 * * 7", "end of range (7) above maximum (6): 7"),
        ("1-2-3 * * * *", "too many hyphens: 1-2-3"),
        ("1/2/3 * * * *", "too many slashes: 1/2/3"),
        ("-1 * * * *", 'failed to parse int from : strconv.Atoi: parsing "": invalid syntax'),
    ],
)
def test_cron_errors(spec, message):
    with pytest.raises(CronError) as err:
        parse_schedule(spec)
    assert str(err.value) == message


def test_cron_fields():
    s = parse_schedule("*/15 9-17 * jan,JUL mon-fri")
    assert s.minutes == {0, 15, 30, 45}
    assert s.hours == set(range(9, 18))
    assert s.day_star and not s.weekday_star
    assert s.months == {1, 7}
    assert s.weekdays == {1, 2, 3, 4, 5}
    assert parse_schedule("@hourly").minutes == {0}
    assert parse_schedule("@every 1h30m").every_seconds == 5400
    assert parse_schedule("CRON_TZ=UTC 0 0 * * *").timezone == "UTC"
