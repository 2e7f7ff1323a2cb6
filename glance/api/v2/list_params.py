"""Parsing of list query strings: limit/marker, sort, and filters with operators.

Shared by every collection (images now; tasks, metadefs later) so that they
answer bad parameters with the same 400 messages.
"""

from collections.abc import Iterable, Sequence
from urllib.parse import urlencode

from oslo_config import cfg
from oslo_utils import timeutils

from glance import exception

CONF = cfg.CONF
OPERATORS = ("eq", "neq", "gt", "gte", "lt", "lte")
_INT64 = 2 ** 63


def parse_limit(value: str | None) -> int:
    """``limit``: a non-negative integer, capped at ``api_limit_max``."""
    if value is None:
        return min(CONF.limit_param_default, CONF.api_limit_max)
    try:
        limit = int(value)
    except ValueError as err:
        raise exception.BadRequest("limit param must be an integer") from err
    if limit < 0:
        raise exception.BadRequest("limit param must be positive")
    return min(limit, CONF.api_limit_max)


def check_filter_count(count: int) -> None:
    """At most ``max_list_filters`` filters in one list call (400 otherwise)."""
    if count > CONF.max_list_filters:
        raise exception.BadRequest(
            f"Too many filters: {count} filters given, at most {CONF.max_list_filters} "
            "allowed ([DEFAULT] max_list_filters).")


def parse_sort(params, allowed_keys: Sequence[str],
               default: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """``sort=k1:dir,k2`` or repeated ``sort_key`` / ``sort_dir`` -> [(key, dir)]."""
    sort = params.getall("sort")
    keys, dirs = params.getall("sort_key"), params.getall("sort_dir")
    if sort and (keys or dirs):
        raise exception.BadRequest("The 'sort' parameter cannot be combined with "
                                   "'sort_key' or 'sort_dir'.")
    pairs: list[tuple[str, str]] = []
    if sort:
        for item in ",".join(sort).split(","):
            key, _, direction = item.strip().partition(":")
            pairs.append((key.strip(), direction.strip() or "desc"))
    elif keys:
        if len(dirs) > 1 and len(dirs) != len(keys):
            raise exception.BadRequest("The number of sort_key and sort_dir values "
                                       "must match.")
        dirs = dirs * len(keys) if len(dirs) == 1 else (dirs or ["desc"] * len(keys))
        pairs = list(zip(keys, dirs, strict=True))
    elif dirs:
        if len(dirs) > 1:
            raise exception.BadRequest("Several sort_dir values need as many sort_key.")
        pairs = [(default[0][0], dirs[0])]
    else:
        return list(default)
    for key, direction in pairs:
        if key not in allowed_keys:
            raise exception.InvalidSortKey(key=key, allowed=", ".join(allowed_keys))
        if direction not in ("asc", "desc"):
            raise exception.InvalidSortDir(value=direction)
    if len({key for key, _ in pairs}) != len(pairs):
        raise exception.BadRequest("A sort key may appear only once.")
    return pairs


def split_in(value: str) -> list[str]:
    """Values of an ``in:a,b,"c,d"`` list (quotes protect commas)."""
    items, current, quoted = [], [], False
    for char in value:
        if char == '"':
            quoted = not quoted
        elif char == "," and not quoted:
            items.append("".join(current))
            current = []
        else:
            current.append(char)
    if quoted:
        raise exception.BadRequest("Unbalanced quotes in an 'in:' list.")
    items.append("".join(current))
    return items


def parse_operator(value: str, operators: Iterable[str] = OPERATORS) -> tuple[str, str]:
    """``gt:2020-01-01`` -> ("gt", "2020-01-01"); a bare value is ``eq``."""
    op, sep, rest = value.partition(":")
    if sep and op in operators:
        return op, rest
    if sep and op.isalpha():
        raise exception.InvalidFilterOperator(op=op)
    return "eq", value


def parse_datetime(name: str, value: str):
    """An ISO 8601 timestamp filter value, as naive UTC."""
    try:
        return timeutils.normalize_time(timeutils.parse_isotime(value))
    except ValueError as err:
        raise exception.BadRequest(f"Invalid {name} filter value: {value}") from err


def parse_int(name: str, value: str) -> int:
    """An integer filter value (400 unless an integer that fits 64 bits)."""
    try:
        number = int(value)
    except ValueError as err:
        raise exception.BadRequest(
            f"Unable to filter on a range with a non-numeric value: {name}={value}") from err
    if not -_INT64 <= number < _INT64:
        raise exception.BadRequest(f"Filter value out of range: {name}")
    return number


def parse_bool(name: str, value: str) -> bool:
    lowered = value.lower()
    if lowered in ("true", "1", "yes", "on"):
        return True
    if lowered in ("false", "0", "no", "off"):
        return False
    raise exception.BadRequest(f"Invalid value for {name}: {value} (expected a boolean)")


def page_links(path: str, params, items: Sequence[dict], limit: int) -> dict[str, str]:
    """``first`` and, when the page is full, ``next`` links (query kept, marker moved)."""
    kept = [(k, v) for k, v in params.items() if k != "marker"]
    first = f"{path}?{urlencode(kept)}" if kept else path
    links = {"first": first}
    if items and len(items) >= limit:
        links["next"] = f"{path}?{urlencode(kept + [('marker', items[-1]['id'])])}"
    return links
