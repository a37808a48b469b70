"""The box's side of sync: ``readpoint sync`` and ``readpoint sync enroll``.

- :mod:`sync.client.run`: one sync run and enrollment (:func:`run_sync`, :func:`enroll`);
  usage goes up through :mod:`content.catalog.usage` (hourly counts, pruning)
- :mod:`sync.client.state`: what the box keeps between runs (catalog tables, key file)
- :mod:`sync.client.downloads`: resumable, verified content downloads
- :mod:`sync.client.transport`: HTTP with retries, budgets and a speed cap (the only ``requests``)
"""

__all__ = ["run", "state", "downloads", "transport"]
