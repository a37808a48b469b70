"""A writer process for the SIGKILL test: stores files and records rows until killed.

Usage: python -m tests.store_writer DATA_DIR SEED
Each round stores a random file the durable way and then writes its book row,
exactly as the importer does, and prints the hash after the commit.
"""

from __future__ import annotations

import random
import sys

from content.catalog import Catalog, book_id_for
from content.store import ContentStore, writer_lock


def main(data_dir: str, seed: int) -> None:
    """Store and record files forever (the test kills us)."""
    rng = random.Random(seed)
    store = ContentStore(data_dir)
    catalog = Catalog(f"{data_dir}/catalog.sqlite3")
    with writer_lock(store.data_dir):
        while True:
            data = rng.randbytes(rng.randint(1, 3 * 1024 * 1024))
            sha, size = store.put_bytes(data)
            with catalog.write():
                catalog.insert_book(
                    {"id": book_id_for([sha]), "title": sha, "sort_title": sha, "format": "pdf"},
                    files=[{"sha256": sha, "role": "primary", "size": size,
                            "media_type": "application/pdf"}],
                    chapters=[], texts=[], categories=[],
                )
            print(sha, flush=True)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
