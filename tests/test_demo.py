"""The sandbox's demo data, and the report from the command line."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot import cli
from bot.demo import fill
from bot.i18n import Catalogs
from bot.summaries import SummaryService
from bot.turns import Turns
from conversations.flow import Flow
from conversations.loader import load_questionnaire
from storage import Database


async def test_the_demo_makes_a_closed_labelled_consultation_of_citizens_and_officials_once(
        tmp_path: Path) -> None:
    questionnaire, catalogs = load_questionnaire(), Catalogs.load()
    db = await Database.open(tmp_path / "sandbox.db")
    try:
        consultation = await fill(db, questionnaire, catalogs, respondents=200)
        again = await fill(db, questionnaire, catalogs, respondents=200)
        service = SummaryService(Turns(db, Flow(questionnaire), catalogs), 5)

        summary = await service.summary(consultation)
        results = await service.question_results(consultation)

        assert again == consultation and consultation.status == "closed"
        assert await service.is_demo(consultation)
        assert (summary.citizens.finished, summary.officials.finished) == (160, 40)
        assert summary.overall.gap is not None and summary.overall.gap > 0
        assert len(results.largest_gaps()) == 5
        locales = {(await db.respondents.get(user_id)).locale  # type: ignore[union-attr]
                   for user_id in range(990_000_000, 990_000_020)}
        assert len(locales) >= 3
        assert consultation.texts["fr"].title.startswith("Démo : ")
    finally:
        await db.close()


def test_baraza_report_writes_the_html_file_in_the_language_asked(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    database = tmp_path / "baraza.db"

    async def prepare() -> int:
        db = await Database.open(database)
        try:
            return (await fill(db, load_questionnaire(), Catalogs.load(), respondents=30)).id
        finally:
            await db.close()

    number = asyncio.run(prepare())
    monkeypatch.setenv("BARAZA_DB", str(database))
    out = tmp_path / "report.html"

    assert cli.main(["report", str(number), "--lang", "fr", "--out", str(out)]) == 0
    page = out.read_text(encoding="utf-8")
    assert '<html lang="fr" dir="ltr">' in page and "Données de démonstration" in page
    assert 'id="comments"' not in page
    assert cli.main(["report", str(number + 1), "--out", str(out)]) == 2  # no such consultation
    assert cli.main(["report", str(number), "--lang", "xx"]) == 2
