"""``/v2/schemas/...``: the very schemas the API validates with."""

from collections.abc import Callable

from glance import exception, schema
from glance.api import wsgi
from glance.api.v2 import image_members, tasks
from glance.api.v2.metadefs import schemas as metadef_schemas

# name -> function returning the schema document. Other resources add theirs here.
SCHEMAS: dict[str, Callable[[], dict]] = {
    "image": schema.image_schema,
    "images": schema.images_schema,
    "member": image_members.member_schema,
    "members": image_members.members_schema,
    "task": tasks.task_schema,
    "tasks": tasks.tasks_schema,
    **metadef_schemas.SCHEMAS,
}


class SchemasController:
    def show(self, request: wsgi.Request, name: str) -> dict:
        if name not in SCHEMAS:
            raise exception.NotFound(f"Schema {name} not found.")
        return SCHEMAS[name]()


def create_resource() -> wsgi.Resource:
    return wsgi.Resource(SchemasController())
