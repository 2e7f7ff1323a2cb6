"""``/v2/tasks`` and ``/v2/images/{id}/tasks``: create, list and show tasks."""

import uuid
from typing import Any

import webob

from glance import exception, schema
from glance.api import wsgi
from glance.api.v2 import list_params
from glance.api.v2.images import check_image_id
from glance.db.queries import TASK_SORT_KEYS, TaskFilter, TaskQuery
from glance.domain import task as domain
from glance.services.access import ImageAccess
from glance.services.tasks import TaskService

SUMMARY_FIELDS = ("id", "type", "status", "owner", "created_at", "updated_at")


# -- schemas -----------------------------------------------------------------------------

def _task_properties() -> dict[str, dict]:
    uuid_string = {"type": "string", "pattern": schema.UUID_PATTERN}
    return {
        "id": {**uuid_string, "description": "An identifier for the task."},
        "type": {"type": "string", "enum": list(domain.TYPES),
                 "description": "The type of task represented by this content."},
        "status": {"type": "string", "enum": list(domain.STATUSES), "readOnly": True,
                   "description": "The current status of this task."},
        "input": {"type": "object",
                  "description": "The parameters required by the task, JSON blob."},
        "result": {"type": ["null", "object"], "readOnly": True,
                   "description": "The result of the current task, JSON blob."},
        "owner": {"type": "string", "readOnly": True,
                  "description": "An identifier for the owner of this task."},
        "message": {"type": "string", "readOnly": True,
                    "description": "Human-readable informative message only included "
                                   "when appropriate (usually on failure)."},
        "image_id": {"type": ["null", "string"], "readOnly": True,
                     "description": "Image associated with the task."},
        "request_id": {"type": ["null", "string"], "readOnly": True,
                       "description": "Request id of the call that created the task."},
        "user_id": {"type": ["null", "string"], "readOnly": True,
                    "description": "User that created the task."},
        "expires_at": {"type": ["null", "string"], "readOnly": True,
                       "description": "When the task stops being visible (set when "
                                      "the task ends)."},
        "created_at": {"type": "string", "readOnly": True,
                       "description": "When the task was created."},
        "updated_at": {"type": "string", "readOnly": True,
                       "description": "When the task was last updated."},
        "self": {"type": "string", "readOnly": True},
        "schema": {"type": "string", "readOnly": True},
    }


def task_schema() -> dict:
    """The ``task`` schema document."""
    return {"name": "task", "properties": _task_properties(),
            "links": [{"href": "{self}", "rel": "self"},
                      {"href": "{schema}", "rel": "describedby"}]}


def tasks_schema() -> dict:
    """The ``tasks`` schema document (list items carry no input/result/message)."""
    item = task_schema()
    item["properties"] = {name: value for name, value in item["properties"].items()
                          if name not in ("input", "result", "message")}
    return schema.collection_schema("tasks", item)


# -- views -------------------------------------------------------------------------------

def _summary(task: domain.Task) -> dict[str, Any]:
    view: dict[str, Any] = {name: getattr(task, name) for name in SUMMARY_FIELDS}
    if task.expires_at is not None:
        view["expires_at"] = task.expires_at
    view["self"] = f"/v2/tasks/{task.id}"
    view["schema"] = "/v2/schemas/task"
    return view


def task_view(task: domain.Task) -> dict[str, Any]:
    """A task with its input, result and message (image_id, request_id and user_id
    only when set, as OpenStack Glance shows them)."""
    view = _summary(task)
    view.update(input=task.input, result=task.result, message=task.message)
    for name in ("image_id", "request_id", "user_id"):
        if getattr(task, name):
            view[name] = getattr(task, name)
    return view


# -- the resource ------------------------------------------------------------------------

class RequestDeserializer:
    def create(self, request: wsgi.Request) -> dict[str, Any]:
        body = request.json_object()
        for name in body:
            if name in ("type", "input"):
                continue
            if name in _task_properties():
                raise exception.Forbidden(f"Attribute '{name}' is read-only.")
            raise exception.BadRequest(f"Unexpected attribute in a task: '{name}'.")
        for name in ("type", "input"):
            if name not in body:
                raise exception.BadRequest(f"Task is missing the required '{name}'.")
        schema.validate(task_schema(), body)
        return {"task_type": body["type"], "task_input": body["input"]}

    def index(self, request: wsgi.Request) -> dict[str, Any]:
        params = request.params
        query = TaskQuery(limit=list_params.parse_limit(params.get("limit")),
                          marker=params.get("marker"))
        query.sort = list_params.parse_sort(params, TASK_SORT_KEYS, [("created_at", "desc")])
        for name, allowed in (("status", domain.STATUSES), ("type", domain.TYPES)):
            if name in params:
                value = params[name]
                if value not in allowed:
                    raise exception.BadRequest(f"Invalid {name} value: {value}")
                query.filters.append(TaskFilter(name, value))
        return {"query": query}


def _check_task_id(task_id: str) -> None:
    try:
        uuid.UUID(task_id)
    except ValueError as err:
        raise exception.TaskNotFound(task_id=task_id) from err


class TasksController:
    def __init__(self, service: TaskService, access: ImageAccess) -> None:
        self.service = service
        self.access = access

    def create(self, request: wsgi.Request, task_type: str, task_input: Any) -> domain.Task:
        return self.service.create(request.context, task_type, task_input)

    def index(self, request: wsgi.Request, query: TaskQuery) -> tuple[list[domain.Task], int]:
        return self.service.list(request.context, query), query.limit

    def show(self, request: wsgi.Request, task_id: str) -> domain.Task:
        _check_task_id(task_id)
        return self.service.get(request.context, task_id)

    def image_tasks(self, request: wsgi.Request, image_id: str) -> list[domain.Task]:
        check_image_id(image_id)
        image = self.access.get(request.context, image_id)
        return self.service.for_image(request.context, image.id)


class ResponseSerializer:
    def create(self, response: webob.Response, task: domain.Task) -> None:
        wsgi.json_response(response, task_view(task), status=201)
        response.location = f"/v2/tasks/{task.id}"

    def show(self, response: webob.Response, task: domain.Task) -> None:
        wsgi.json_response(response, task_view(task))

    def index(self, response: webob.Response,
              result: tuple[list[domain.Task], int]) -> None:
        tasks, limit = result
        views = [_summary(task) for task in tasks]
        document: dict[str, Any] = {"tasks": views}
        document.update(list_params.page_links("/v2/tasks", response.request.params,
                                               views, limit))
        document["schema"] = "/v2/schemas/tasks"
        wsgi.json_response(response, document)

    def image_tasks(self, response: webob.Response, tasks: list[domain.Task]) -> None:
        wsgi.json_response(response, {"tasks": [task_view(task) for task in tasks]})


def create_resource(service: TaskService, access: ImageAccess) -> wsgi.Resource:
    """The tasks resource for the router."""
    return wsgi.Resource(TasksController(service, access), RequestDeserializer(),
                         ResponseSerializer())
