"""What moderators read about roles and the audit trail fits Telegram, in every language."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.i18n import Catalogs
from bot.role_screens import audit_pages, roles_screen
from bot.screens import TELEGRAM_TEXT_LIMIT
from storage import AuditAction, AuditEntry, OpenInvitation, StoredRole

LOCALES = ["en", "fr", "ar", "ru", "zh", "sw", "es"]
NOW = datetime(2030, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize("locale", LOCALES)
def test_fifty_audit_entries_with_long_details_fit_telegrams_limit(locale: str) -> None:
    t = Catalogs.load().translator(locale)
    entries = [AuditEntry(NOW - timedelta(minutes=n), 10**15 + n, action, target_id=10**15,
                          consultation_id=999_999, detail="Ministry of " + "x" * 200)
               for n, action in zip(range(50), list(AuditAction) * 4, strict=False)]
    pages = audit_pages(t, entries)
    assert all(len(page) <= TELEGRAM_TEXT_LIMIT for page in pages)
    assert sum(page.count("\n") + 1 for page in pages) == 51  # the heading and every entry


@pytest.mark.parametrize("locale", LOCALES)
def test_the_roles_list_fits_one_message_however_many_there_are(locale: str) -> None:
    t = Catalogs.load().translator(locale)
    roles = [StoredRole(10**15 + n, "official", "Agency " + "y" * 100) for n in range(100)]
    invitations = [OpenInvitation(f"{n:016x}", "Agency " + "z" * 100, 1, NOW) for n in range(100)]
    screen = roles_screen(t, roles, invitations)
    assert len(screen.text) <= TELEGRAM_TEXT_LIMIT
    assert screen.keyboard is not None and len(screen.keyboard.inline_keyboard) <= 100
