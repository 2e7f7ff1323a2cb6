"""Policy rules for images: metadata, data, actions and locations.

Two rules are ours, not Glance's: ``add_image_with_id`` and
``delete_deactivated_image``. Their defaults refer to the Glance rule checked
just before them (``rule:add_image``, ``rule:delete_image``), so they change
nothing until an operator sets them, and follow any override of that rule.
"""

from glance.policies import base
from glance.policies.base import rule

_IMAGES = "/v2/images"
_IMAGE = "/v2/images/{image_id}"

rules = [
    rule("add_image", base.ADMIN_OR_PROJECT_MEMBER_CREATE,
         "Create an image owned by the caller's project (administrators may name "
         "another owner).", [("POST", _IMAGES)]),
    rule("add_image_with_id", "rule:add_image",
         "Create an image with an id chosen by the caller (the \"id\" attribute of the "
         "request body); checked after add_image. Ids are never reused; set this to "
         "\"rule:context_is_admin\" so that nobody else can reserve ids ahead of time.",
         [("POST", _IMAGES)], legacy=False),
    rule("delete_image", base.ADMIN_OR_PROJECT_MEMBER, "Delete an image.",
         [("DELETE", _IMAGE)]),
    rule("delete_deactivated_image", "rule:delete_image",
         "Delete an image that is deactivated; checked after delete_image. Set it to "
         "\"rule:context_is_admin\" to keep deactivated images, and their data, for "
         "an investigation.", [("DELETE", _IMAGE)], legacy=False),
    rule("get_image", base.ADMIN_OR_READER_OF_VISIBLE_IMAGE,
         "Show an image (also checked before every other call on one image). "
         "Images the caller may not see answer 404.", [("GET", _IMAGE)]),
    rule("get_images", base.ADMIN_OR_PROJECT_READER,
         "List the images the caller can see.", [("GET", _IMAGES)]),
    rule("modify_image", base.ADMIN_OR_PROJECT_MEMBER,
         "Change an image's attributes or properties (each change of a JSON patch "
         "other than to /locations), add or remove a tag, stage data, or import "
         "data by any method but copy-image.", [("PATCH", _IMAGE)]),
    rule("publicize_image", base.ADMIN,
         "Give an image the 'public' visibility (on create or update).",
         [("PATCH", _IMAGE)], legacy=False),
    rule("communitize_image", base.ADMIN_OR_PROJECT_MEMBER,
         "Give an image the 'community' visibility (on create or update).",
         [("PATCH", _IMAGE)]),
    rule("download_image", base.ADMIN_OR_MEMBER_OF_VISIBLE_IMAGE,
         "Download image data.", [("GET", _IMAGE + "/file")]),
    rule("download_from_store", base.ADMIN_OR_MEMBER_OF_VISIBLE_IMAGE,
         "Download image data from the stores the caller prefers "
         "(GET /v2/images/{image_id}/file?prefer=<store ids>).",
         [("GET", _IMAGE + "/file")], legacy=False),
    rule("upload_image", base.ADMIN_OR_PROJECT_MEMBER, "Upload image data.",
         [("PUT", _IMAGE + "/file")]),
    rule("delete_image_location", base.ADMIN,
         "Remove a location from an image (JSON patch, or removing one store's "
         "copy of the data).", [("PATCH", _IMAGE)]),
    rule("get_image_location", base.ADMIN_OR_PROJECT_READER,
         "Read an image's locations (when locations are shown).",
         [("GET", _IMAGE)]),
    rule("set_image_location", base.ADMIN_OR_PROJECT_MEMBER,
         "Add or replace an image's locations with a JSON patch.",
         [("PATCH", _IMAGE)]),
    rule("add_image_location", base.SERVICE_OR_PROJECT_MEMBER_CREATE,
         "Add a location to a queued image (the locations API).",
         [("POST", _IMAGE + "/locations")], legacy=False),
    rule("fetch_image_location", base.SERVICE,
         "List an image's locations with their store metadata (the locations API).",
         [("GET", _IMAGE + "/locations")], legacy=False),
    rule("deactivate", base.ADMIN_OR_PROJECT_MEMBER, "Deactivate an image.",
         [("POST", _IMAGE + "/actions/deactivate")]),
    rule("reactivate", base.ADMIN_OR_PROJECT_MEMBER, "Reactivate an image.",
         [("POST", _IMAGE + "/actions/reactivate")]),
    rule("copy_image", base.ADMIN, "Copy an existing image's data to other stores "
         "(the copy-image import method).", [("POST", _IMAGE + "/import")],
         legacy=False),
]


def list_rules() -> list:
    """Image rules."""
    return rules
