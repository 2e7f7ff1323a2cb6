"""Policy rules for the tasks API (deprecated API; admin-only by default).

Only ``tasks_api_access`` is checked, before every tasks call, as in Glance since
Xena. ``get_task``, ``get_tasks``, ``add_task`` and ``modify_task`` stay
registered (default ``rule:default``) so that policy files naming them still
load, but they decide nothing.
"""

from glance.policies import base
from glance.policies.base import rule

_TASKS = "/v2/tasks"
_TASK = "/v2/tasks/{task_id}"
_UNCHECKED = " Not checked: tasks_api_access decides (kept for existing policy files)."
_DEPRECATED_REASON = ("Only tasks_api_access is checked for the tasks API; the per-call "
                      "task rules have no effect.")


def _unchecked(name: str, description: str, method: str, path: str):
    return rule(name, base.DEFAULT, description + _UNCHECKED, [(method, path)],
                deprecated_rule=base.deprecated(name, base.DEFAULT, _DEPRECATED_REASON,
                                                base.XENA))


rules = [
    _unchecked("get_task", "Show a task.", "GET", _TASK),
    _unchecked("get_tasks", "List tasks.", "GET", _TASKS),
    _unchecked("add_task", "Create a task.", "POST", _TASKS),
    rule("modify_task", base.DEFAULT, "Change a task." + _UNCHECKED,
         [("DELETE", _TASK)], legacy=False, deprecated_for_removal=True,
         deprecated_reason="It was never checked by the API and will be removed.",
         deprecated_since=base.WALLABY),
    rule("tasks_api_access", base.ADMIN,
         "Use the tasks API at all: checked before every tasks call, for reading "
         "and writing alike.",
         [("GET", _TASK), ("GET", _TASKS), ("POST", _TASKS), ("DELETE", _TASK)],
         legacy=False),
]


def list_rules() -> list:
    """Task rules."""
    return rules
