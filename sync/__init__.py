"""Sync with the provincial hub: signed releases down, anonymous usage up, over any link.

- :mod:`sync.protocol`: what travels (signed envelopes, manifests, catalog files, usage batches)
- :mod:`sync.signing`: Ed25519 keys and signatures, canonical JSON
- :mod:`sync.client`: the box's side (``readpoint sync``)
- :mod:`sync.hub`: the provincial hub (``readpoint hub``), the only part that imports Flask

The error tree (:mod:`sync.errors`)::

    SyncError                       anything sync refuses or cannot do
    ├── ConfigError                 hub_url / hub_public_key missing, key changed, not enrolled
    ├── TrustError                  something from the hub (or pretending to be) is not believed
    │   ├── BadSignature            a signature does not verify, or is by another key
    │   ├── Rollback                a release number lower than the one applied
    │   ├── Equivocation            the applied release number with different bytes
    │   ├── ArtifactMismatch        an artifact's sha256 or size is not what the manifest says
    │   ├── TooLarge                more bytes than declared (or than any answer may have)
    │   └── NotJson                 a web page where JSON was expected (a captive portal)
    ├── HubError                    the hub answered with an error status (carries ``status``)
    ├── LinkError                   the link failed after the retries (cut, stalled, refused)
    ├── SyncBusy                    another sync or import holds the data directory
    └── client.downloads.StorageFull   the box's disk cannot take a file (the part is given back)
"""

__all__ = ["errors", "protocol", "signing"]
