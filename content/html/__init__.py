"""EPUB markup for phones: rendering chapters, sanitising, cutting into parts, extracting text.

- :mod:`content.html.chapters`: a stored chapter rendered for the reader
- :mod:`content.html.sanitise`: no script, no handlers, no remote URLs
- :mod:`content.html.parts`: phone-sized parts of a long chapter
- :mod:`content.html.text`: plain text for search and descriptions
"""

__all__: list[str] = []
