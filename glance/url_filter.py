"""``check_url(url)``: may the API reach this URL for a user? (``[import_filtering_opts]``)

The host is resolved and *every* address it resolves to is checked, so names and
numeric spellings (``2130706433``, ``0x7f.1``, ``[::ffff:127.0.0.1]``) of loopback,
link-local (metadata services), unspecified, multicast and reserved addresses
are refused by default. ``address_allowed`` lets a caller check the address a
connection actually reached (DNS answers may change after the check).
"""

import ipaddress
import socket
from urllib.parse import urlsplit

from oslo_config import cfg
from oslo_log import log as logging

CONF = cfg.CONF
LOG = logging.getLogger(__name__)
DEFAULT_PORTS = {"http": 80, "https": 443, "ftp": 21}
_METADATA_ADDRESSES = {ipaddress.ip_address("fd00:ec2::254")}


def _opts():
    return CONF.import_filtering_opts


def _in_list(value: str, allowed: list[str], denied: list[str]) -> bool:
    if allowed:
        return value in allowed
    return value not in denied


def _normal_host(host: str) -> str:
    return host.lower().rstrip(".")


def _host_listed(host: str, address: str | None = None) -> bool:
    listed = {_normal_host(h) for h in _opts().allowed_hosts}
    return _normal_host(host) in listed or (address is not None and address in listed)


def _dangerous(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return (address.is_loopback or address.is_link_local or address.is_unspecified
            or address.is_multicast or address.is_reserved
            or address in _METADATA_ADDRESSES)


def address_allowed(address: str, host: str | None = None) -> bool:
    """Whether a connection to ``address`` (reached for ``host``) is acceptable."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if not _dangerous(ip):
        return True
    return _host_listed(host or str(ip), str(ip))


def _resolve(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return []
    return list(dict.fromkeys(info[4][0] for info in infos))


def check_url(url: str) -> bool:
    """True when ``url`` passes the scheme, host, port and address rules."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return False
    scheme = parts.scheme.lower()
    host = parts.hostname
    if not scheme or not host:
        return False
    opts = _opts()
    if not _in_list(scheme, opts.allowed_schemes, opts.disallowed_schemes):
        return False
    if port is None:
        port = DEFAULT_PORTS.get(scheme)
        if port is None:
            return False
    if not _in_list(str(port), [str(p) for p in opts.allowed_ports],
                    [str(p) for p in opts.disallowed_ports]):
        return False
    normal = _normal_host(host)
    if not _host_name_allowed(normal, opts):
        return False
    return _addresses_allowed(url, host, port, normal, opts)


def _host_name_allowed(normal: str, opts) -> bool:
    """The host, as written in the URL, against the host lists."""
    if opts.allowed_hosts:
        return _host_listed(normal)
    return normal not in {_normal_host(h) for h in opts.disallowed_hosts}


def _addresses_allowed(url: str, host: str, port: int, normal: str, opts) -> bool:
    """Every address the host resolves to against the host lists and address rules."""
    addresses = _resolve(host, port)
    if not addresses:
        LOG.info("Refusing %s: its host does not resolve", url)
        return False
    for address in addresses:
        if opts.allowed_hosts or address not in opts.disallowed_hosts:
            if address_allowed(address, normal):
                continue
        LOG.info("Refusing %s: %s resolves to the refused address %s", url, host, address)
        return False
    return True
