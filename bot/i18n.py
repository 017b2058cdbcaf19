"""Translations: gettext catalogs compiled by pybabel, chosen once per update.

A :class:`Translator` is built for each update from the respondent's stored choice, else
Telegram's ``language_code``, else English, and handed to whatever renders text. Handlers
never format numbers themselves: babel does it for the locale, and for right-to-left scripts
numbers are isolated so they do not reorder the words around them.

The compiled catalogs live in the repository's ``locales/`` and are installed as the package
``baraza_locales``; ``locales/LINGUAS`` names the locales that ship, and every one of them must
load at start-up.
"""

from __future__ import annotations

import gettext
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from datetime import UTC, datetime, tzinfo
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.core import get_global
from babel.dates import format_date, format_time
from babel.numbers import format_decimal, format_percent
from babel.support import NullTranslations, Translations

DOMAIN = "baraza"
SOURCE_LOCALE = "en"  # the language of the msgids; it has no catalog of its own
LINGUAS = "LINGUAS"  # gettext's list of the shipped locales, beside their catalogs
# Own names babel's CLDR data words differently from how the language names itself on a menu.
AUTONYMS = {"id": "Bahasa Indonesia", "az": "azərbaycan dili", "uz": "oʻzbekcha"}
# The digits of the CLDR numbering systems that shipped locales use by default. babel writes a
# numbering system's symbols (numbering_system="default") but always ASCII digits.
DIGITS = {"latn": "0123456789", "arab": "٠١٢٣٤٥٦٧٨٩", "arabext": "۰۱۲۳۴۵۶۷۸۹"}


class CatalogError(Exception):
    """A locale listed as shipped has no compiled catalog (or a broken one)."""


def _locales_dir() -> Traversable:
    """The compiled catalogs: the checkout's ``locales/`` beside the code, else the installed
    ``baraza_locales`` package (a wheel ships them there)."""
    checkout = Path(__file__).resolve().parent.parent / "locales"
    if (checkout / LINGUAS).is_file():
        return checkout
    try:
        return resources.files("baraza_locales")
    except ModuleNotFoundError:
        return checkout  # neither: load() says which catalog is missing


LOCALES_DIR = _locales_dir()

# Unicode bidi controls (UAX #9): a right-to-left mark starting each line fixes the paragraph
# direction even when it begins with a digit or Latin text; first-strong isolates keep an
# interpolated number or name from reordering the Arabic around it.
RLM = "\u200f"
FSI = "\u2068"
PDI = "\u2069"
_MEMO_LIMIT = 4096  # formatted whole numbers kept per locale


@dataclass(frozen=True)
class Translator:
    """The gettext calls and number formats of one locale (one instance per locale, shared)."""

    locale: str
    catalog: gettext.NullTranslations
    zone: tzinfo = UTC  # the installation's time zone (BARAZA_TIMEZONE): times are shown in it

    @cached_property
    def _babel(self) -> Locale:
        # Parsed once: babel would parse the identifier again for every number it formats.
        return Locale.parse(self.locale)

    @cached_property
    def _dates(self) -> Locale:
        """The language with the zone's country, where CLDR has it: English in Nairobi writes
        dates as in Kenya ("1 Oct 2027"), not as in the United States."""
        territory = get_global("zone_territories").get(str(self.zone))
        if territory:
            try:
                return Locale.parse(f"{self._babel.language}_{territory}")
            except (UnknownLocaleError, ValueError):
                pass
        return self._babel

    @cached_property
    def rtl(self) -> bool:
        return self._babel.character_order == "right-to-left"

    @cached_property
    def _digits(self) -> dict[int, int] | None:
        # The locale's CLDR default digits (Persian writes ۱۲۳), as a str.translate table.
        system = self._babel.default_numbering_system
        if system not in DIGITS:
            raise CatalogError(f"no digits known for the numbering system {system!r} of "
                               f"{self.locale!r}: add them to bot.i18n.DIGITS")
        return None if system == "latn" else str.maketrans(DIGITS["latn"], DIGITS[system])

    def _localised_digits(self, text: str) -> str:
        return text if self._digits is None else text.translate(self._digits)

    @cached_property
    def _integers(self) -> dict[int, str]:
        # Progress ("Question 7 of 37") repeats the same few whole numbers on every screen.
        return {}

    def _(self, message: str) -> str:
        return self.catalog.gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return self.catalog.ngettext(singular, plural, n)

    def pgettext(self, context: str, message: str) -> str:
        return self.catalog.pgettext(context, message)

    def number(self, value: float, decimals: int = 0) -> str:
        """A locale-formatted number, isolated in right-to-left text."""
        # Only whole numbers are remembered: 0.0 and -0.0, or 1 and True, are equal keys that
        # babel formats differently or refuses.
        if decimals or not isinstance(value, int) or isinstance(value, bool):
            return self._format(value, decimals)
        text = self._integers.get(value)
        if text is None:
            text = self._format(value, 0)
            if len(self._integers) < _MEMO_LIMIT:
                self._integers[value] = text
        return text

    def signed(self, value: int) -> str:
        """A whole number with its sign, +23, -8, 0 (isolated in right-to-left text)."""
        return self.isolate(("+" if value > 0 else "") + self.plain_number(value))

    def plain_number(self, value: float, decimals: int = 0) -> str:
        """A locale-formatted number without isolation, for text that is not a message (a chart)."""
        pattern = "#,##0" + ("." + "0" * decimals if decimals else "")
        return self._localised_digits(format_decimal(value, format=pattern, locale=self._babel,
                                                     numbering_system="default"))

    def percent(self, fraction: float) -> str:
        """A fraction (0.44) as the locale writes a percentage (44 %, 44%, ۴۴٪), isolated in RTL."""
        return self.isolate(self._localised_digits(
            format_percent(fraction, locale=self._babel, numbering_system="default")))

    def _format(self, value: float, decimals: int) -> str:
        return self.isolate(self.plain_number(value, decimals))

    def moment(self, value: datetime) -> str:
        """A date and time in the installation's time zone, written the reader's way, with the
        month in words (never "1/10/27") and the zone named."""
        local = value.astimezone(self.zone)
        pattern = self._dates.datetime_formats["medium"]
        text = str(pattern).format(format_time(local, "short", locale=self._dates),
                                   format_date(local, "long", locale=self._dates))
        return self.isolate(f"{self._localised_digits(text)} ({self.zone_name})")

    @property
    def zone_name(self) -> str:
        """The time zone as moderators type it (BARAZA_TIMEZONE): "UTC", "Africa/Nairobi"."""
        return str(self.zone)

    def back(self, label: str) -> str:
        """A "go back" label with its arrow pointing back in the reading direction (◀ or ▶)."""
        return ("▶ " if self.rtl else "◀ ") + label

    def isolate(self, text: str) -> str:
        """Wrap a value of unknown direction so it cannot reorder surrounding RTL text."""
        return f"{FSI}{text}{PDI}" if self.rtl else text

    def directed(self, text: str) -> str:
        """Give every line of a message the locale's direction."""
        if not self.rtl:
            return text
        return "\n".join(RLM + line if line else line for line in text.split("\n"))


class Catalogs:
    """All shipped catalogs, loaded once at start-up."""

    def __init__(self, catalogs: Mapping[str, gettext.NullTranslations],
                 zone: tzinfo = UTC) -> None:
        self._catalogs = dict(catalogs)
        self.zone = zone
        self._translators = {locale: Translator(locale, catalog, zone)
                             for locale, catalog in self._catalogs.items()}

    def in_zone(self, zone: tzinfo) -> Catalogs:
        """The same catalogs, showing times in ``zone``."""
        return self if zone == self.zone else Catalogs(self._catalogs, zone)

    @classmethod
    def load(cls, directory: Traversable = LOCALES_DIR) -> Catalogs:
        """Read the compiled catalog (``<locale>/LC_MESSAGES/baraza.mo``) of every locale that
        ``directory``'s LINGUAS lists; raise :class:`CatalogError` if one does not load."""
        catalogs: dict[str, gettext.NullTranslations] = {SOURCE_LOCALE: NullTranslations()}
        for locale in shipped_locales(directory):
            mo = directory.joinpath(locale, "LC_MESSAGES", f"{DOMAIN}.mo")
            try:
                with mo.open("rb") as handle:
                    catalogs[locale] = Translations(handle, domain=DOMAIN)
            except (OSError, ValueError) as error:  # missing, unreadable or not a catalog
                raise CatalogError(f"the {locale!r} catalog did not load ({error}); "
                                   "run scripts/update-catalogs, or reinstall Baraza") from error
        loaded = cls(catalogs)
        for t in loaded.all():
            t.number(0)  # a locale whose digits are unknown fails now, not in a conversation
        return loaded

    @property
    def locales(self) -> tuple[str, ...]:
        """The locales a respondent can choose, English first."""
        return (SOURCE_LOCALE, *sorted(k for k in self._catalogs if k != SOURCE_LOCALE))

    def supported(self, locale: str | None) -> str | None:
        """The shipped locale for an IETF tag such as ``pt-br`` or ``zh-hans``, if any."""
        if not locale:
            return None
        tag = locale.replace("-", "_").lower()
        for candidate in (tag, tag.split("_")[0]):
            if candidate in self._catalogs:
                return candidate
        return None

    def resolve(self, stored: str | None, language_code: str | None) -> str:
        """The stored choice, else Telegram's language, else English."""
        return self.supported(stored) or self.supported(language_code) or SOURCE_LOCALE

    def translator(self, locale: str) -> Translator:
        """The shipped locale's translator (English for a locale not shipped)."""
        found = self._translators.get(locale)
        return found if found is not None else Translator(locale, self._catalogs[SOURCE_LOCALE],
                                                          self.zone)

    def all(self) -> Iterable[Translator]:
        return (self.translator(locale) for locale in self.locales)

    @staticmethod
    def autonym(locale: str) -> str:
        """A language's name in itself ("Français", "العربية"), as language pickers show it."""
        name = AUTONYMS.get(locale) or Locale.parse(locale).get_display_name(locale) or locale
        return name[:1].upper() + name[1:]


def shipped_locales(directory: Traversable = LOCALES_DIR) -> list[str]:
    """The locales LINGUAS lists (gettext's format: names separated by blanks, # comments)."""
    try:
        text = directory.joinpath(LINGUAS).read_text(encoding="utf-8")
    except OSError as error:
        raise CatalogError(f"no list of shipped locales ({error}); reinstall Baraza") from error
    return [name for line in text.splitlines() for name in line.split("#", 1)[0].split()]
