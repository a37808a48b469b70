"""The provincial hub: chooses what every box carries, publishes signed releases, takes usage.

- :mod:`sync.hub.hub`: the hub's folder and its work (:class:`~sync.hub.hub.Hub`):
  init, add, remove, publish, enrollment codes, the usage report
- :mod:`sync.hub.storage`: its database (SQLite, or PostgreSQL in :mod:`sync.hub.postgres`)
- :mod:`sync.hub.app`: the HTTP API, a Flask app of its own (the only Flask in ``sync``)

The hub's folder::

    readpoint.toml        settings (hub_database_url)
    keys/hub.key          the Ed25519 signing key (0600); its public half is pinned on boxes
    hub.sqlite3           the database, unless hub_database_url names a PostgreSQL one
    workspace/            a readpoint library where `hub add` reads books (same readers and verdicts)
    store/ab/<sha256>     published content files, served at /files/<sha256>
    releases/<n>/         manifest.json and catalog/*.jsonl.gz of release n (immutable)
"""

__all__ = ["hub", "storage"]
