"""The guarded outbound fetch behind web-download and legacy import tasks.

A user picks the URL, so every hop is checked by ``glance.url_filter.check_url``
(``[import_filtering_opts]``: schemes, hosts, ports; link-local, metadata and
loopback addresses denied unless allowed): the first URL, each redirect target,
and the address the connection actually reached (so a DNS answer that changes
between the check and the connect is caught). Transfers are bounded by a
timeout per read and by the upload limit (``image_size_cap`` and the owner's
storage quota).
"""

import os
from collections.abc import Callable
from urllib.parse import urljoin, urlsplit

import requests
from oslo_config import cfg
from oslo_log import log as logging

from glance import exception, quota, url_filter

CONF = cfg.CONF
LOG = logging.getLogger(__name__)
CHUNK = 1024 * 1024


def _allowed(url: str) -> bool:
    try:
        return bool(url_filter.check_url(url))
    except Exception:  # noqa: BLE001 - a URL the filter cannot judge is refused
        return False


def check(url: str, purpose: str = "web-download") -> None:
    """400 unless ``url`` passes ``[import_filtering_opts]``."""
    if not _allowed(url):
        raise exception.URLRefused(purpose=purpose, url=url)


def _peer_address(response: requests.Response) -> str | None:
    """The address the connection of ``response`` actually reached."""
    try:
        sock = response.raw._connection.sock  # urllib3 keeps it while streaming
        return sock.getpeername()[0]
    except (AttributeError, OSError, TypeError, IndexError):
        return None


def fetch_to_file(url: str, path: str, limit: quota.UploadLimit,
                  purpose: str = "web-download", headers: dict[str, str] | None = None,
                  observe: Callable[[bytes], None] | None = None) -> int:
    """Download ``url`` into a new file at ``path``; returns the bytes written.

    ``headers`` go to ``url``'s host only (a redirect elsewhere drops them);
    ``observe`` sees every chunk written (for hashing). The file is removed on any
    error.
    """
    timeout = CONF.image_import_opts.web_download_timeout
    current = url
    with requests.Session() as session:
        session.trust_env = False  # no proxy from the environment: we check the real peer
        for _hop in range(CONF.image_import_opts.web_download_max_redirects + 1):
            check(current, purpose)
            same_host = urlsplit(current).netloc == urlsplit(url).netloc
            try:
                response = session.get(current, stream=True, allow_redirects=False,
                                       headers=headers if same_host else None,
                                       timeout=(timeout, timeout))
            except requests.RequestException as err:
                raise exception.DownloadFailed(url=current, reason=str(err)) from err
            with response:
                peer = _peer_address(response)
                if peer is not None and not url_filter.address_allowed(
                        peer, urlsplit(current).hostname):
                    raise exception.URLRefused(purpose=purpose, url=current)
                if response.is_redirect:
                    current = urljoin(current, response.headers.get("Location", ""))
                    continue
                if response.status_code != 200:
                    raise exception.DownloadFailed(url=current,
                                         reason=f"HTTP status {response.status_code}")
                length = response.headers.get("Content-Length")
                if length and length.isdigit():
                    limit.check(int(length))
                return _write(response, path, limit, current, observe)
    raise exception.DownloadFailed(url=url, reason="too many redirects")


def _write(response: requests.Response, path: str, limit: quota.UploadLimit,
           url: str, observe: Callable[[bytes], None] | None) -> int:
    written = 0
    try:
        with open(path, "xb") as handle:
            for chunk in response.iter_content(CHUNK):
                written += len(chunk)
                if written > limit.maximum:
                    limit.check(written)
                handle.write(chunk)
                if observe is not None:
                    observe(chunk)
    except FileExistsError as err:
        raise exception.Conflict("Image data is already staged for this image.") from err
    except BaseException as err:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
        if isinstance(err, requests.RequestException):
            raise exception.DownloadFailed(url=url, reason=str(err)) from err
        raise
    return written
