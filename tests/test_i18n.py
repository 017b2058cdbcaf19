"""Locale resolution and locale-aware formatting."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from babel import Locale

from bot import callbacks
from bot.i18n import DIGITS, FSI, PDI, RLM, Catalogs
from bot.screens import language_picker


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
    (None, "kk", "kk"),  # the languages of the METEP pilot countries and Uzbekistan
    (None, "id", "id"),
    (None, "az", "az"),
    (None, "fa", "fa"),
    (None, "uz", "uz"),
    (None, "fa-ir", "fa"),
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


def test_the_pilot_countries_languages_are_named_as_their_speakers_name_them() -> None:
    # babel's CLDR names are "Indonesia", "azərbaycan" and "o‘zbek" (with a quotation mark,
    # not Uzbek's letter ʻ): the picker overrides those.
    names = [Catalogs.autonym(locale) for locale in ("kk", "id", "az", "fa", "uz")]
    assert names == ["Қазақ тілі", "Bahasa Indonesia", "Azərbaycan dili", "فارسی", "Oʻzbekcha"]


def test_twelve_languages_fit_a_phone_two_to_a_row(catalogs: Catalogs) -> None:
    picker = language_picker(catalogs.translator("fa"), catalogs, "fa", greeting=True)
    assert picker.keyboard is not None
    rows = picker.keyboard.inline_keyboard
    assert [len(row) for row in rows] == [2] * 6
    buttons = [button for row in rows for button in row]
    assert [callbacks.decode(b.callback_data) for b in buttons] == [
        callbacks.PickLanguage(locale) for locale in catalogs.locales]
    assert "✓ فارسی" in [b.text for b in buttons]
    assert max(len(b.text) for b in buttons) <= 18  # about half a phone's width


def test_persian_reads_right_to_left_like_arabic(catalogs: Catalogs) -> None:
    fa = catalogs.translator("fa")
    assert fa.rtl
    assert fa.directed("الف\n\nب") == f"{RLM}الف\n\n{RLM}ب"
    assert fa.isolate("Baraza") == f"{FSI}Baraza{PDI}"


def test_back_arrows_point_back_in_the_reading_direction(catalogs: Catalogs) -> None:
    assert catalogs.translator("en").back("Back") == "◀ Back"
    assert catalogs.translator("ar").back("رجوع") == "▶ رجوع"
    assert catalogs.translator("fa").back("بازگشت") == "▶ بازگشت"


def test_persian_numbers_are_written_in_persian_digits_and_isolated(catalogs: Catalogs) -> None:
    fa = catalogs.translator("fa")
    assert fa.number(1234567) == f"{FSI}۱٬۲۳۴٬۵۶۷{PDI}"
    assert fa.number(62.5, decimals=1) == f"{FSI}۶۲٫۵{PDI}"
    assert fa.signed(23) == f"{FSI}+۲۳{PDI}" and fa.signed(-8) == f"{FSI}-۸{PDI}"
    assert fa.plain_number(25) == "۲۵"  # for a chart: no bidi controls to draw
    moment = fa.moment(datetime(2026, 5, 1, 9, 30, tzinfo=UTC))
    assert "۲۰۲۶" in moment and "۹:۳۰" in moment and not any(c.isascii() and c.isdigit()
                                                             for c in moment)


def test_every_locale_writes_the_digits_of_its_cldr_default_numbering_system(
        catalogs: Catalogs) -> None:
    for locale in (*catalogs.locales, "kk", "id", "az", "fa", "uz"):
        digits = DIGITS[Locale.parse(locale).default_numbering_system]
        text = catalogs.translator(locale).plain_number(1234567890)
        assert {c for c in text if c.isdigit()} == set(digits), locale


def test_signed_gaps_keep_their_sign(catalogs: Catalogs) -> None:
    en = catalogs.translator("en")
    assert [en.signed(23), en.signed(-8), en.signed(0)] == ["+23", "-8", "0"]
    assert catalogs.translator("ar").signed(5) == f"{FSI}+5{PDI}"


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


def test_a_persian_chart_labels_its_bars_and_axis_in_persian_digits(catalogs: Catalogs) -> None:
    from bot import charts

    fa = catalogs.translator("fa")
    figure = charts.draw(["یک", "دو"], [49.9, 0.4], [75.99, None],
                         charts.ChartTexts("عنوان", "امتیاز", "شهروندان", "مسئولان",
                                           number=fa.plain_number))

    (axes,) = figure.axes
    assert [t.get_text() for t in axes.texts] == ["۴۹", "۰", "۷۵"]
    assert [t.get_text() for t in axes.get_yticklabels()] == ["۰", "۲۵", "۵۰", "۷۵", "۱۰۰"]


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
