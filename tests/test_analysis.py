"""The search analysis pipeline: NFC, case folding, folding, Thai segmentation, Tai Viet."""

import re
import unicodedata

import pytest

from content.search.analysis import (
    MAX_TOKEN_CHARS,
    fold_token,
    fold_view,
    index_streams,
    looks_unspaced_tai_viet,
    segment_words,
    tai_viet_bigrams,
    tai_viet_clusters,
    tokenize,
)


def folded(text):
    """The folded tokens of ``text``."""
    return [token.folded for token in tokenize(text)]


def exact(text):
    """The exact tokens of ``text``."""
    return [token.exact for token in tokenize(text)]


def test_decomposed_input_gives_the_same_words_as_composed():
    composed = "Nông nghiệp Việt Nam"
    decomposed = unicodedata.normalize("NFD", composed)
    assert decomposed != composed
    assert exact(decomposed) == exact(composed) == ["nông", "nghiệp", "việt", "nam"]
    assert index_streams(decomposed) == index_streams(composed)


def test_case_folding_keeps_tones_in_the_exact_stream():
    assert exact("NÔNG NGHIỆP") == ["nông", "nghiệp"]
    assert folded("NÔNG NGHIỆP") == ["nong", "nghiep"]


@pytest.mark.parametrize(
    "word, expected",
    [("đường", "duong"), ("Đường", "duong"), ("ĐỖ", "do"), ("Nguyễn", "nguyen"), ("ưởng", "uong")],
)
def test_folding_removes_vietnamese_marks_and_the_stroke_of_d(word, expected):
    assert fold_token(word)[1] == expected


def test_thai_and_other_scripts_keep_their_marks():
    for word in ("ห้องสมุด", "หนังสือ", "हिन्दी", "ꪹꪀꪷꪉ"):
        assert fold_token(word) == (word, word)


def test_thai_words_are_never_split_on_vowel_or_tone_marks():
    # Python's \w (and SQLite's default tokenizer) split on the marks.
    assert re.findall(r"\w+", "ห้องสมุด") != ["ห้องสมุด"]
    tokens = exact("ห้องสมุด")
    assert "".join(tokens) == "ห้องสมุด"
    for token in tokens:
        assert unicodedata.category(token[0]) != "Mn"


def test_thai_sentence_is_segmented_into_dictionary_words():
    tokens = exact("เด็กๆไปห้องสมุดเพื่ออ่านหนังสือ")
    assert "ไป" in tokens
    assert "อ่าน" in tokens
    assert "หนังสือ" in tokens
    assert all(t.script == "dictionary" for t in tokenize("ไปอ่านหนังสือ"))


def test_thai_segments_of_one_unspaced_run_share_a_run_number():
    tokens = tokenize("ไปอ่านหนังสือ ครับ")
    assert len({t.run for t in tokens[:-1]}) == 1
    assert tokens[-1].run != tokens[0].run


def test_icu_utf16_offsets_are_converted_to_code_points():
    text = "𝐀𝐁 ไปห้องสมุด"  # two characters outside the BMP: 4 UTF-16 code units
    segments = segment_words(text)
    pieces = [text[start:end] for start, end in segments]
    assert "".join(pieces) == text
    assert pieces[:3] == ["𝐀𝐁", " ", "ไป"]
    assert segments[-1][1] == len(text)


def test_offsets_point_into_the_nfc_text():
    text = "Trồng lúa ở ห้องสมุด"
    for token in tokenize(text):
        assert fold_token(text[token.start : token.end])[0] == token.exact


def test_tai_viet_spaced_syllables_are_words_without_bigrams():
    tokens = tokenize("ꪼꪒꪣ ꪀꪱꪉ ꪹꪀꪷꪉ")
    assert [t.exact for t in tokens] == ["ꪼꪒꪣ", "ꪀꪱꪉ", "ꪹꪀꪷꪉ"]
    assert all(t.script == "taiviet" and not t.grams for t in tokens)


def test_tai_viet_unspaced_run_also_gets_cluster_bigrams():
    run = "ꪎꪲꪉꪀꪱꪉꪙꪾꪹꪣꪉ"
    assert looks_unspaced_tai_viet(run)
    (token,) = tokenize(run)
    assert token.grams == tai_viet_bigrams(run)
    # The syllable ꪀꪱꪉ inside the run is a sequence of its bigrams.
    assert "ꪀꪱ" in token.grams and "ꪱꪉ" in token.grams
    folded_stream = index_streams(run)[0].split()
    assert folded_stream[0] == run and folded_stream[1:] == list(token.grams)


def test_tai_viet_clusters_keep_marks_on_their_base():
    assert tai_viet_clusters("ꪹꪀꪷꪉ") == ["ꪹ", "ꪀꪷ", "ꪉ"]
    assert not looks_unspaced_tai_viet("ꪹꪀꪷꪉ")


def test_exact_stream_holds_only_words_with_marks():
    folded_stream, exact_stream = index_streams("Trồng lúa nước ở Ha Noi")
    assert folded_stream == "trong lua nuoc o ha noi"
    assert exact_stream == "trồng lúa nước ở"


def test_fast_and_word_by_word_paths_agree():
    text = (
        "“Đường về BẢN” — tập 2, NXB Kim Đồng (2019): cách trồng lúa_nước; "
        + unicodedata.normalize("NFD", "Nguyễn Thị Ánh Tuyết ưỡn ẹo")
        + " œuvre ß İstanbul"
    )
    folded_stream, exact_stream = index_streams(text)
    tokens = tokenize(text)
    assert folded_stream.split() == [t.folded for t in tokens]
    assert exact_stream.split() == [t.exact for t in tokens if t.exact != t.folded]


def test_underscores_and_punctuation_separate_words():
    assert folded("lúa_nước,đồng-bằng") == ["lua", "nuoc", "dong", "bang"]


def test_words_longer_than_the_cap_are_dropped():
    assert folded("a" * (MAX_TOKEN_CHARS + 1) + " lúa") == ["lua"]
    assert index_streams("x" * 10_000)[0] == ""


def test_punctuation_only_gives_no_tokens():
    assert tokenize("!!! ... ,,, *** -:^ “” ()") == []
    assert exact('"*" NEAR( -:^ OR') == ["near", "or"]  # query syntax is just words


def test_fold_view_keeps_offsets():
    text = "Đường LÚA nước ห้องสมุด"
    view = fold_view(text)
    assert len(view) == len(text)
    assert view.startswith("duong lua nuoc ")
    assert view.endswith("ห้องสมุด")


def test_no_character_is_both_a_word_character_and_whitespace():
    # The fast path splits words on whitespace after blanking other non-word runs.
    word = re.compile(r"[\w\u0300-\u036f]")
    assert not [code for code in range(0x110000) if chr(code).isspace() and word.match(chr(code))]


@pytest.mark.parametrize(
    "text",
    [
        "Lúa nước xanh, mùa   gặt!  «Cánh đồng» — 2024/05: (ôi) tôi_đi\tvề\n\nnhà.",
        "a\u00a0b\u2009c\u3000d\u2028e\x1cf...g--h''i",
        "¿Qué? ¡Sí! naïve café ÆØÅ straße Ωμέγα Привет 123,45 ½ ² x\u0301y",
        "   ,,, ... ",
        "",
    ],
)
def test_fast_path_finds_the_words_the_word_pattern_finds(text):
    from content.search import analysis

    exact = analysis.normalize(analysis.normalize(text).casefold()).replace("_", " ")
    expected = analysis._PLAIN_WORD_RE.findall(exact)
    assert analysis._PLAIN_NON_WORD_RE.sub(" ", exact).split() == expected
