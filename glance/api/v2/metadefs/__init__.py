"""``/v2/metadefs``: the metadata definitions catalog API, one module per resource."""
