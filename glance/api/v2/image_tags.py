"""``/v2/images/{image_id}/tags/{tag}``: add and remove single tags."""

from typing import Any

from glance import exception
from glance.api import wsgi
from glance.api.v2.images import check_image_id
from glance.services.images import ImageService

MAX_TAG_LENGTH = 255


class RequestDeserializer:
    def update(self, request: wsgi.Request) -> dict[str, Any]:
        if request.has_body():
            raise exception.BodyNotExpected()
        return {}



class TagsController:
    """PUT adds a tag (idempotent); DELETE removes it (404 when absent)."""

    def __init__(self, service: ImageService) -> None:
        self.service = service

    def update(self, request: wsgi.Request, image_id: str, tag_value: str) -> None:
        check_image_id(image_id)
        if len(tag_value) > MAX_TAG_LENGTH:
            raise exception.BadRequest(
                f"Tag is too long: {len(tag_value)} characters; the maximum is "
                f"{MAX_TAG_LENGTH}.")
        self.service.add_tag(request.context, image_id, tag_value)

    def delete(self, request: wsgi.Request, image_id: str, tag_value: str) -> None:
        check_image_id(image_id)
        self.service.delete_tag(request.context, image_id, tag_value)


def create_resource(service: ImageService) -> wsgi.Resource:
    return wsgi.Resource(TagsController(service), RequestDeserializer())
