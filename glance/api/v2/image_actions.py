"""``/v2/images/{id}/actions/{deactivate,reactivate}``."""

from glance.api import wsgi
from glance.api.v2.images import check_image_id
from glance.services.image_data import ImageDataService


class ImageActionsController:
    """Deactivate and reactivate; both answer 204 with no body."""

    def __init__(self, service: ImageDataService) -> None:
        self.service = service

    def deactivate(self, request: wsgi.Request, image_id: str) -> None:
        check_image_id(image_id)
        self.service.deactivate(request.context, image_id)

    def reactivate(self, request: wsgi.Request, image_id: str) -> None:
        check_image_id(image_id)
        self.service.reactivate(request.context, image_id)


def create_resource(service: ImageDataService) -> wsgi.Resource:
    """The image actions resource for the router."""
    return wsgi.Resource(ImageActionsController(service))
