"""[DEFAULT] options that shape the Images API's behaviour and limits."""

from oslo_config import cfg

opts = [
    cfg.IntOpt(
        "limit_param_default",
        default=25,
        min=1,
        help="""
Number of items a list call returns when the request has no ``limit``.

Related options:
    * api_limit_max
"""),
    cfg.IntOpt(
        "api_limit_max",
        default=1000,
        min=1,
        help="""
Largest number of items one list call returns; a larger ``limit`` is
lowered to this value.

Related options:
    * limit_param_default
"""),
    cfg.IntOpt(
        "max_list_filters",
        default=100,
        min=1,
        help="""
Largest number of filters one list call (``GET /v2/images``) may use: every
``tag``, every property filter and every other filter parameter (``name``,
``status``, ``size_min``, ``created_at`` ...) counts once each time it appears
(an ``in:`` list is one filter); ``limit``, ``marker``, the sort parameters,
``visibility`` and ``member_status`` do not count. A list over the limit is
answered 400. Each filter is a condition the database evaluates for every
candidate image, so this bounds the cost of one request.

This is not an OpenStack Glance option (Glance has no such limit).

Related options:
    * api_limit_max
"""),
    cfg.IntOpt(
        "image_property_quota",
        default=128,
        help="""
Largest number of additional properties one image may carry.
A negative value means no limit.
"""),
    cfg.IntOpt(
        "image_tag_quota",
        default=128,
        help="""
Largest number of tags one image may carry. A negative value means no limit.
"""),
    cfg.IntOpt(
        "image_member_quota",
        default=128,
        help="""
Largest number of projects one image may be shared with. A negative value
means no limit.
"""),
    cfg.IntOpt(
        "image_location_quota",
        default=10,
        help="""
Largest number of locations one image may have. A negative value means no
limit.
"""),
    cfg.IntOpt(
        "image_size_cap",
        default=1099511627776,
        min=1,
        max=9223372036854775808,
        help="""
Largest image size, in bytes, that may be uploaded (default 1 TiB).
"""),
    cfg.StrOpt(
        "user_storage_quota",
        default="0",
        help="""
Total bytes of image data one project may store, across all its images.
Accepts a unit suffix: B, KB, MB, GB or TB (``20GB``). ``0`` means no limit.
"""),
    cfg.BoolOpt(
        "show_image_direct_url",
        default=False,
        help="""
Show the ``direct_url`` of an image's first location in image bodies.
Location URLs may reveal store details; keep off unless a consumer needs it.
"""),
    cfg.BoolOpt(
        "show_multiple_locations",
        default=False,
        deprecated_for_removal=True,
        deprecated_since="Newton",
        deprecated_reason="Exposing and changing locations is a security risk "
                          "(see the security hardening guide).",
        help="""
Show every location of an image in image bodies and allow them to be changed
with JSON-patch on ``/locations``. Keep off unless you rely on it (see the
security hardening guide): setting a location lets a user point an image at
other data.
"""),
    cfg.BoolOpt(
        "do_secure_hash",
        default=True,
        help="""
Compute the checksum and ``os_hash_value`` of an image whose data is given by
a location (``POST /v2/images/{id}/locations``), in the background, reading
the data once from its store. When off, the hashes come from the request's
``validation_data`` (if any) and are not verified.

Related options:
    * hashing_algorithm
"""),
    cfg.StrOpt(
        "hashing_algorithm",
        default="sha512",
        help="""
Algorithm (any hashlib name) used for an image's ``os_hash_value``.
"""),
    cfg.StrOpt(
        "public_endpoint",
        help="""
Public URL of the API to use in the versions document (``GET /``), when the
service sits behind a proxy that does not send forwarding headers.
"""),
    cfg.IntOpt(
        "max_json_body_size",
        default=65535,
        min=1,
        help="""
Largest JSON request body, in bytes, accepted by metadata calls (create,
update, members, tasks). Image data is not limited by this.
"""),
    cfg.StrOpt(
        "property_protection_file",
        help="""
The property protection file: which callers may create, read, update and delete
which additional image properties. Unset (the default): no property is protected
beyond the policy rules. A relative path is looked for next to the config files.
A file that cannot be read or holds a malformed rule stops glance-api at start-up.

Each section is a regular expression searched in property names (the first
matching section decides; a property no section matches cannot be touched) with
the keys ``create``, ``read``, ``update`` and ``delete``; see
``property_protection_rule_format`` for their values, and the samples
``etc/property-protections-roles.conf.sample`` and
``etc/property-protections-policies.conf.sample``.

Related options:
    * property_protection_rule_format
"""),
    cfg.StrOpt(
        "property_protection_rule_format",
        default="roles",
        choices=("roles", "policies"),
        help="""
How the property protection file names who may do an operation.

Possible values:
    * roles: a comma-separated list of roles (one of them is enough), ``@`` for
      everyone or ``!`` for nobody
    * policies: the name of one rule of the policy file

Related options:
    * property_protection_file
"""),
]


def register_opts(conf: cfg.ConfigOpts) -> None:
    """Register the API options in [DEFAULT]."""
    conf.register_opts(opts)


def list_opts() -> list:
    """Options for the sample config generator."""
    return [(None, opts)]
