"""Keep secrets out of logs and error bodies.

:func:`mask` runs oslo.utils' ``strutils.mask_password`` (password/token/secret
keys in ``key=value``, JSON and dict forms) and also hides what it does not
cover: credentials in URLs (``scheme://user:secret@host``, as store locations
carry), token headers (``X-Auth-Token: ...``) and cloud keys (``secret_key``,
``access_key``). :func:`install` puts a filter on every log handler so each
record is masked once formatted.
"""

import logging
import re

from oslo_utils import strutils

MASK = "***"
_URL_CREDENTIALS = re.compile(r"(?P<scheme>[a-zA-Z][\w+.-]*://)(?P<user>[^\s/@:'\"]*):"
                              r"(?P<secret>[^\s/@'\"]+)@")
_TOKEN_HEADERS = re.compile(r"(?i)(?P<name>x-(?:auth|subject|service)-token['\"]?\s*[:=]\s*"
                            r"['\"]?)(?P<value>[^\s'\",;}]+)")
_CLOUD_KEYS = re.compile(r"(?i)(?P<name>(?:secret|access)_key['\"]?\s*[:=]\s*['\"]?)"
                         r"(?P<value>[^\s'\",;}]+)")


def mask(text: str) -> str:
    """``text`` with passwords, tokens and URL credentials replaced by ``***``."""
    if not text:
        return text
    text = strutils.mask_password(text, secret=MASK)
    text = _URL_CREDENTIALS.sub(lambda m: f"{m['scheme']}{m['user']}:{MASK}@", text)
    text = _TOKEN_HEADERS.sub(lambda m: f"{m['name']}{MASK}", text)
    return _CLOUD_KEYS.sub(lambda m: f"{m['name']}{MASK}", text)


class MaskingFilter(logging.Filter):
    """Masks each record's message (and traceback text) before it is written."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken record is logged as it is
            return True
        masked = mask(message)
        if masked != message:
            record.msg, record.args = masked, ()
        if record.exc_info and not record.exc_text:
            record.exc_text = mask(logging.Formatter().formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = mask(record.exc_text)
        return True


def install() -> None:
    """Add the masking filter to every handler of the root logger (idempotent)."""
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, MaskingFilter) for f in handler.filters):
            handler.addFilter(MaskingFilter())
