"""Policy rules for the tasks API.

``tasks_api_access`` gates the whole API; the per-call rules then apply to the
task, whose ``project_id`` is its owner.
"""

from glance.policies import base
from glance.policies.base import rule

rules = [
    rule("tasks_api_access", base.ADMIN,
         "Use the tasks API at all (checked before the per-call rules).",
         [("GET", "/v2/tasks"), ("POST", "/v2/tasks"), ("GET", "/v2/tasks/{task_id}")],
         legacy=False),
    rule("get_tasks", base.ADMIN_OR_PROJECT_READER, "List tasks.",
         [("GET", "/v2/tasks")]),
    rule("get_task", base.ADMIN_OR_PROJECT_READER, "Show a task.",
         [("GET", "/v2/tasks/{task_id}")]),
    rule("add_task", base.ADMIN_OR_PROJECT_MEMBER, "Create a task.",
         [("POST", "/v2/tasks")]),
    rule("modify_task", base.ADMIN_OR_PROJECT_MEMBER,
         "Change a task (used by the import flows).", [("PUT", "/v2/tasks/{task_id}")]),
]


def list_rules() -> list:
    """Task rules."""
    return rules
