"""Option types shared by several groups.

Glance declares some list options with ``bounds=True``: their values are
written in brackets, ``enabled_import_methods = [glance-direct,web-download]``.
:class:`BoundedListOpt` parses those exactly as oslo.config's
``ListOpt(bounds=True)`` does, and also takes the same list without the
brackets (``glance-direct,web-download``), which is how glance read these
options before it followed Glance here. A value with only one of the two
brackets is refused, as in Glance.
"""

from typing import Any

from oslo_config import cfg, types


class BracketsOptionalList(types.List):
    """``types.List(bounds=True)`` that also accepts a value without the brackets."""

    def __init__(self, item_type: types.ConfigType | None = None,
                 type_name: str = "list value") -> None:
        super().__init__(item_type=item_type, bounds=True, type_name=type_name)

    def __call__(self, value: Any) -> list[Any]:
        if isinstance(value, str):
            text = value.strip().rstrip(",")
            if not text.startswith("[") and not text.endswith("]"):
                value = f"[{text}]"
        return super().__call__(value)


class BoundedListOpt(cfg.ListOpt):
    """A ``ListOpt(bounds=True)`` whose brackets may be left out (see the module doc)."""

    def __init__(self, name: str, item_type: types.ConfigType | None = None,
                 **kwargs: Any) -> None:
        cfg.Opt.__init__(self, name, type=BracketsOptionalList(item_type), **kwargs)
