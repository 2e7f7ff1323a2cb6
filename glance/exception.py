"""Every error class of glance, grouped by area.

Each ``GlanceException`` carries the HTTP status the fault layer answers with
(``glance/api/faults.py``); tests/unit/test_exception.py keeps them all here.
"""

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


# -- Generic errors, by HTTP status, and their common refinements


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


class StageHostUnavailable(GlanceException):
    """The API node holding an image's staged data did not answer (distributed import)."""

    code = 504
    message = _("Stage host is unavailable")


class StageHostFailed(StageHostUnavailable):
    """The stage host's answer could not be read."""

    code = 502


class ForwardedError(GlanceException):
    """The stage host refused a forwarded call: its status and message, passed on."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


# -- Metadata definitions (metadefs)


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


# -- Request bodies and HTTP framing (glance/api/wsgi.py reads them)


class RequestTimeout(GlanceException):
    code = 408
    message = "The client did not send the request body in time."
    headers = {"Connection": "close"}


class BodyReadError(BadRequest):
    message = "The request body could not be read: the client went away."
    headers = {"Connection": "close"}


class BadChunkedBody(BadRequest):
    message = ("The chunked framing of the request body is not valid HTTP/1.1 "
               "(%(reason)s).")
    headers = {"Connection": "close"}


class BodyTooLarge(RequestEntityTooLarge):
    message = "The request body is larger than %(limit)s bytes."


class UwsgiChunkedReadError(BadRequest):
    message = ("The chunked request body could not be read: its framing is not valid "
               "HTTP/1.1, or the client went away.")


# -- Image data: upload, download, ranges


class ClientDisconnected(BadRequest):
    message = "The client stopped sending image data before the upload was complete."


class ImageGone(GlanceException):
    code = 410
    message = ("Image %(image_id)s could not be found after upload. The image may have "
               "been deleted during the upload.")


class ImageDeactivated(Forbidden):
    message = ("The requested image has been deactivated. Image data download is "
               "forbidden.")


class ActionNotAllowed(Forbidden):
    message = "Not allowed to %(action)s image in status '%(status)s'"


class RangeNotSatisfiable(GlanceException):
    code = 416
    message = "Requested range not satisfiable"

    def __init__(self, size: int, message: str | None = None) -> None:
        super().__init__(message)
        self.headers = {"Content-Range": f"bytes */{size}"}


class FormatsRequired(BadRequest):
    message = "%(what)s must be set prior to saving data."


class InvalidImageFormat(BadRequest):
    message = "Image data is not acceptable: %(reason)s"


# -- Stores (glance/store.py turns glance_store errors into these)


class StorageFull(RequestEntityTooLarge):
    message = "Image storage media is full: %(reason)s"


class StorageWriteDenied(ServiceUnavailable):
    message = "Insufficient permissions on image storage media: %(reason)s"


class StoreAddDisabled(GlanceException):
    code = 410
    message = "Error in store configuration. Adding images to store is disabled."


class UnknownStore(BadRequest):
    message = "Store for identifier %(store)s not found"


class DataNotFound(NotFound):
    message = "Image data for image %(image_id)s was not found in the store."


class StoreFailure(ServiceUnavailable):
    message = "The image store failed: %(reason)s"


class InvalidLocation(BadRequest):
    message = "Invalid location: %(reason)s"


# -- Quotas


class ImageSizeLimitExceeded(RequestEntityTooLarge):
    message = "The incoming image is too large: The provided image is too large."


class ProjectOverLimit(RequestEntityTooLarge):
    """A Keystone unified limit of the project would be crossed (oslo.limit's
    message as ``body``)."""

    message = ("The request returned a 413 Request Entity Too Large. This generally "
               "means that rate limiting or a quota threshold was breached.\n\n"
               "The response body:\n%(body)s")


class LimitsUnavailable(ServiceUnavailable):
    message = "The project's limits could not be read from Keystone: %(reason)s"


class StorageQuotaFull(RequestEntityTooLarge):
    message = ("Image exceeds the storage quota: The size of the data %(size)s will "
               "exceed the limit. %(remaining)s bytes remaining.")


# -- Locations


class LastLocation(Forbidden):
    message = "Cannot remove last location in the image."


class EmptyLocations(Forbidden):
    message = "Cannot set locations to empty list."


class LocationsHidden(Forbidden):
    message = "It's not allowed to %(action)s locations if locations are invisible."


class DuplicateLocation(BadRequest):
    message = "The location %(url)s already exists"


class LocationsNotEmpty(BadRequest):
    message = "Original locations is not empty: %(urls)s"


class InvalidValidationData(BadRequest):
    message = "Invalid validation_data: %(reason)s"


class ValidationDataConflict(Conflict):
    message = "Image already has %(name)s %(current)s; validation_data says %(claim)s"


class NormalUserHttpOnly(Forbidden):
    message = "http store must be enabled to use location API by normal user."


class ImageHasActiveTask(Conflict):
    message = "Image has active task"


class ImageHasLocation(Conflict):
    message = "Image %(image_id)s already has a location."


# -- Import and web-download


class SignatureVerificationFailed(BadRequest):
    """The image data does not match its ``img_signature``, or the signature cannot be
    checked (unknown certificate, hash method or key type)."""

    message = _("Signature verification failed for image %(image_id)s: %(reason)s")


class ImportFailed(GlanceException):
    message = "Image import failed: %(reason)s"


class UnknownImportMethod(BadRequest):
    message = "Unknown import method name '%(method)s'."


class URLRefused(BadRequest):
    message = "URI for %(purpose)s does not pass filtering: %(url)s"


class DownloadFailed(GlanceException):
    message = "Failed to download %(url)s: %(reason)s"


# -- Tasks


class InvalidTaskStatusTransition(Conflict):
    message = "Task status transition from %(current)s to %(target)s is not allowed"


class TaskNotFound(NotFound):
    message = "Task with the given id %(task_id)s was not found"


class TaskMarkerNotFound(BadRequest):
    message = "Task with the given id %(marker)s was not found"


# -- Cache


class CacheDisabled(NotFound):
    message = "Caching via API is not supported at this site."


class NotQueueable(BadRequest):
    message = "Only images with status active can be targeted for queueing."


class BadClearTarget(BadRequest):
    message = ("If provided, 'x-image-cache-clear-target' must be 'cache', 'queue', "
               "'both' or empty.")


# -- Scrubber (restore of pending_delete images)


class NotRestorable(Conflict):
    message = ("Image %(image_id)s cannot be restored: it is %(status)s, and only a "
               "pending_delete image can be put back to active.")


class NothingToRestore(Conflict):
    message = ("Image %(image_id)s cannot be restored: the data of all its locations "
               "has already been scrubbed.")


# -- Policy


class InvalidScope(PolicyNotAuthorized):
    """The token's scope (e.g. system) is not one the rule accepts: always 403."""

    message = "You are not authorized to complete %(action)s action with a token of " \
              "this scope."
