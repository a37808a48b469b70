"""Cover thumbnails for phones, made with Pillow: small JPEGs of a few kilobytes.

:func:`make_thumbnail` scales a cover image down; it only decodes JPEG, PNG,
GIF, WebP and BMP (no format that calls out to another program), and it
refuses decompression bombs by checking the pixel count the header declares
before decoding anything. Every failure is a :class:`ThumbnailError`, after
which the caller uses :func:`placeholder_thumbnail`: a generated cover (a
colour chosen by the seed, stripes, and the title's initials when they can be
written in ASCII; Thai, Tai Viet and other scripts get the shapes only, since
Pillow's default font has no glyphs for them).

Thumbnails are derived data: they can always be made again from the cover.
"""

from __future__ import annotations

import colorsys
import hashlib
import io
import logging
import struct
import unicodedata

from PIL import Image, ImageDraw, ImageFont, ImageOps, UnidentifiedImageError

from content.errors import ContentError

__all__ = ["ThumbnailError", "THUMBNAIL_WIDTH", "MAX_PIXELS", "make_thumbnail", "placeholder_thumbnail"]

log = logging.getLogger(__name__)

THUMBNAIL_WIDTH = 160
MAX_PIXELS = 25_000_000  # 5000 × 5000: larger covers are bombs or mistakes
MAX_INPUT_BYTES = 30 * 1024 * 1024
_FORMATS = ("JPEG", "PNG", "GIF", "WEBP", "BMP")
_QUALITY = 70
_PILLOW_ERRORS = (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError, struct.error,
                  Image.DecompressionBombError, Image.DecompressionBombWarning)


class ThumbnailError(ContentError):
    """An image cannot be made into a thumbnail (not an image, damaged, too large)."""


def _to_rgb(image: Image.Image) -> Image.Image:
    """The image in RGB; transparent parts become white."""
    if image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image.convert("RGB")


def _jpeg(image: Image.Image) -> bytes:
    """The image encoded as a baseline JPEG."""
    out = io.BytesIO()
    image.save(out, "JPEG", quality=_QUALITY, optimize=True)
    return out.getvalue()


def make_thumbnail(image_bytes: bytes, *, width: int = THUMBNAIL_WIDTH) -> bytes:
    """A JPEG at most ``width`` pixels wide (never enlarged) of a JPEG/PNG/GIF/WebP/BMP image.

    Raises :class:`ThumbnailError` for anything else, for damaged images and
    for images over :data:`MAX_PIXELS` pixels (checked before decoding).
    """
    if not image_bytes:
        raise ThumbnailError("no image data")
    if len(image_bytes) > MAX_INPUT_BYTES:
        raise ThumbnailError(f"image too large ({len(image_bytes):,} bytes)")
    try:
        with Image.open(io.BytesIO(image_bytes), formats=_FORMATS) as image:
            columns, rows = image.size
            if columns < 1 or rows < 1 or columns * rows > MAX_PIXELS:
                raise ThumbnailError(f"image too large ({columns} × {rows} pixels)")
            image.draft("RGB", (width, width * 3))  # JPEG: decode at a reduced scale, saving memory
            upright = ImageOps.exif_transpose(image)
            rgb = _to_rgb(upright)
            rgb.thumbnail((width, width * 3), Image.Resampling.LANCZOS)
            return _jpeg(rgb)
    except _PILLOW_ERRORS as error:
        raise ThumbnailError(f"not a usable image: {type(error).__name__}: {error}") from error


def _initials(title: str) -> str:
    """Up to two ASCII initials of the title's first words (``Đất nước`` → ``DN``), '' if none."""
    letters = []
    for word in title.split():
        folded = unicodedata.normalize("NFD", word.replace("đ", "d").replace("Đ", "D"))
        ascii_chars = [c for c in folded if c.isascii() and c.isalnum()]
        if ascii_chars:
            letters.append(ascii_chars[0].upper())
        if len(letters) == 2:
            break
    return "".join(letters)


def _palette(seed: str) -> tuple[tuple[int, int, int], tuple[int, int, int], bytes]:
    """A background colour, a lighter stripe colour and random-looking bytes, all from ``seed``."""
    digest = hashlib.sha256(seed.encode("utf-8")).digest()
    hue = digest[0] / 255
    background = colorsys.hsv_to_rgb(hue, 0.55, 0.62)
    stripe = colorsys.hsv_to_rgb(hue, 0.35, 0.82)
    scale = lambda rgb: tuple(round(c * 255) for c in rgb)  # noqa: E731
    return scale(background), scale(stripe), digest


def placeholder_thumbnail(title: str, seed: str, *, width: int = THUMBNAIL_WIDTH) -> bytes:
    """A generated cover (JPEG, ``width`` × 1.5 ``width``) for a book without one.

    The same ``seed`` (a book id) always gives the same picture; any title
    works, in any script.
    """
    height = width * 3 // 2
    background, stripe, digest = _palette(seed or title)
    image = Image.new("RGB", (width, height), background)
    draw = ImageDraw.Draw(image)
    for index in range(3):  # three bands or circles, placed by the seed
        top = digest[2 + index] * height // 256
        if digest[1] & (1 << index):
            draw.rectangle((0, top, width, top + height // 12), fill=stripe)
        else:
            radius = width // 8 + digest[5 + index] % (width // 6)
            left = digest[8 + index] * width // 256
            draw.ellipse((left - radius, top - radius, left + radius, top + radius), fill=stripe)
    initials = _initials(title or "")
    if initials:
        font = ImageFont.load_default(size=width * 2 // 5)  # a bitmap font if Pillow lacks FreeType
        left, top, right, bottom = draw.textbbox((0, 0), initials, font=font)
        origin = ((width - (right - left)) / 2 - left, (height - (bottom - top)) / 2 - top)
        draw.text(origin, initials, fill=(255, 255, 255), font=font)
    return _jpeg(image)
