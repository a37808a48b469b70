"""Writing the starter audiobook (espeak-ng speech, lame MP3, ID3v2.4 tags) from a parsed source."""

from __future__ import annotations

import html
import logging
import shutil
import subprocess
import tempfile
from pathlib import Path

from covers import draw_cover
from starter_source import AUDIO_ARTIST, CREATOR, PUBLISHER, RELEASE_DATE, Chapter, Source, ascii_slug

log = logging.getLogger("starter.build")

# --------------------------------------------------------------------------------------------
# Audiobook


def build_audiobook(source: Source, out_dir: Path) -> Path:
    """Write <slug>/NN-<chapter>.mp3: espeak-ng speech, lame mono MP3, ID3v2.4 tags with a cover."""
    meta = source.meta
    folder = out_dir / source.slug
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    cover = draw_cover(meta["subject"], source.slug, size=(300, 300))
    total = len(source.chapters)
    with tempfile.TemporaryDirectory() as tmp:
        for number, chapter in enumerate(source.chapters, start=1):
            wav = Path(tmp) / f"{number:02d}.wav"
            speak(chapter, meta, wav)
            mp3 = folder / f"{number:02d}-{ascii_slug(chapter.title)}.mp3"
            subprocess.run(["lame", "--quiet", "-m", "m", "-b", "32", "--resample", "22.05", "-q", "2",
                            "--noreplaygain", str(wav), str(mp3)], check=True)
            tag_mp3(mp3, meta, chapter.title, number, total, cover)
    return folder


def speak(chapter: Chapter, meta: dict, wav: Path) -> None:
    """Speak one chapter's paragraphs (the script announces the chapter itself) with espeak-ng."""
    parts = []
    for kind, payload in chapter.blocks:
        texts = payload if isinstance(payload, list) else [payload]
        parts.extend(html.escape(str(text).replace("**", ""), quote=False) for text in texts)
    ssml = "<speak>" + '<break time="700ms"/>'.join(parts) + '<break time="900ms"/></speak>'
    subprocess.run(["espeak-ng", "-v", meta.get("voice", "vi"), "-s", meta.get("speed", "150"),
                    "-m", "-w", str(wav), ssml], check=True)


def tag_mp3(path: Path, meta: dict, title: str, number: int, total: int, cover: bytes) -> None:
    """Write ID3v2.4 tags (album, title, artist, track, genre, cover) and no ID3v1."""
    from mutagen.id3 import APIC, COMM, ID3, TALB, TCON, TCOP, TDRC, TIT2, TLAN, TPE1, TPE2, TPUB, TRCK

    tags = ID3()
    tags.add(TIT2(encoding=3, text=title))
    tags.add(TALB(encoding=3, text=meta["title"]))
    tags.add(TPE1(encoding=3, text=AUDIO_ARTIST))
    tags.add(TPE2(encoding=3, text=AUDIO_ARTIST))
    tags.add(TRCK(encoding=3, text=f"{number}/{total}"))
    tags.add(TCON(encoding=3, text=meta["subject"]))
    tags.add(TLAN(encoding=3, text="vie"))
    tags.add(TDRC(encoding=3, text=str(RELEASE_DATE.year)))
    tags.add(TPUB(encoding=3, text=PUBLISHER))
    tags.add(TCOP(encoding=3, text=f"{RELEASE_DATE.year} {CREATOR}, CC0 1.0"))
    tags.add(COMM(encoding=3, lang="vie", desc="", text=meta["description"]))
    tags.add(APIC(encoding=3, mime="image/jpeg", type=3, desc="Cover", data=cover))
    tags.save(str(path), v1=0, v2_version=4, padding=lambda info: 0)
