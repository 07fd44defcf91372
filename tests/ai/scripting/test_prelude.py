"""The script API an embeddings script sees (the prelude): helpers, raw values, prefixes, generate."""

import pytest

from rookdb.ai.scripting import CHUNKING_METHODS, ChunkingRequest, FieldSource, ScriptOutput
from tests.support.scripting import DOCS_EXAMPLE, error_of, only, run

# --- helpers: each one is a marker with its method and token settings ---


@pytest.mark.parametrize(
    ("call", "method", "max_tokens", "overlap"),
    [
        ("text.split(this.Name, 100)", "PlainTextSplit", 100, 0),
        ("text.split(this.Name)", "PlainTextSplit", 512, 0),
        ("text.splitLines(this.Name, 64)", "PlainTextSplitLines", 64, 0),
        ("text.splitParagraphs(this.Name, 2048, 128)", "PlainTextSplitParagraphs", 2048, 128),
        ("text.splitParagraphs(this.Name, 300)", "PlainTextSplitParagraphs", 300, 0),
        ("text.splitParagraphs(this.Name)", "PlainTextSplitParagraphs", 512, 0),
        ("markdown.splitLines(this.Name, 10)", "MarkDownSplitLines", 10, 0),
        ("markdown.splitParagraphs(this.Name, 20, 5)", "MarkDownSplitParagraphs", 20, 5),
        ("html.strip(this.Name, 30)", "HtmlStrip", 30, 0),
        ("html.strip(this.Name)", "HtmlStrip", 512, 0),
    ],
)
def test_helper_describes_chunking(call: str, method: str, max_tokens: int, overlap: int) -> None:
    source = only(run(f"embeddings.generate({{ F: {call} }});"), "F")
    assert source == FieldSource(("Chai",), ChunkingRequest(method, max_tokens, overlap), None)  # type: ignore[arg-type]


def test_every_chunking_method_has_a_helper() -> None:
    script = (
        "embeddings.generate({ A: text.split('a'), B: text.splitLines('b'), C: text.splitParagraphs('c'), "
        "D: markdown.splitLines('d'), E: markdown.splitParagraphs('e'), F: html.strip('f') });"
    )
    methods = {s.chunking.method for sources in run(script).fields.values() for s in sources if s.chunking}
    assert methods == CHUNKING_METHODS


def test_helper_takes_an_array_and_skips_nulls() -> None:
    source = only(run("embeddings.generate({ T: text.split(['a', null, 'b', undefined], 50) });"), "T")
    assert source.texts == ("a", "b")


def test_helper_on_null_leaves_the_field_out() -> None:
    output = run("embeddings.generate({ N: text.split(this.Notes, 50), M: html.strip(this.Missing, 5) });")
    assert output == ScriptOutput(generated=True, fields={})


def test_helper_does_not_chunk_in_javascript() -> None:
    long_text = "word " * 5000
    source = only(run("embeddings.generate({ T: text.split(this.Body, 1) });", {"Body": long_text}), "T")
    assert source.texts == (long_text,)


# --- raw values ---


def test_raw_string_uses_default_chunking() -> None:
    assert only(run("embeddings.generate({ Name: this.Name });"), "Name") == FieldSource(
        ("Chai",), None, None
    )


def test_raw_array_skips_nulls() -> None:
    assert only(run("embeddings.generate({ Tags: this.Tags });"), "Tags").texts == ("tea", "drink")


def test_null_undefined_and_empty_fields_are_skipped() -> None:
    output = run(
        "embeddings.generate({ Notes: this.Notes, Missing: this.Missing, Empty: [], Name: this.Name });"
    )
    assert list(output.fields) == ["Name"]


def test_raw_text_keeps_its_whitespace() -> None:
    assert only(run("embeddings.generate({ Title: this.Title });"), "Title").texts == ("Chai tea  ",)


def test_array_mixing_helpers_and_strings_gives_one_source_each() -> None:
    script = (
        "embeddings.generate({ T: [html.strip('<b>x</b>'), 'a', 'b', markdown.splitLines('m', 20), 'c'] });"
    )
    sources = run(script).fields["T"]
    assert [(s.texts, s.chunking and s.chunking.method) for s in sources] == [
        (("<b>x</b>",), "HtmlStrip"),
        (("a", "b"), None),
        (("m",), "MarkDownSplitLines"),
        (("c",), None),
    ]


def test_field_order_follows_the_script_even_for_numeric_names() -> None:
    output = run("embeddings.generate({ b: 'x', 2: 'y', a: 'z', 1: 'w' });")
    # A JavaScript object would list "1" and "2" first; RavenDB's field order is the insertion order.
    assert list(output.fields) == ["1", "2", "b", "a"]


def test_document_metadata_is_visible() -> None:
    output = run("embeddings.generate({ C: this['@metadata']['@collection'] });")
    assert only(output, "C").texts == ("Products",)


@pytest.mark.parametrize(
    "script",
    [
        "embeddings.generate({ P: this.PricePerUnit });",
        "embeddings.generate({ P: this.Discontinued });",
        "embeddings.generate({ P: { a: 1 } });",
        "embeddings.generate({ P: [this.Name, 5] });",
        "embeddings.generate({ P: [['nested']] });",
    ],
)
def test_non_string_raw_values_are_errors(script: str) -> None:
    assert "must be a string" in error_of(script)


# --- context prefix ---


def test_canonical_script_resolves_every_level() -> None:
    output = run(DOCS_EXAMPLE)
    assert output == ScriptOutput(
        generated=True,
        fields={
            "Name": (FieldSource(("Chai",), ChunkingRequest("PlainTextSplit", 2048, 0), "Product"),),
            "Description": (
                FieldSource(
                    ("Tea from China.\n\nServed hot.",),
                    ChunkingRequest("PlainTextSplitParagraphs", 2048, 128),
                    "Chai",
                ),
            ),
            "Tags": (FieldSource(("tea", "drink"), None, "Product"),),
            "Title": (FieldSource(("Chai tea  ",), None, "Title"),),
        },
    )


def test_field_prefix_wins_over_generate_prefix() -> None:
    script = (
        "embeddings.generate({ A: text.split('a', 9).withContextPrefix('field') }).withContextPrefix('all');"
    )
    assert only(run(script), "A").context_prefix == "field"


def test_generate_prefix_applies_to_unprefixed_fields() -> None:
    script = "embeddings.generate({ A: text.split('a', 9), B: 'b', C: ['c'] }).withContextPrefix('all');"
    assert {name: only(run(script), name).context_prefix for name in "ABC"} == dict.fromkeys("ABC", "all")


def test_no_prefix_anywhere_is_none() -> None:
    assert only(run("embeddings.generate({ A: 'a' });"), "A").context_prefix is None


def test_prefix_on_a_raw_string() -> None:
    assert only(run("embeddings.generate({ A: this.Name.withContextPrefix('Product name') });"), "A") == (
        FieldSource(("Chai",), None, "Product name")
    )


def test_prefix_on_a_raw_array() -> None:
    source = only(
        run("embeddings.generate({ Tags: this.Tags.withContextPrefix('Tag') }).withContextPrefix('x');"),
        "Tags",
    )
    assert source == FieldSource(("tea", "drink"), None, "Tag")


def test_element_prefix_wins_over_array_prefix() -> None:
    script = (
        "embeddings.generate({ T: [text.split('a', 5).withContextPrefix('own'), text.split('b', 5), 'c']"
        ".withContextPrefix('array') }).withContextPrefix('all');"
    )
    assert [s.context_prefix for s in run(script).fields["T"]] == ["own", "array", "array"]


def test_prefix_can_be_a_document_field_expression() -> None:
    script = "embeddings.generate({ D: text.split(this.Description).withContextPrefix(this.Name + ' / x') });"
    assert only(run(script), "D").context_prefix == "Chai / x"


def test_prefix_trailing_whitespace_is_trimmed() -> None:
    assert only(
        run("embeddings.generate({ T: this.Name.withContextPrefix(this.Title) });"), "T"
    ).context_prefix == ("Chai tea")


def test_last_prefix_call_wins() -> None:
    script = (
        "embeddings.generate({ T: this.Name.withContextPrefix('a').withContextPrefix('b'), U: 'u' })"
        ".withContextPrefix('c').withContextPrefix('d');"
    )
    output = run(script)
    assert (only(output, "T").context_prefix, only(output, "U").context_prefix) == ("b", "d")


def test_with_context_prefix_returns_a_copy() -> None:
    script = "const s = text.split(this.Name, 9); embeddings.generate({ A: s, B: s.withContextPrefix('b') });"
    output = run(script)
    assert (only(output, "A").context_prefix, only(output, "B").context_prefix) == (None, "b")


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        ("text.split('a', 5).withContextPrefix('')", "must not be empty"),
        ("this.Name.withContextPrefix('   ')", "must not be empty"),
        ("this.Tags.withContextPrefix(this.Notes)", "must be a string, got null"),
        ("this.Name.withContextPrefix(5)", "must be a string, got number 5"),
    ],
)
def test_bad_prefixes_are_errors(call: str, expected: str) -> None:
    message = error_of(f"embeddings.generate({{ A: {call} }});")
    assert "withContextPrefix(prefix)" in message
    assert expected in message


def test_empty_generate_prefix_is_an_error() -> None:
    assert "must not be empty" in error_of("embeddings.generate({ A: 'a' }).withContextPrefix('');")


# --- how often generate is called ---


def test_no_generate_call_means_nothing_to_embed() -> None:
    assert run("if (this.Discontinued === false) return; embeddings.generate({ A: 'a' });") == ScriptOutput(
        generated=False, fields={}
    )


def test_generate_with_only_null_fields_still_counts_as_called() -> None:
    assert run("embeddings.generate({ N: this.Notes });") == ScriptOutput(generated=True, fields={})


def test_repeated_generate_calls_merge_like_ravendb() -> None:
    script = (
        "embeddings.generate({ Raw: 'one', Chunked: text.split('first', 10), Keep: 'kept' });"
        "embeddings.generate({ Raw: ['two'], Chunked: text.split('second', 20), New: 'new' })"
        ".withContextPrefix('p');"
    )
    output = run(script)
    # Raw values are added to the field, a chunking result replaces it; each call keeps its own prefix.
    assert output.fields["Raw"] == (FieldSource(("one",), None, None), FieldSource(("two",), None, "p"))
    assert output.fields["Chunked"] == (
        FieldSource(("second",), ChunkingRequest("PlainTextSplit", 20, 0), "p"),
    )
    assert list(output.fields) == ["Raw", "Chunked", "Keep", "New"]


def test_generate_in_a_loop() -> None:
    script = "for (const tag of this.Tags) { if (tag) embeddings.generate({ Tags: tag }); }"
    assert [s.texts for s in run(script).fields["Tags"]] == [("tea",), ("drink",)]


# --- argument validation ---


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        ("text.split(this.Name, 'abc')", 'maxTokens must be a number, got string "abc"'),
        ("text.split(this.Name, null)", "maxTokens must be a number, got null"),
        ("text.split(this.Name, NaN)", "maxTokens must be a number"),
        ("text.split(this.Name, 0)", "maxTokens must be at least 1, got 0"),
        ("text.split(this.Name, 10.5)", "maxTokens must be a whole number, got 10.5"),
        ("text.splitParagraphs(this.Name, 100, -1)", "overlapTokens must not be negative, got -1"),
        ("markdown.splitParagraphs(this.Name, 100, '5')", "overlapTokens must be a number"),
        (
            "text.splitParagraphs(this.Name, 100, 100)",
            "overlapTokens (100) must be less than maxTokens (100)",
        ),
        ("text.split(this.Name, 10, 2)", "takes 1 to 2 arguments, got 3"),
        ("html.strip()", "takes 1 to 2 arguments, got 0"),
        ("text.split(5, 10)", "the first argument must be a string or an array of strings, got number 5"),
        ("text.splitLines([this.Name, 1], 10)", "element 1 of the array must be a string, got number 1"),
    ],
)
def test_bad_helper_arguments_are_errors(call: str, expected: str) -> None:
    assert expected in error_of(f"embeddings.generate({{ A: {call} }});")


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        ("embeddings.generate()", "takes exactly 1 argument, got 0"),
        ("embeddings.generate('text')", 'must be an object whose keys are field names, got string "text"'),
        ("embeddings.generate(null)", "got null"),
        ("embeddings.generate(['a'])", "got an array"),
        ("embeddings.generate(text.split('a'))", "got an object"),
    ],
)
def test_generate_needs_one_object(call: str, expected: str) -> None:
    message = error_of(call + ";")
    assert "embeddings.generate(object)" in message
    assert expected in message


def test_validation_error_names_the_line_of_the_call() -> None:
    message = error_of("var name = this.Name;\n\nembeddings.generate({\n  A: text.split(name, -3) });")
    assert message.startswith("Embeddings script failed at line 4, column ")
