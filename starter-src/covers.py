"""Generated cover images for the starter collection (Pillow shapes, deterministic per slug)."""

from __future__ import annotations

import hashlib
import io
import logging
import random

log = logging.getLogger("starter.build")

# --------------------------------------------------------------------------------------------
# Covers


PALETTES = {
    "Nông nghiệp": ((222, 238, 214), (86, 140, 64), (46, 94, 38), (241, 200, 82)),
    "Sức khỏe": ((226, 242, 246), (42, 150, 170), (22, 96, 120), (250, 250, 250)),
    "Pháp luật": ((232, 234, 244), (50, 68, 128), (28, 38, 80), (205, 160, 60)),
    "Thiếu nhi": ((255, 244, 206), (244, 164, 60), (110, 170, 80), (236, 90, 70)),
    "Văn hóa": ((246, 230, 220), (168, 52, 48), (60, 40, 40), (236, 196, 80)),
    "Ngôn ngữ": ((236, 228, 244), (110, 70, 150), (60, 36, 90), (240, 200, 90)),
}


def draw_cover(subject: str, seed_text: str, size: tuple[int, int] = (600, 800)) -> bytes:
    """A cover JPEG of simple shapes in the category's colours, varied by a hash of seed_text."""
    from PIL import Image, ImageDraw

    rng = random.Random(hashlib.sha256(seed_text.encode()).digest())
    background, main, dark, accent = PALETTES[subject]
    width, height = size
    image = Image.new("RGB", size, background)
    draw = ImageDraw.Draw(image)
    draw.rectangle([0, 0, width, height // 9], fill=dark)
    draw.rectangle([0, height - height // 12, width, height], fill=dark)
    motif = {
        "Nông nghiệp": draw_terraces, "Sức khỏe": draw_drops, "Pháp luật": draw_document,
        "Thiếu nhi": draw_sun_hills, "Văn hóa": draw_brocade, "Ngôn ngữ": draw_letters,
    }[subject]
    motif(draw, rng, size, main, dark, accent)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=60, optimize=True, progressive=False)
    return buffer.getvalue()


def draw_terraces(draw, rng, size, main, dark, accent):
    """Curved bands like rice terraces on a hillside, with a sun."""
    width, height = size
    cx = rng.randint(width // 4, 3 * width // 4)
    draw.ellipse([cx - 50, 130, cx + 50, 230], fill=accent)
    for band in range(9):
        top = 280 + band * 52
        shade = tuple(max(0, c - band * 6) for c in main)
        draw.ellipse([-200 - band * 30, top, width + 200 + band * 30, top + 360], fill=shade,
                     outline=dark, width=4)


def draw_drops(draw, rng, size, main, dark, accent):
    """A large water drop inside a circle, and small drops around."""
    width, height = size
    cx, cy = width // 2, height // 2
    draw.ellipse([cx - 190, cy - 190, cx + 190, cy + 190], fill=accent, outline=main, width=10)
    draw.polygon([(cx, cy - 140), (cx - 90, cy + 20), (cx + 90, cy + 20)], fill=main)
    draw.ellipse([cx - 92, cy - 40, cx + 92, cy + 130], fill=main)
    for _ in range(7):
        x, y = rng.randint(40, width - 40), rng.randint(110, height - 90)
        if abs(x - cx) < 220 and abs(y - cy) < 220:
            continue
        draw.ellipse([x - 14, y - 14, x + 14, y + 14], fill=dark)


def draw_document(draw, rng, size, main, dark, accent):
    """A paper sheet with lines of 'text' and a round seal."""
    width, height = size
    draw.rectangle([130, 170, width - 130, height - 130], fill=(255, 255, 255), outline=dark, width=6)
    for row in range(10):
        y = 230 + row * 36
        draw.rectangle([170, y, width - 170 - rng.randint(0, 140), y + 12], fill=main)
    draw.ellipse([width - 290, height - 320, width - 170, height - 200], outline=accent, width=12)


def draw_sun_hills(draw, rng, size, main, dark, accent):
    """A sun, two hills and a small house."""
    width, height = size
    draw.ellipse([60, 120, 220, 280], fill=main)
    draw.ellipse([-150, 430, 420, 900], fill=dark)
    draw.ellipse([220, 480, 800, 960], fill=tuple(min(255, c + 40) for c in dark))
    hx = rng.randint(300, 420)
    draw.rectangle([hx, 420, hx + 120, 500], fill=(250, 250, 250), outline=(90, 60, 40), width=4)
    draw.polygon([(hx - 20, 420), (hx + 60, 360), (hx + 140, 420)], fill=accent)


def draw_brocade(draw, rng, size, main, dark, accent):
    """Bands of diamonds like a woven brocade border."""
    width, height = size
    for row in range(4):
        y = 170 + row * 140
        draw.rectangle([0, y, width, y + 110], fill=main if row % 2 == 0 else dark)
        step = 120
        offset = rng.randint(0, step - 1)
        for x in range(-step + offset, width + step, step):
            draw.polygon([(x, y + 55), (x + 40, y + 15), (x + 80, y + 55), (x + 40, y + 95)], fill=accent)


def draw_letters(draw, rng, size, main, dark, accent):
    """A grid of tiles, some marked, like a letter chart."""
    width, height = size
    for row in range(4):
        for col in range(3):
            x, y = 75 + col * 155, 160 + row * 140
            filled = rng.random() < 0.5
            draw.rectangle([x, y, x + 130, y + 115], fill=main if filled else (255, 255, 255),
                           outline=dark, width=5)
            if not filled:
                draw.arc([x + 35, y + 27, x + 95, y + 87], 200, 520, fill=accent, width=10)
