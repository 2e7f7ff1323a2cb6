"""Domain errors. Each class carries the HTTP status the fault layer answers with."""

from glance.i18n import _


class GlanceException(Exception):
    """Base of every error glance raises on purpose.

    ``message`` is a template filled from the keyword arguments; ``code`` is the
    HTTP status the API answers with; ``headers`` are extra response headers.
    """

    code = 500
    message = _("An unknown error occurred.")
    headers: dict[str, str] = {}

    def __init__(self, message: str | None = None, **kwargs) -> None:
        self.kwargs = kwargs
        if message is None:
            message = self.message % kwargs if kwargs else self.message
        self.msg = message
        super().__init__(message)

    def __str__(self) -> str:
        return self.msg


class BadRequest(GlanceException):
    code = 400
    message = _("The request is invalid.")



class SchemaValidationError(BadRequest):
    pass


class MalformedJSON(BadRequest):
    message = _("Malformed JSON in request body.")


class InvalidSortKey(BadRequest):
    message = _("Invalid sort key: %(key)s. It must be one of the following: %(allowed)s.")


class InvalidSortDir(BadRequest):
    message = _("Invalid sort direction: %(value)s. It must be one of: asc, desc.")


class InvalidFilterOperator(BadRequest):
    message = _("Unable to filter on an unknown operator: %(op)s.")



class InvalidJsonPointer(BadRequest):
    message = _("Invalid JSON pointer for this resource: '%(pointer)s'")


class BodyNotExpected(BadRequest):
    message = _("A body is not expected with this request.")



class Forbidden(GlanceException):
    code = 403
    message = _("You are not authorized to complete this action.")


class PolicyNotAuthorized(Forbidden):
    message = _("You are not authorized to complete %(action)s action.")


class ReadonlyProperty(Forbidden):
    message = _("Attribute '%(name)s' is read-only.")


class ReservedProperty(Forbidden):
    message = _("Attribute '%(name)s' is reserved.")


class PropertyNotRemovable(Forbidden):
    message = _("Property %(name)s may not be removed.")


class ProtectedImageDelete(Forbidden):
    message = _("Image %(image_id)s is protected and cannot be deleted.")


class NotFound(GlanceException):
    code = 404
    message = _("The resource could not be found.")


class ImageNotFound(NotFound):
    message = _("No image found with ID %(image_id)s")


class MarkerNotFound(BadRequest):
    message = _("No image found with ID %(marker)s")


class TagNotFound(NotFound):
    message = _("Tag %(tag)s not found on image %(image_id)s.")




class Conflict(GlanceException):
    code = 409
    message = _("There was a conflict when trying to complete your request.")


class Duplicate(Conflict):
    message = _("An object with the same identifier already exists.")


class ImageIdExists(Duplicate):
    message = _("Image ID %(image_id)s already exists!")


class PropertyNotFound(Conflict):
    message = _("Property %(name)s does not exist.")


class InvalidImageStatusTransition(Conflict):
    message = _("Image status transition from %(current)s to %(target)s is not allowed")


class RequestEntityTooLarge(GlanceException):
    code = 413
    message = _("The request body is too large.")


class LimitExceeded(RequestEntityTooLarge):
    message = _("The limit has been exceeded on the number of allowed %(what)s. "
                "Attempted: %(attempted)s, Maximum: %(maximum)s")


class UnsupportedMediaType(GlanceException):
    code = 415
    message = _("Invalid content type %(content_type)s")


class ServiceUnavailable(GlanceException):
    code = 503
    message = _("The service is temporarily unavailable; try again shortly.")
    headers = {"Retry-After": "5"}


# -- metadefs


class MetadefNamespaceNotFound(NotFound):
    message = _("Metadata definition namespace=%(namespace)s was not found.")


class MetadefObjectNotFound(NotFound):
    message = _("The metadata definition object with name=%(name)s was not found in "
                "namespace=%(namespace)s.")


class MetadefPropertyNotFound(NotFound):
    message = _("The metadata definition property with name=%(name)s was not found in "
                "namespace=%(namespace)s.")


class MetadefTagNotFound(NotFound):
    message = _("The metadata definition tag with name=%(name)s was not found in "
                "namespace=%(namespace)s.")


class MetadefResourceTypeNotFound(NotFound):
    message = _("The metadata definition resource-type with name=%(name)s, was not "
                "found.")


class MetadefAssociationNotFound(NotFound):
    message = _("The metadata definition resource-type association of resource-type="
                "%(resource_type)s to namespace=%(namespace)s, was not found.")


class MetadefDuplicateNamespace(Duplicate):
    message = _("The metadata definition namespace=%(namespace)s already exists.")


class MetadefDuplicateObject(Duplicate):
    message = _("A metadata definition object with name=%(name)s already exists in "
                "namespace=%(namespace)s.")


class MetadefDuplicateProperty(Duplicate):
    message = _("A metadata definition property with name=%(name)s already exists in "
                "namespace=%(namespace)s.")


class MetadefDuplicateTag(Duplicate):
    message = _("A metadata tag with name=%(name)s already exists in "
                "namespace=%(namespace)s.")


class MetadefDuplicateResourceType(Duplicate):
    message = _("A metadata definition resource-type with name=%(name)s already exists.")


class MetadefDuplicateAssociation(Duplicate):
    message = _("The metadata definition resource-type association of resource-type="
                "%(resource_type)s to namespace=%(namespace)s already exists.")


class MetadefProtected(Forbidden):
    message = _("Metadata definition namespace %(namespace)s is protected: %(what)s "
                "cannot be deleted.")


class MetadefInvalid(BadRequest):
    message = _("Invalid metadata definition: %(reason)s")


class MetadefLoadError(GlanceException):
    message = _("Could not load metadata definitions: %(reason)s")
