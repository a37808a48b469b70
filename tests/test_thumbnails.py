"""Tests of content.ingest.thumbnails: small JPEGs from covers, generated placeholders, bombs refused."""

import io
import struct
import zlib

import pytest
from PIL import Image

from content.errors import ContentError
from content.ingest.thumbnails import ThumbnailError, make_thumbnail, placeholder_thumbnail
from tests.media import make_jpeg, make_png


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that declares ``width`` × ``height`` pixels but holds almost no data (a bomb's header)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00" * 100))


def opened(data: bytes) -> Image.Image:
    """The decoded image (loaded, its file closed), remembering its format."""
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        copy = image.copy()
        copy.format = image.format
    return copy


def test_large_jpeg_becomes_a_small_thumbnail():
    thumbnail = make_thumbnail(make_jpeg(1200, 1800))
    image = opened(thumbnail)
    assert image.format == "JPEG"
    assert image.size == (160, 240)
    assert len(thumbnail) < 10_000


def test_transparent_png_gets_a_white_background():
    rgba = Image.new("RGBA", (400, 600), (255, 0, 0, 0))
    out = io.BytesIO()
    rgba.save(out, "PNG")
    image = opened(make_thumbnail(out.getvalue(), width=100))
    assert image.size == (100, 150)
    assert all(channel > 240 for channel in image.getpixel((50, 75)))


def test_small_images_are_not_enlarged():
    assert opened(make_thumbnail(make_png(50, 80))).size == (50, 80)


@pytest.mark.parametrize("data", [
    b"",
    b"not an image",
    make_jpeg()[:200],
    b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n",
    b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>',
])
def test_unusable_data_raises_thumbnail_error(data):
    with pytest.raises(ThumbnailError):
        make_thumbnail(data)


@pytest.mark.parametrize(("width", "height"), [(6000, 6000), (30000, 30000)])
def test_decompression_bombs_are_refused_before_decoding(width, height):
    with pytest.raises(ThumbnailError, match="too large|DecompressionBomb"):
        make_thumbnail(png_header_only(width, height))
    assert issubclass(ThumbnailError, ContentError)


@pytest.mark.parametrize("title", ["Đất nước", "ห้องสมุดประชาชน", "ꪼꪕ ꪎꪳ", "", "  ", "123 bài toán", "🙂 emoji"])
def test_placeholder_works_for_any_title(title):
    image = opened(placeholder_thumbnail(title, "book-1"))
    assert image.format == "JPEG"
    assert image.size == (160, 240)


def test_placeholder_is_stable_per_seed_and_differs_between_seeds():
    first = placeholder_thumbnail("Truyện Kiều", "seed-a")
    assert placeholder_thumbnail("Truyện Kiều", "seed-a") == first
    assert placeholder_thumbnail("Truyện Kiều", "seed-b") != first
    assert len(first) < 8_000
