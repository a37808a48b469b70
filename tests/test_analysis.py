"""The search analysis pipeline: NFC, case folding, folding, Thai segmentation, Tai Viet."""

import random
import re
import unicodedata

import pytest

from content.search import analysis
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
    word_char_class,
)

# The reference for index_streams: every token from tokenize(), one by one.
word_by_word_streams = analysis._word_by_word_streams


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


def test_exact_stream_is_aligned_with_the_folded_one():
    folded_stream, exact_stream = index_streams("Trồng lúa nước ở Ha Noi")
    assert folded_stream == "trong lua nuoc o ha noi"
    assert exact_stream == "trồng lúa nước ở ha noi"


def test_exact_stream_is_empty_without_a_word_with_marks():
    assert index_streams("Raising Chickens in Ha Noi") == ("raising chickens in ha noi", "")
    assert index_streams("ห้องสมุดประชาชน")[1] == ""


def test_fast_and_word_by_word_paths_agree():
    text = (
        "“Đường về BẢN” — tập 2, NXB Kim Đồng (2019): cách trồng lúa_nước; "
        + unicodedata.normalize("NFD", "Nguyễn Thị Ánh Tuyết ưỡn ẹo")
        + " œuvre ß İstanbul"
    )
    folded_stream, exact_stream = index_streams(text)
    tokens = tokenize(text)
    assert folded_stream.split() == [t.folded for t in tokens]
    assert exact_stream.split() == [t.exact for t in tokens]
    assert (folded_stream, exact_stream) == word_by_word_streams(text)


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


# Material for generated text: every kind of piece index_streams handles on its own
# (plain words, with punctuation, over-long, stray marks) or hands to tokenize().
VIETNAMESE = "Trồng lúa nước ở đồng bằng sông Cửu Long, người nông dân Việt Nam gặt hái được mùa".split()
PUNCTUATION = list(",.;:!?…—–-“”‘’«»()[]{}/\\'\"*#@&%+=<>|~^`¡¿") + ["...", "--", "_", "__"]
ODD_WORDS = [
    "×", "÷", "a×b", "2÷3", "x\u0301y", "\u0301", "\u0301abc", "\u0300\u0301", "a\u034fb", "=\u0338",
    "a" * 64, "a" * 65, "ệ" * 64, "ệ" * 65, unicodedata.normalize("NFD", "ệ" * 64), "1" * 65,
    "ไทย", "ห้องสมุด", "เด็กๆไปห้องสมุดเพื่ออ่านหนังสือ", "ພາສາລາວ", "ꪼꪒꪣ", "ꪀꪱꪉ", "ꪹꪀꪷꪉ",
    "ꪎꪲꪉꪀꪱꪉꪙꪾꪹꪣꪉ", "abcไทย", "ไทยabc", "lúaꪀꪱꪉ", "ΟΔΟΣ", "ὈΔΥΣΣΕΎΣ", "straße", "STRASSE", "ẞ",
    "ıi", "İstanbul", "DİYARBAKIR", "ﬁnance", "ﬀ", "ｱｲｳ", "ＡＢＣ１２３", "ｌúａ", "😀", "a😀b", "𝐀𝐁",
    "𐐀𐐨", "ǅ", "Ǆ", "ŉ", "ǰ", "ẖ", "ő", "ø", "ł", "ħ", "ŧ", "ð", "æ", "œ", "µ", "ª", "º", "½", "²",
    "①", "٣", "٣٤", "Привет", "ёлка", "Ωμέγα", "हिन्दी", "中文字", "한국어", "\u1100\u1161", "ᄀ",
    "\ud800", "a\udfffb", "\u200b", "a\u200bb", "\u00ad", "a\u00adb", "\ufeff", "_a_", "a_b",
]
SPACES = [
    " ", " ", " ", "  ", "\t", "\n", "\r\n", "\x0b", "\x0c", "\x1c", "\x85", "\u00a0", "\u2000", "\u2009",
    "\u202f", "\u3000", "\u2028", "\u2029", " \u00a0 ",
]


def generated_pieces(rng, count):
    """``count`` random pieces: words and punctuation, glued together, cased and decomposed at random."""
    pieces = []
    for _ in range(count):
        parts = []
        for _ in range(rng.choice((1, 1, 1, 2, 3))):
            kind = rng.random()
            if kind < 0.5:
                parts.append(rng.choice(VIETNAMESE))
            elif kind < 0.75:
                parts.append(rng.choice(PUNCTUATION))
            elif kind < 0.8:
                parts.append(str(rng.randrange(10 ** rng.randrange(1, 6))))
            else:
                parts.append(rng.choice(ODD_WORDS))
        piece = "".join(parts)
        if rng.random() < 0.15:
            piece = piece.upper()
        if rng.random() < 0.15:
            piece = unicodedata.normalize("NFD", piece)
        pieces.append(piece)
    return pieces


def generated_text(rng, count):
    """A random text of ``count`` pieces separated by all sorts of whitespace."""
    out = []
    for piece in generated_pieces(rng, count):
        out.append(piece)
        out.append(rng.choice(SPACES))
    return rng.choice(["", " ", "\n"]) + "".join(out[:-1])


def generated_corpus():
    """Seeded random texts, short and long."""
    rng = random.Random(20240517)
    return [generated_text(rng, rng.choice((1, 2, 5, 20, 200))) for _ in range(400)]


def test_fast_and_word_by_word_paths_agree_on_generated_text():
    for text in generated_corpus():
        assert index_streams(text) == word_by_word_streams(text), ascii(text)


def test_paths_agree_when_the_piece_cache_is_emptied(monkeypatch):
    cache = analysis._PieceCache(max_bytes=5_000)
    monkeypatch.setattr(analysis, "_PIECES", cache)
    corpus = generated_corpus()[:100]
    for text in corpus + corpus:  # the second round finds pieces in the cache
        assert index_streams(text) == word_by_word_streams(text), ascii(text)
        assert cache.size <= cache.max_bytes
    assert 0 < len(cache.folded) == len(cache.exact) < 200


def characters_of(character_class):
    """Every character of a regex character class body, in code point order."""
    everything = "".join(map(chr, range(0x110000)))
    return re.findall(f"[{character_class}]", everything)


def test_every_latin_letter_with_every_diacritic_agrees():
    letters = characters_of(analysis._LATIN_ALNUM)
    marks = [chr(code) for code in range(0x0300, 0x0370)]
    pieces = letters + [letter + mark for letter in letters for mark in marks]
    pieces += [mark + letter for letter in letters[::7] for mark in marks]
    text = " ".join(pieces)
    assert index_streams(text) == word_by_word_streams(text)


def test_plain_pieces_hold_one_word_and_punctuation_only():
    word = re.compile(f"[{word_char_class()}]")
    for char in characters_of(analysis._LATIN_ALNUM):
        assert char.isalnum() and word.match(char) and char not in "×÷_", hex(ord(char))
    for char in characters_of(analysis._PLAIN_PUNCTUATION):
        assert not word.match(char) and not char.isspace() and char != "_", hex(ord(char))


def test_no_character_is_both_a_word_character_and_whitespace():
    # index_streams cuts the text at whitespace: no token may span it.
    word = re.compile(f"[{word_char_class()}]")
    assert not [code for code in range(0x110000) if chr(code).isspace() and word.match(chr(code))]


def test_normalization_never_acts_across_whitespace():
    # index_streams normalizes each piece between whitespace on its own: NFC of the
    # whole text must be the pieces' NFC. A space that is a starter and takes part in
    # no canonical composition can neither be reordered nor composed with a neighbour.
    composed_from = set()
    for code in range(0x110000):
        decomposition = unicodedata.decomposition(chr(code)).split()
        if len(decomposition) > 1 and not decomposition[0].startswith("<"):
            composed_from.update(chr(int(part, 16)) for part in decomposition)
    spaces = [chr(code) for code in range(0x110000) if chr(code).isspace()]
    for space in spaces:
        assert unicodedata.combining(space) == 0 and space not in composed_from, hex(ord(space))
        assert analysis.normalize(space).isspace()


@pytest.mark.parametrize(
    "text",
    [
        "Lúa nước xanh, mùa   gặt!  «Cánh đồng» — 2024/05: (ôi) tôi_đi\tvề\n\nnhà.",
        "a\u00a0b\u2009c\u3000d\u2028e\x1cf...g--h''i",
        "¿Qué? ¡Sí! naïve café ÆØÅ straße Ωμέγα Привет 123,45 ½ ² x\u0301y",
        "   ,,, ... ",
        "",
        "\u0301 \u0301a a\u0301 ×÷ a×b a\u034fb =\u0338 ﬁ ıİ ΟΔΟΣ ＡＢＣ ｱ 😀 𝐀 \ud800 a\udfffb",
        "abcไทย ไปอ่านหนังสือ, ພາສາລາວ ꪼꪒꪣ ꪀꪱꪉ ꪎꪲꪉꪀꪱꪉꪙꪾꪹꪣꪉ, lúa_ꪀꪱꪉ",
        "a" * 64 + " " + "b" * 65 + " " + unicodedata.normalize("NFD", "ệ" * 64) + ", " + "ệ" * 65 + ".",
    ],
)
def test_fast_path_finds_the_words_the_word_pattern_finds(text):
    assert index_streams(text) == word_by_word_streams(text)
    assert index_streams(text) == index_streams(text)  # again, from the cache of pieces
