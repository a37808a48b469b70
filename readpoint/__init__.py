"""readpoint: the web app and the ``readpoint`` command of a community reading point.

``create_app`` (in :mod:`readpoint.app`) is the only door: importing this
package opens no file, reads no argv and starts no thread.
"""

__version__ = "0.1.0"

__all__ = ["__version__", "create_app"]


def create_app(*args, **kwargs):
    """Build the Flask app; see :func:`readpoint.app.create_app`."""
    from readpoint.app import create_app as factory

    return factory(*args, **kwargs)
