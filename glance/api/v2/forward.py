"""Forwarding a call to the API node that staged an image's data (distributed
import, ``[DEFAULT] worker_self_reference_url``).

The call is replayed against ``<stage host><request path>`` with the caller's
own headers (``X-Auth-Token``, or the trusted identity headers of a ``noauth``
flavor), as OpenStack Glance replays it with the caller's token. As in Glance:
a host that cannot be reached is 504 ``Stage host is unavailable``, another
transport failure 502, and a refusal by the host is passed on with its status.
"""

import json
from typing import Any

import requests
from oslo_log import log as logging

from glance import exception
from glance.api import wsgi
from glance.services.stage_host import Forward

LOG = logging.getLogger(__name__)
REQUEST_ID = "x-openstack-request-id"
# Glance waits 60 s for the stage host; a host that is gone is noticed sooner.
TIMEOUT = (10.0, 60.0)
# Not replayed: they describe this hop, or the body, which requests writes again.
_HOP_HEADERS = frozenset({"host", "content-length", "transfer-encoding", "connection",
                          "keep-alive", "te", "trailer", "upgrade", "expect",
                          "proxy-authorization", "accept-encoding"})


def _message(response: requests.Response) -> str:
    """The error message of a refused call (Glance's JSON error body, or the reason)."""
    try:
        body = response.json()
        return str(body["message"] if "message" in body else body["error"]["message"])
    except (ValueError, KeyError, TypeError):
        return response.reason or f"HTTP {response.status_code}"


def forwarder(request: wsgi.Request, body: Any = None) -> Forward:
    """A :data:`Forward` replaying ``request`` (with the JSON ``body``, if any)."""
    headers = {name: value for name, value in request.headers.items()
               if name.lower() not in _HOP_HEADERS | {"accept"}}
    headers["Accept"] = "application/json"  # a refusal's message, to pass it on

    def forward(host: str) -> str | None:
        url = host.rstrip("/") + request.path
        data = None
        if body is not None:
            data = json.dumps(body).encode("utf-8")
            headers["Content-Type"] = "application/json"
        LOG.info("Forwarding %s %s to the stage host %s", request.method, request.path, host)
        try:
            response = requests.request(request.method, url, data=data, headers=headers,
                                        timeout=TIMEOUT, allow_redirects=False)
        except (requests.ConnectionError, requests.Timeout) as err:
            LOG.error("Cannot forward to %s: %s", url, err)
            raise exception.StageHostUnavailable() from err
        except requests.RequestException as err:
            LOG.error("Cannot forward to %s: %s", url, err)
            raise exception.StageHostFailed() from err
        if response.status_code // 100 != 2:
            raise exception.ForwardedError(response.status_code, _message(response))
        return response.headers.get(REQUEST_ID)

    return forward
