"""The metadata definitions catalog files: load, unload and export (glance-manage)."""
