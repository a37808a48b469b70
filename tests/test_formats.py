"""The importer and the audio reader agree on formats: one extension list; .aac is audio; a video is not."""

from __future__ import annotations

import subprocess

import content.ingest.run as ingest_run
from content.ingest.run import import_paths
from content.readers import audio
from tests.media import make_m4b


def _ffmpeg(args: list[str]) -> None:
    """Run ffmpeg quietly (it is a test dependency: dev-deps.sh installs it)."""
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", *args], check=True, capture_output=True)


def test_one_list_of_audio_extensions():
    assert ingest_run.AUDIO_EXTENSIONS is audio.AUDIO_EXTENSIONS
    for suffix in (".mp3", ".m4a", ".m4b", ".aac", ".mp4", ".ogg", ".opus", ".flac"):
        assert suffix in audio.AUDIO_EXTENSIONS


def test_aac_m4a_m4b_and_audio_only_mp4_are_audiobooks(library, tmp_path):
    tmp_path = tmp_path / "stick"
    for name in ("aac", "m4a", "m4b", "mp4"):
        (tmp_path / name).mkdir(parents=True)
    _ffmpeg(["-f", "lavfi", "-i", "anullsrc=r=8000:cl=mono", "-t", "2", "-c:a", "aac", "-b:a", "8k",
             "-f", "adts", str(tmp_path / "aac" / "truyen.aac")])
    make_m4b(tmp_path / "m4a" / "truyen.m4a", title="Truyện M4A")
    make_m4b(tmp_path / "m4b" / "truyen.m4b", title="Truyện M4B")
    make_m4b(tmp_path / "mp4" / "truyen.mp4", title="Truyện MP4")
    report = import_paths(library, [tmp_path], reader_processes=0)
    assert report.rejected == [] and report.skipped == []
    assert len(report.imported) == 4
    media = {library.catalog.files_of(entry["id"])[0]["media_type"] for entry in report.imported}
    assert media == {"audio/aac", "audio/mp4"}
    assert {library.catalog.get_book(e["id"])["format"] for e in report.imported} == {"audio"}


def test_an_mp4_with_a_video_track_is_skipped_as_a_video(library, tmp_path):
    film = tmp_path / "phim.mp4"
    _ffmpeg(["-f", "lavfi", "-i", "testsrc=size=64x48:rate=5", "-f", "lavfi", "-i", "anullsrc=r=8000:cl=mono",
             "-t", "1", "-c:v", "mpeg4", "-c:a", "aac", "-b:a", "8k", str(film)])
    report = import_paths(library, [film], reader_processes=0)
    assert report.imported == []
    (skipped,) = report.skipped
    assert "video" in skipped["reason"]
    assert list(library.store.hashes()) == []
