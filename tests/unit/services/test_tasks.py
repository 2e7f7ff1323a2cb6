"""TaskService runs only the task types it is given (glance.services.tasks)."""

from types import SimpleNamespace

import pytest

from glance import exception
from glance.services.tasks import TaskService, TaskType


class RecordingLifecycle:
    """Records what TaskService asks of the task life cycle (no database)."""

    def __init__(self, interrupted: list[dict] | None = None) -> None:
        self.calls: list[tuple] = []
        self.interrupted = interrupted or []

    def new_task(self, context, task_type, task_input, image_id=None, owner=None):
        self.calls.append(("new", task_type, task_input))
        return SimpleNamespace(id="t1", type=task_type, input=task_input)

    def submit(self, task, run):
        self.calls.append(("submit", task.id, run))

    def fail(self, task_id, message, expected_status=None, result=None):
        self.calls.append(("fail", task_id, message))

    def recover_interrupted(self, on_failed=None):
        for record in self.interrupted:
            on_failed(record)
        return [r["id"] for r in self.interrupted]


class AllowAll:
    def __init__(self) -> None:
        self.calls: list[str] = []

    def authorize(self, context, action, target):
        self.calls.append(action)


def _service(task_types, lifecycle=None):
    lifecycle = lifecycle or RecordingLifecycle()
    return TaskService(lifecycle, task_types, AllowAll(), db=None), lifecycle


def _run(task):
    return None


def test_a_runnable_type_checks_its_input_then_runs():
    seen = []

    def check(task_input):
        seen.append(task_input)
        return {**task_input, "checked": True}

    service, lifecycle = _service({"import": TaskType(run=_run, check_input=check)})
    service.create(None, "import", {"a": 1})
    assert seen == [{"a": 1}]
    assert lifecycle.calls == [("new", "import", {"a": 1, "checked": True}),
                               ("submit", "t1", _run)]
    assert service.policy.calls == ["tasks_api_access"]


def test_bad_input_creates_no_task():
    def check(task_input):
        raise exception.BadRequest("no")

    service, lifecycle = _service({"import": TaskType(run=_run, check_input=check)})
    with pytest.raises(exception.BadRequest):
        service.create(None, "import", {})
    assert lifecycle.calls == []


@pytest.mark.parametrize("task_type", ["api_image_import", "location_import", "other"])
def test_types_the_tasks_api_cannot_run_fail_at_once(task_type):
    service, lifecycle = _service({"api_image_import": TaskType(clean_up=print)})
    service.create(None, task_type, {"x": 1})
    assert [c[0] for c in lifecycle.calls] == ["new", "fail"]
    assert "can only be created by the image import API" in lifecycle.calls[1][2]


def test_recovery_cleans_up_through_the_type_of_each_task():
    cleaned = []
    lifecycle = RecordingLifecycle([{"id": "a", "type": "import"},
                                    {"id": "b", "type": "location_import"},
                                    {"id": "c", "type": None}])
    service, _ = _service({"import": TaskType(run=_run, clean_up=cleaned.append)}, lifecycle)
    assert service.recover_interrupted() == ["a", "b", "c"]
    assert cleaned == [{"id": "a", "type": "import"}]
