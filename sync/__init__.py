"""The sync protocol with the provincial hub (signed manifests, bundles, usage upload).

Not built yet: this package holds no code until the sync issue lands. It never
imports Flask except in ``sync.hub``.
"""

__all__: list[str] = []
