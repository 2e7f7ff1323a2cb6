"""Version of the glance package."""

from importlib import metadata

try:
    version_string = metadata.version("glance")
except metadata.PackageNotFoundError:  # running from a source tree
    version_string = "0.0.0"
