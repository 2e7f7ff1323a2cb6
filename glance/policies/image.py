"""Policy rules for images: metadata, data, actions and locations."""

from glance.policies import base
from glance.policies.base import rule

_IMAGES = "/v2/images"
_IMAGE = "/v2/images/{image_id}"

rules = [
    rule("add_image", base.ADMIN_OR_PROJECT_MEMBER_CREATE,
         "Create an image owned by the caller's project (administrators may name "
         "another owner).", [("POST", _IMAGES)]),
    rule("add_image_with_id", base.ADMIN_OR_PROJECT_MEMBER_CREATE,
         "Create an image with an id chosen by the caller (the \"id\" attribute of the "
         "request body). Ids are never reused; set this to \"role:admin\" so that "
         "nobody can reserve ids ahead of time.", [("POST", _IMAGES)], legacy=False),
    rule("get_images", base.ADMIN_OR_PROJECT_READER,
         "List the images the caller can see.", [("GET", _IMAGES)]),
    rule("get_image", base.ADMIN_OR_READER_OF_VISIBLE_IMAGE,
         "Show an image. Images the caller may not see answer 404.",
         [("GET", _IMAGE)]),
    rule("modify_image", base.ADMIN_OR_PROJECT_MEMBER,
         "Change an image's attributes, properties or tags.",
         [("PATCH", _IMAGE), ("PUT", _IMAGE + "/tags/{tag}"),
          ("DELETE", _IMAGE + "/tags/{tag}")]),
    rule("delete_image", base.ADMIN_OR_PROJECT_MEMBER, "Delete an image.",
         [("DELETE", _IMAGE)]),
    rule("delete_deactivated_image", base.ADMIN_OR_PROJECT_MEMBER,
         "Delete an image that is deactivated (checked after delete_image). Set it "
         "to \"role:admin\" to keep deactivated images, and their data, for an "
         "investigation.", [("DELETE", _IMAGE)], legacy=False),
    rule("publicize_image", base.ADMIN,
         "Give an image the 'public' visibility (on create or update).",
         [("POST", _IMAGES), ("PATCH", _IMAGE)], legacy=False),
    rule("communitize_image", base.ADMIN_OR_PROJECT_MEMBER,
         "Give an image the 'community' visibility (on create or update).",
         [("POST", _IMAGES), ("PATCH", _IMAGE)]),
    rule("upload_image", base.ADMIN_OR_PROJECT_MEMBER, "Upload image data.",
         [("PUT", _IMAGE + "/file"), ("PUT", _IMAGE + "/stage")]),
    rule("download_image", base.ADMIN_OR_MEMBER_OF_VISIBLE_IMAGE,
         "Download image data.", [("GET", _IMAGE + "/file")]),
    rule("deactivate", base.ADMIN_OR_PROJECT_MEMBER, "Deactivate an image.",
         [("POST", _IMAGE + "/actions/deactivate")]),
    rule("reactivate", base.ADMIN_OR_PROJECT_MEMBER, "Reactivate an image.",
         [("POST", _IMAGE + "/actions/reactivate")]),
    rule("get_image_location", base.ADMIN_OR_PROJECT_READER,
         "Read an image's locations (when locations are shown).",
         [("GET", _IMAGE)]),
    rule("set_image_location", base.ADMIN_OR_PROJECT_MEMBER,
         "Add or replace an image's locations with a JSON patch.",
         [("PATCH", _IMAGE)]),
    rule("delete_image_location", base.ADMIN,
         "Remove a location from an image with a JSON patch.", [("PATCH", _IMAGE)]),
    rule("add_image_location", f"{base.ADMIN_OR_PROJECT_MEMBER} or {base.SERVICE}",
         "Add a location to a queued image (the locations API).",
         [("POST", _IMAGE + "/locations")], legacy=False),
    rule("fetch_image_location", f"{base.ADMIN} or {base.SERVICE}",
         "List an image's locations with their store metadata (the locations API).",
         [("GET", _IMAGE + "/locations")], legacy=False),
    rule("copy_image", base.ADMIN, "Copy an existing image's data to other stores.",
         [("POST", _IMAGE + "/import")], legacy=False),
]


def list_rules() -> list:
    """Image rules."""
    return rules
