"""Run an import in a subprocess for the SIGKILL test: python -m tests.ingest_writer DATA SOURCE."""

from __future__ import annotations

import sys

from content.ingest.run import import_paths
from content.library import Library


def main(data_dir: str, source: str) -> None:
    """Import ``source`` into ``data_dir``, printing each imported path as it commits."""
    library = Library(data_dir)

    def progress(done, total, path):
        print(f"{done}/{total}", flush=True)

    import_paths(library, [source], progress=progress)
    library.close()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
