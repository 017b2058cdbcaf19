"""Telegram's HTML parse mode as the emulator applies it: what it accepts, renders and refuses."""

from __future__ import annotations

import pytest

from emulator.errors import ApiError
from emulator.formatting import format_text, parse_html, utf16_len
from emulator.models import Entity


def refusal(html: str) -> str:
    with pytest.raises(ApiError) as refused:
        parse_html(html)
    assert refused.value.code == 400
    return refused.value.description.removeprefix("Bad Request: can't parse entities: ")


def test_counts_length_in_utf16_code_units() -> None:
    assert utf16_len("abc") == 3
    assert utf16_len("😀") == 2  # outside the BMP: a surrogate pair
    assert utf16_len("مرحبا") == 5


def test_accepts_nested_tags_and_decodes_entities() -> None:
    parsed = parse_html("<b>bold <i>both</i></b> &lt;3 &amp; &quot;q&quot; &#128512; &#x41;")

    assert parsed.text == 'bold both <3 & "q" 😀 A'
    assert parsed.entities == (Entity("bold", 0, 9), Entity("italic", 5, 4))


def test_entity_offsets_count_utf16_units_after_emoji() -> None:
    parsed = parse_html("😀 <u>x</u>")

    assert parsed.entities == (Entity("underline", 3, 1),)


def test_accepts_every_supported_tag() -> None:
    html = (
        "<strong>a</strong><em>b</em><ins>c</ins><s>d</s><strike>e</strike><del>f</del>"
        '<span class="tg-spoiler">g</span><tg-spoiler>h</tg-spoiler><a href="https://example.org">i</a>'
        '<code>j</code><pre>k</pre><pre><code class="language-python">l</code></pre>'
        "<blockquote>m</blockquote><blockquote expandable>n</blockquote>"
        '<tg-emoji emoji-id="5368324170671202286">o</tg-emoji>'
    )

    parsed = parse_html(html)

    assert parsed.text == "abcdefghijklmno"
    assert [(e.type, e.offset) for e in parsed.entities] == [
        ("bold", 0),
        ("italic", 1),
        ("underline", 2),
        ("strikethrough", 3),
        ("strikethrough", 4),
        ("strikethrough", 5),
        ("spoiler", 6),
        ("spoiler", 7),
        ("text_link", 8),
        ("code", 9),
        ("pre", 10),
        ("pre", 11),
        ("blockquote", 12),
        ("expandable_blockquote", 13),
        ("custom_emoji", 14),
    ]
    assert parsed.entities[8].url == "https://example.org"
    assert parsed.entities[11].language == "python"
    assert parsed.entities[14].custom_emoji_id == "5368324170671202286"


def test_tag_names_and_unquoted_attributes_are_case_insensitive() -> None:
    assert parse_html("<B>x</b>").entities == (Entity("bold", 0, 1),)
    assert parse_html("<a href=Example.org>x</a>").entities == (
        Entity("text_link", 0, 1, url="http://example.org"),
    )


def test_keeps_a_bare_ampersand_as_text() -> None:
    assert parse_html("Q&A, AT&T").text == "Q&A, AT&T"


def test_refuses_an_unsupported_tag_with_its_byte_offset() -> None:
    assert refusal("Hey <foo>x</foo>") == 'Unsupported start tag "foo" at byte offset 4'
    assert refusal("Ñ <br>") == 'Unsupported start tag "br" at byte offset 3'  # Ñ is two bytes


def test_refuses_a_bare_less_than_sign() -> None:
    assert refusal("1 < 2") == 'Unsupported start tag "" at byte offset 2'
    assert refusal("a <") == "Unclosed start tag at byte offset 2"


def test_refuses_unclosed_and_misnested_tags() -> None:
    assert refusal("<b>x") == 'Can\'t find end tag corresponding to start tag "b"'
    assert refusal("<b><i>x</b></i>") == 'Unmatched end tag at byte offset 7, expected "</i>", found "</b>"'
    assert refusal("x</b>") == "Unexpected end tag at byte offset 1"
    assert refusal("<b>x</b") == "Unclosed end tag at byte offset 4"


def test_refuses_malformed_attributes() -> None:
    assert refusal("<span>x</span>") == 'Tag "span" must have class "tg-spoiler" at byte offset 0'
    assert refusal('<a ="x">y</a>') == 'Empty attribute name in the tag "a" at byte offset 0'
    assert (
        refusal("<a href>y</a>")
        == 'Expected equal sign in declaration of an attribute of the tag "a" at byte offset 0'
    )
    assert refusal("<a href=x/>y</a>") == "Unexpected end of name token at byte offset 8"
    assert refusal('<tg-emoji emoji-id="x">y</tg-emoji>') == "Invalid custom emoji identifier specified"


def test_refuses_unknown_named_entities() -> None:
    # Telegram would print "&nbsp;" literally; the emulator refuses it so the bug shows up in tests.
    assert refusal("a&nbsp;b") == 'Unsupported HTML entity "&nbsp;" at byte offset 1'


def test_trims_surrounding_whitespace_and_clips_entities() -> None:
    formatted = format_text("\n  <b> hi </b>\n", "HTML")

    assert formatted.text == "hi"
    assert formatted.entities == (Entity("bold", 0, 2),)


def test_plain_text_has_no_entities_even_with_tags() -> None:
    assert format_text("<b>x</b>", None).text == "<b>x</b>"


def test_refuses_markdown_parse_modes() -> None:
    with pytest.raises(ApiError, match="unsupported parse_mode"):
        format_text("*x*", "MarkdownV2")
