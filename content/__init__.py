"""The library itself: catalog, content store, readers, ingest and search.

This package never imports Flask: the web app in ``readpoint`` and the sync
code in ``sync`` build on it. Errors are drawn in :mod:`content.errors`.
"""

__all__ = ["errors", "parsed"]
