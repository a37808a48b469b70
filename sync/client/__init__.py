"""The box's side of sync: ``readpoint sync`` and ``readpoint sync enroll``.

- :mod:`sync.client.run`: one sync run and enrollment (:func:`run_sync`, :func:`enroll`)
- :mod:`sync.client.state`: what the box keeps between runs (catalog tables, key file)
- :mod:`sync.client.downloads`: resumable, verified content downloads
- :mod:`sync.client.transport`: HTTP with retries, budgets and a speed cap (the only ``requests``)
- :mod:`sync.client.usage_log`: the usage log as hourly counts, and pruning what the hub acknowledged
"""

__all__ = ["run", "state", "downloads", "transport", "usage_log"]
