"""Every shipped locale translates every message: nothing missing, nothing fuzzy, nothing stale."""

import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from bot.i18n import DOMAIN, LOCALES_DIR, Catalogs, shipped_locales

# The six UN languages and Swahili, and the languages of the countries that piloted METEP
# (Kazakhstan, Indonesia, Azerbaijan, Iran) and of Uzbekistan.
REQUIRED = {"fr", "es", "ar", "ru", "zh", "sw", "kk", "id", "az", "fa", "uz"}
LOCALES = sorted(p.name for p in LOCALES_DIR.iterdir() if (p / "LC_MESSAGES").is_dir())
ROOT = Path(__file__).resolve().parent.parent
PLACEHOLDER = re.compile(r"\{[a-z_]+\}")
TAG = re.compile(r"</?[a-z]+>")


def catalog(locale: str):  # noqa: ANN201
    with (LOCALES_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.po").open("rb") as handle:
        return read_po(handle, locale=locale)


def template():  # noqa: ANN201
    with (LOCALES_DIR / f"{DOMAIN}.pot").open("rb") as handle:
        return read_po(handle)


def test_ships_twelve_languages_each_listed_in_linguas() -> None:
    assert set(LOCALES) == REQUIRED
    assert set(shipped_locales()) == REQUIRED
    assert set(Catalogs.load().locales) == {"en", *LOCALES}


@pytest.mark.parametrize("locale", LOCALES)
def test_plural_forms_are_those_pybabel_init_gives_the_locale(locale: str) -> None:
    assert catalog(locale).plural_forms == Catalog(locale=locale).plural_forms


def test_template_is_up_to_date_with_the_code(tmp_path: Path) -> None:
    fresh = tmp_path / "fresh.pot"
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", "extract", "-F", "babel.cfg",
                    "-k", "npgettext:1c,2,3", "-o", str(fresh), "."],
                   cwd=ROOT, check=True, capture_output=True)
    with fresh.open("rb") as handle:
        extracted = {(m.context, m.id) for m in read_po(handle) if m.id}
    shipped = {(m.context, m.id) for m in template() if m.id}
    assert extracted - shipped == set(), "run scripts/update-catalogs"
    assert shipped - extracted == set(), "run scripts/update-catalogs"


@pytest.mark.parametrize("locale", LOCALES)
def test_every_message_is_translated_and_not_fuzzy(locale: str) -> None:
    wanted = {(m.context, m.id) for m in template() if m.id}
    translated = catalog(locale)
    found = {(m.context, m.id): m for m in translated if m.id}
    assert wanted - found.keys() == set()
    problems = [m.id for m in found.values()
                if m.fuzzy or not (all(m.string) if isinstance(m.string, tuple) else m.string)]
    assert problems == []


@pytest.mark.parametrize("locale", LOCALES)
def test_translations_keep_placeholders_and_tags(locale: str) -> None:
    for message in catalog(locale):
        if not message.id:
            continue
        source = message.id if isinstance(message.id, str) else message.id[1]
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        for string in strings:
            assert set(PLACEHOLDER.findall(string)) == set(PLACEHOLDER.findall(source)), (source, string)
            assert sorted(TAG.findall(string)) == sorted(TAG.findall(source)), (source, string)


@pytest.mark.parametrize("locale", LOCALES)
def test_compiled_catalog_matches_its_source(locale: str) -> None:
    po = {(m.context, _hashable(m.id)): _hashable(m.string) for m in catalog(locale) if m.id}
    with (LOCALES_DIR / locale / "LC_MESSAGES" / f"{DOMAIN}.mo").open("rb") as handle:
        mo = {(m.context, _hashable(m.id)): _hashable(m.string) for m in read_mo(handle) if m.id}
    assert mo == po, "run scripts/update-catalogs (pybabel compile)"


def _hashable(value: str | tuple | list) -> str | tuple:  # type: ignore[type-arg]
    """Plural ids and strings come back as lists from a .mo file and as tuples from a .po file."""
    return tuple(value) if isinstance(value, list | tuple) else value


def _strings(locale: str) -> list[tuple[str, str]]:
    """Every (source, translation) pair of a catalog, each plural form on its own."""
    pairs = []
    for message in catalog(locale):
        if message.id:
            source = message.id if isinstance(message.id, str) else message.id[-1]
            strings = message.string if isinstance(message.string, tuple) else (message.string,)
            pairs += [(source, string) for string in strings]
    return pairs


def test_arabic_writes_tanween_one_way_on_the_alif() -> None:
    # "شكراً", not "شكرًا": one spelling throughout (the fathatan after the alif).
    assert [s for _, s in _strings("ar") if "\u064b\u0627" in s] == []


@pytest.mark.parametrize("locale", ["ar", "fa"])
def test_right_to_left_catalogs_name_numbers_without_a_hash(locale: str) -> None:
    # In right-to-left text "#" lands on the wrong side of the number: "المشاورة رقم {number}".
    assert [s for _, s in _strings(locale) if "#{" in s] == []


@pytest.mark.parametrize("locale", ["fr", "es"])
def test_exact_millions_take_the_ordinary_plural(locale: str) -> None:
    # CLDR's 'many' form is for "1 million d'abonnés"; with digits it reads "1 000 000 abonnés".
    translated = catalog(locale)
    assert translated.plural_forms.startswith("nplurals=3;")
    for message in translated:
        if message.id and isinstance(message.id, tuple):
            assert message.string[1] == message.string[2], message.id[0]
