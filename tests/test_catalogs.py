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
