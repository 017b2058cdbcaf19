"""Locale resolution and locale-aware formatting."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.i18n import FSI, PDI, RLM, Catalogs


@pytest.fixture(scope="module")
def catalogs() -> Catalogs:
    return Catalogs.load()


@pytest.mark.parametrize(("stored", "language_code", "expected"), [
    ("fr", "ru", "fr"),  # a stored choice wins
    (None, "ru", "ru"),
    (None, "zh-hans", "zh"),
    (None, "es-419", "es"),
    (None, "pt-br", "en"),  # not shipped: English
    (None, None, "en"),  # the first /start can come without a language
    ("xx", "sw", "sw"),  # a stored locale no longer shipped
])
def test_resolves_stored_choice_then_telegram_language_then_english(
        catalogs: Catalogs, stored: str | None, language_code: str | None, expected: str) -> None:
    assert catalogs.resolve(stored, language_code) == expected


def test_numbers_follow_the_locale(catalogs: Catalogs) -> None:
    assert catalogs.translator("en").number(1500) == "1,500"
    assert catalogs.translator("fr").number(1500) == "1\u202f500"
    assert catalogs.translator("en").number(62.5, decimals=1) == "62.5"


def test_right_to_left_text_isolates_numbers_and_marks_every_line(catalogs: Catalogs) -> None:
    ar = catalogs.translator("ar")
    assert ar.rtl and not catalogs.translator("en").rtl
    assert ar.number(7) == f"{FSI}7{PDI}"
    assert ar.directed("أ\n\nب") == f"{RLM}أ\n\n{RLM}ب"
    assert catalogs.translator("en").directed("a\nb") == "a\nb"


def test_languages_are_offered_by_their_own_names(catalogs: Catalogs) -> None:
    names = {locale: catalogs.autonym(locale) for locale in catalogs.locales}
    assert names["fr"] == "Français" and names["sw"] == "Kiswahili" and names["ar"] == "العربية"
    assert catalogs.locales[0] == "en"


def test_a_number_formatted_again_is_the_same_whatever_was_formatted_before(
    catalogs: Catalogs,
) -> None:
    fr = catalogs.translator("fr")

    first = [fr.number(5), fr.number(5, decimals=1), fr.number(1234.5, decimals=1)]
    again = [fr.number(5), fr.number(5, decimals=1), fr.number(1234.5, decimals=1)]

    assert first == again == ["5", "5,0", "1\u202f234,5"]


def test_numbers_that_compare_equal_are_still_written_as_themselves(catalogs: Catalogs) -> None:
    en = catalogs.translator("en")

    assert [en.number(0), en.number(-0.0), en.number(0)] == ["0", "-0", "0"]


def test_each_locale_has_one_translator_shared_by_all_updates(catalogs: Catalogs) -> None:
    assert catalogs.translator("sw") is catalogs.translator("sw")
    assert catalogs.translator("sw").locale == "sw"


def test_times_are_written_in_the_installations_zone_with_the_month_in_words(
        catalogs: Catalogs) -> None:
    moment = datetime(2027, 10, 1, 6, 0, tzinfo=UTC)
    nairobi = catalogs.in_zone(ZoneInfo("Africa/Nairobi"))
    # English in Kenya: day, month in words, year; never "1/10/27" or "10/1/27".
    assert nairobi.translator("en").moment(moment) == "1 October 2027, 09:00 (Africa/Nairobi)"
    assert nairobi.translator("sw").moment(moment) == "1 Oktoba 2027 09:00 (Africa/Nairobi)"
    assert catalogs.translator("en").moment(moment) == "October 1, 2027, 6:00\u202fAM (UTC)"
    arabic = catalogs.translator("ar").moment(moment)
    assert arabic.startswith(FSI) and "أكتوبر" in arabic and "/" not in arabic
