"""Distributed import: which API node holds an image's staged data.

Staging writes to the local staging directory of the node that took
``PUT /v2/images/{id}/stage`` and records that node's URL (``[DEFAULT]
worker_self_reference_url``, else ``public_endpoint``) in the image's hidden
property ``os_glance_stage_host``, as OpenStack Glance does. An import or delete
call reaching another node is forwarded to the stage host with the caller's
credentials; the HTTP side of that lives in glance/api/v2/forward.py and reaches
the services as a :data:`Forward` callable.
"""

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from oslo_config import cfg
from oslo_log import log as logging

from glance.conf import image_import as import_conf

CONF = cfg.CONF
LOG = logging.getLogger(__name__)
STAGE_HOST = "os_glance_stage_host"

# host URL -> the remote request id (or None); raises StageHostUnavailable (502/504)
# when the host cannot be reached, ForwardedError with the remote's status otherwise.
Forward = Callable[[str], str | None]


@dataclass(frozen=True)
class Forwarded:
    """A call the stage host took (its request id, to answer with)."""

    request_id: str | None


def self_url() -> str | None:
    """This node's URL as other nodes reach it (None: no distributed import)."""
    return CONF.worker_self_reference_url or CONF.public_endpoint or None


def remote_host(properties: dict[str, Any]) -> str | None:
    """The stage host named by ``properties`` when it is another node, else None."""
    host = properties.get(STAGE_HOST)
    if host and host != self_url():
        return host
    return None


def staged_here(image_id: str) -> str:
    """The path staged data of ``image_id`` has on this node."""
    return os.path.join(os.path.abspath(import_conf.staging_path(CONF)), image_id)


def remove_local(image_id: str) -> None:
    """Remove this node's staged data of ``image_id`` (image deleted)."""
    path = staged_here(image_id)
    try:
        os.unlink(path)
    except FileNotFoundError:
        return
    except OSError as err:
        LOG.error("Cannot remove staged data %s: %s", path, err)
        return
    LOG.debug("Removed staged data of deleted image %s", image_id)
