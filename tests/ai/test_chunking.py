import pytest

from rookdb.ai.chunking import (
    ChunkingMethod,
    ChunkingOptions,
    apply_context_prefix,
    chunk,
    estimate_tokens,
    strip_html,
    validate_chunking_options,
)
from rookdb.errors import ValidationError

M = ChunkingMethod
FOX = "The quick brown fox jumps over the lazy dog"


def _chunk(text: str | list[str], method: ChunkingMethod, max_tokens: int, overlap: int = 0) -> list[str]:
    return chunk(text, ChunkingOptions(method, max_tokens, overlap))


def test_estimate_tokens_is_length_over_four() -> None:
    assert [estimate_tokens("x" * n) for n in (0, 3, 4, 7, 8, 2048)] == [0, 0, 1, 1, 2, 512]


# PlainTextSplit: at most max * 4 * 0.75 characters per chunk, cut at whitespace only.


def test_plain_text_split_worked_example() -> None:
    # 4 tokens → 12 characters per chunk.
    assert _chunk(FOX, M.PLAIN_TEXT_SPLIT, 4) == ["The quick", "brown fox", "jumps over", "the lazy dog"]


def test_plain_text_split_one_word_per_chunk_when_tight() -> None:
    # 2 tokens → 6 characters: every word is alone.
    assert _chunk(FOX, M.PLAIN_TEXT_SPLIT, 2) == FOX.split()


def test_plain_text_split_never_cuts_a_word() -> None:
    assert _chunk("a supercalifragilistic word", M.PLAIN_TEXT_SPLIT, 2) == [
        "a",
        "supercalifragilistic",
        "word",
    ]


def test_plain_text_split_keeps_short_text_whole_and_trims() -> None:
    assert _chunk("  hello\n world  ", M.PLAIN_TEXT_SPLIT, 512) == ["hello\n world"]


def test_plain_text_split_chunks_fit_the_character_budget() -> None:
    text = " ".join(f"word{i}" for i in range(2000))
    chunks = _chunk(text, M.PLAIN_TEXT_SPLIT, 50)
    assert all(len(c) <= 150 for c in chunks)
    assert " ".join(chunks) == text


@pytest.mark.parametrize("text", ["", "   ", "\n\t"])
def test_blank_text_gives_no_chunks(text: str) -> None:
    for method in ChunkingMethod:
        assert _chunk(text, method, 16) == []


# PlainTextSplitLines: one chunk per non-empty line; long lines are bisected.


def test_plain_text_split_lines_worked_example() -> None:
    text = "First line.\r\nSecond line is here.\n\n  Third  \rFourth"
    assert _chunk(text, M.PLAIN_TEXT_SPLIT_LINES, 100) == [
        "First line.",
        "Second line is here.",
        "Third",
        "Fourth",
    ]


def test_plain_text_split_lines_bisects_long_lines_at_the_best_separator() -> None:
    text = "One sentence here. Another sentence follows, with a clause; and more."
    assert _chunk(text, M.PLAIN_TEXT_SPLIT_LINES, 5) == [
        "One sentence here.",
        "Another",
        "sentence follows,",
        "with a clause;",
        "and more.",
    ]


def test_split_lines_cuts_in_the_middle_without_separators() -> None:
    assert _chunk("abcdefghijklmnop", M.PLAIN_TEXT_SPLIT_LINES, 2) == ["abcdefgh", "ijklmnop"]
    # 40 chars (10 tokens) → 20 + 20 (5 tokens each) → four pieces of 10 chars (2 tokens).
    assert _chunk("x" * 40, M.PLAIN_TEXT_SPLIT_LINES, 2) == ["x" * 10] * 4


def test_split_lines_survives_long_texts() -> None:
    chunks = _chunk("y" * 100_000, M.PLAIN_TEXT_SPLIT_LINES, 10)
    assert "".join(chunks) == "y" * 100_000
    assert all(estimate_tokens(c) <= 10 for c in chunks)


def test_list_input_chunks_each_item_for_line_methods() -> None:
    assert _chunk(["a b", "c\nd"], M.PLAIN_TEXT_SPLIT_LINES, 10) == ["a b", "c", "d"]
    assert _chunk(["a b", "c d"], M.PLAIN_TEXT_SPLIT, 10) == ["a b", "c d"]


# MarkDownSplitLines: no line pre-split; punctuation first, line breaks last.


def test_markdown_split_lines_worked_example() -> None:
    text = "# Title\nSome text. More text here, ok."
    assert _chunk(text, M.MARK_DOWN_SPLIT_LINES, 4) == ["# Title\nSome text.", "More text here, ok."]


def test_markdown_split_lines_keeps_a_fitting_block_whole() -> None:
    assert _chunk("# A\n\n- one\n- two\n", M.MARK_DOWN_SPLIT_LINES, 100) == ["# A\n\n- one\n- two"]


# Paragraph methods: lines packed into paragraphs; overlap appends the next paragraph's start.


def test_plain_text_split_paragraphs_worked_example() -> None:
    lines = ["aaaa bbbb cccc dddd", "eeee ffff gggg hhhh", "iiii"]
    assert _chunk(lines, M.PLAIN_TEXT_SPLIT_PARAGRAPHS, 8) == [
        "aaaa bbbb cccc dddd",
        "eeee ffff gggg hhhh\niiii",
    ]


def test_plain_text_split_paragraphs_with_overlap() -> None:
    lines = ["aaaa bbbb cccc dddd", "eeee ffff gggg hhhh", "iiii jjjj kkkk llll"]
    # Budget 8 - 2 = 6 tokens per paragraph; each gets the next paragraph's first 2 tokens.
    assert _chunk(lines, M.PLAIN_TEXT_SPLIT_PARAGRAPHS, 8, 2) == [
        "aaaa bbbb cccc dddd eeee ffff ",
        "eeee ffff gggg hhhh iiii jjjj ",
        "iiii jjjj kkkk llll",
    ]


def test_paragraphs_pack_short_lines_together() -> None:
    text = "one\ntwo\nthree\nfour"
    assert _chunk(text, M.PLAIN_TEXT_SPLIT_PARAGRAPHS, 100) == ["one\ntwo\nthree\nfour"]
    assert _chunk(text.replace("\n", "\r"), M.PLAIN_TEXT_SPLIT_PARAGRAPHS, 100) == ["one\ntwo\nthree\nfour"]


def test_paragraphs_merge_a_short_tail_into_the_previous_paragraph() -> None:
    # Line 1 is 21 chars (5 tokens). Adding "tail" costs 1 + 1 + 22 // 4 = 7 >= 6, so a new
    # paragraph starts; "tail" (1 token) is not under 6 // 4 = 1, so it stays on its own.
    assert _chunk(["xxxx xxxx xxxx xxxx x", "tail"], M.PLAIN_TEXT_SPLIT_PARAGRAPHS, 6) == [
        "xxxx xxxx xxxx xxxx x",
        "tail",
    ]
    # Line 1 is 76 chars (19 tokens); "end" costs 0 + 1 + 77 // 4 = 20 >= 20, so it starts a
    # paragraph, but it is under 20 // 4 = 5 tokens and is folded back in after one space.
    long_line = "w" * 60 + " " + "v" * 15
    assert _chunk([long_line, "end"], M.PLAIN_TEXT_SPLIT_PARAGRAPHS, 20) == [long_line + " end"]


def test_markdown_split_paragraphs_worked_example() -> None:
    lines = ["# Heading", "First paragraph text.", "Second paragraph, longer text here."]
    assert _chunk(lines, M.MARK_DOWN_SPLIT_PARAGRAPHS, 10) == [
        "# Heading\nFirst paragraph text.",
        "Second paragraph, longer text here.",
    ]
    # Budget 12 - 3 = 9. The overlap is the first piece of the next paragraph split to 3 tokens:
    # "." is its last char (never a cut), "," gives "Second paragraph," (4 tokens, still over),
    # then the space nearest its middle gives "Second ".
    assert _chunk(lines, M.MARK_DOWN_SPLIT_PARAGRAPHS, 12, 3) == [
        "# Heading\nFirst paragraph text. Second ",
        "Second paragraph, longer text here.",
    ]


# HtmlStrip: tags removed, entities decoded, then PlainTextSplit.


def test_strip_html() -> None:
    html = "<p>Hello &amp; <b>welcome</b></p><script>var x = 1;</script><style>p{}</style><p>to&nbsp;rook</p>"
    assert strip_html(html) == "Hello & welcome to\xa0rook"
    assert strip_html("<!-- c --><div>a<br/>b</div>") == "a b"
    assert strip_html("plain &lt;text&gt;") == "plain <text>"


def test_html_strip_worked_example() -> None:
    html = "<h1>The quick</h1><p>brown fox jumps <i>over</i> the lazy dog</p>"
    assert _chunk(html, M.HTML_STRIP, 4) == ["The quick", "brown fox", "jumps over", "the lazy dog"]


# Context prefix.


def test_context_prefix_is_trimmed_spaced_and_charged_to_the_budget() -> None:
    # "Animals:" costs ceil(9 / 4) = 3 tokens with its space: 7 - 3 = 4 tokens → 12 chars per chunk.
    options = ChunkingOptions(M.PLAIN_TEXT_SPLIT, 7, context_prefix="Animals:  \n")
    assert chunk(FOX, options) == [
        "Animals: The quick",
        "Animals: brown fox",
        "Animals: jumps over",
        "Animals: the lazy dog",
    ]


def test_context_prefix_on_unchunked_values() -> None:
    assert apply_context_prefix(["a", "b c"], "Title: X ") == ["Title: X a", "Title: X b c"]
    with pytest.raises(ValidationError):
        apply_context_prefix(["a"], "  ")


@pytest.mark.parametrize("prefix", ["", "   ", "\n"])
def test_blank_context_prefix_is_refused(prefix: str) -> None:
    with pytest.raises(ValidationError) as raised:
        chunk("text", ChunkingOptions(context_prefix=prefix))
    assert raised.value.field == "ChunkingOptions.ContextPrefix"


def test_context_prefix_that_leaves_no_room_is_refused() -> None:
    # 7 chars + space = 2 tokens: nothing is left of a 2-token budget.
    with pytest.raises(ValidationError, match="leaves no room") as raised:
        chunk("text", ChunkingOptions(M.PLAIN_TEXT_SPLIT, 2, context_prefix="Prefix7"))
    assert raised.value.field == "ChunkingOptions.ContextPrefix"
    assert chunk("text", ChunkingOptions(M.PLAIN_TEXT_SPLIT, 3, context_prefix="Prefix7")) == ["Prefix7 text"]


def test_overlap_must_fit_in_what_the_prefix_leaves() -> None:
    # "A long prefix" + space is 14 chars: 4 tokens, leaving 6 of 10.
    options = ChunkingOptions(M.PLAIN_TEXT_SPLIT_PARAGRAPHS, 10, 6, context_prefix="A long prefix")
    with pytest.raises(ValidationError, match="left after the context prefix") as raised:
        chunk("text", options)
    assert raised.value.field == "ChunkingOptions.OverlapTokens"
    fine = ChunkingOptions(M.PLAIN_TEXT_SPLIT_PARAGRAPHS, 10, 5, context_prefix="A long prefix")
    assert chunk("text", fine) == ["A long prefix text"]


# Validation and wire JSON.


@pytest.mark.parametrize(
    ("options", "field", "rule"),
    [
        (ChunkingOptions(max_tokens_per_chunk=0), "MaxTokensPerChunk", "at least 1"),
        (ChunkingOptions(M.PLAIN_TEXT_SPLIT_PARAGRAPHS, 10, -1), "OverlapTokens", "negative"),
        (ChunkingOptions(M.PLAIN_TEXT_SPLIT, 10, 2), "OverlapTokens", "only supported"),
        (ChunkingOptions(M.HTML_STRIP, 10, 1), "OverlapTokens", "only supported"),
        (ChunkingOptions(M.MARK_DOWN_SPLIT_PARAGRAPHS, 10, 10), "OverlapTokens", "less than"),
        (ChunkingOptions("Words", 10), "ChunkingMethod", "unknown"),  # type: ignore[arg-type]
    ],
)
def test_invalid_options(options: ChunkingOptions, field: str, rule: str) -> None:
    with pytest.raises(ValidationError, match=rule) as raised:
        validate_chunking_options(options, "Paths[0].ChunkingOptions")
    assert raised.value.field == f"Paths[0].ChunkingOptions.{field}"


def test_default_options() -> None:
    options = ChunkingOptions()
    assert (options.method, options.max_tokens_per_chunk, options.overlap_tokens, options.context_prefix) == (
        M.PLAIN_TEXT_SPLIT,
        512,
        0,
        None,
    )
    validate_chunking_options(options)


def test_options_wire_round_trip_through_the_client() -> None:
    from ravendb.documents.operations.ai.chunking_options import ChunkingMethod as ClientMethod
    from ravendb.documents.operations.ai.chunking_options import ChunkingOptions as ClientOptions

    sent = ClientOptions(ClientMethod.MARK_DOWN_SPLIT_PARAGRAPHS, 2048, 128, "Doc:").to_json()
    options = ChunkingOptions.from_json(sent)
    assert options == ChunkingOptions(M.MARK_DOWN_SPLIT_PARAGRAPHS, 2048, 128, "Doc:")
    assert options.to_json() == sent
    assert ClientOptions.from_json(options.to_json()) == ClientOptions.from_json(sent)


def test_options_wire_defaults_and_errors() -> None:
    assert ChunkingOptions.from_json({}) == ChunkingOptions()
    assert ChunkingOptions.from_json({"ChunkingMethod": None, "MaxTokensPerChunk": None}) == ChunkingOptions()
    with pytest.raises(ValidationError) as raised:
        ChunkingOptions.from_json({"ChunkingMethod": "Words"}, "X")
    assert raised.value.field == "X.ChunkingMethod"
    with pytest.raises(ValidationError) as raised:
        ChunkingOptions.from_json({"MaxTokensPerChunk": "512"}, "X")
    assert raised.value.field == "X.MaxTokensPerChunk"
    with pytest.raises(ValidationError):
        ChunkingOptions.from_json({"OverlapTokens": True})
    with pytest.raises(ValidationError):
        ChunkingOptions.from_json({"ContextPrefix": 5})
    with pytest.raises(ValidationError):
        ChunkingOptions.from_json([])
