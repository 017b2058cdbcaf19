"""The report in a real browser (Debian's headless Chromium): on a phone and on A4, in English,
Arabic and Chinese, nothing overflows the page, every question is there, the direction is right,
and nothing is fetched from outside the file."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.context import Services
from bot.demo import fill
from bot.handlers.reports import build_report
from bot.i18n import Catalogs
from bot.screens import Texts
from bot.summaries import SummaryService
from bot.turns import Turns
from conversations.flow import Flow
from conversations.loader import load_questionnaire
from conversations.model import QuestionKind, Questionnaire
from conversations.roles import Role
from storage import Database

from .chromium import Page, browser_or_skip, chromium

PHONE = {"width": 390, "height": 844, "deviceScaleFactor": 1, "mobile": True}
# A4 is 210 mm wide; the report's @page margins are 14 mm: 182 mm of CSS pixels (96 per inch).
A4_TEXT_WIDTH = round((210 - 2 * 14) / 25.4 * 96)
A4 = {"width": A4_TEXT_WIDTH, "height": round(297 / 25.4 * 96), "deviceScaleFactor": 1,
      "mobile": False}

# Everything on the page that sticks out of the page's width. Inside a box that scrolls by itself
# (a wide table on a phone), sticking out is the box's business, not the page's.
MEASURE = """(() => {
  const width = document.documentElement.clientWidth;
  const out = [];
  for (const el of document.body.querySelectorAll('*')) {
    const box = el.parentElement && el.parentElement.closest('.scroll');
    if (box && getComputedStyle(box).overflowX !== 'visible') continue;
    const r = el.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) continue;
    if (r.right > width + 1 || r.left < -1) out.push(el.tagName + ': ' + (el.textContent || '').slice(0, 60));
  }
  return JSON.stringify({
    width, scrollWidth: document.documentElement.scrollWidth, out: out.slice(0, 5),
    dir: document.documentElement.dir, direction: getComputedStyle(document.body).direction,
    lang: document.documentElement.lang, text: document.body.innerText,
    scripts: document.scripts.length});
})()"""


@pytest.fixture(scope="module")
def browser() -> str:
    return browser_or_skip()


@pytest.fixture(scope="module")
def metep() -> Questionnaire:
    return load_questionnaire()


@pytest.fixture(scope="module")
def catalogs() -> Catalogs:
    return Catalogs.load()


@pytest.fixture
async def services(metep: Questionnaire, catalogs: Catalogs) -> AsyncIterator[Services]:
    db = await Database.open(":memory:")
    turns = Turns(db, Flow(metep), catalogs)
    yield Services(turns, catalogs, summaries=SummaryService(turns, 5))
    await db.close()


async def report_file(services: Services, tmp_path: Path, locale: str, respondents: int) -> Path:
    consultation = await fill(services.db, services.questionnaire, services.catalogs, respondents)
    t = services.catalogs.translator(locale)
    data, name = await build_report(services, t, consultation, Role.MODERATOR)
    path = tmp_path / name
    path.write_bytes(data)
    return path


async def measured(page: Page, url: str, metrics: dict, media: str) -> dict:
    await page.send("Emulation.setDeviceMetricsOverride", **metrics)
    await page.send("Emulation.setScrollbarsHidden", hidden=True)  # paper has no scroll bar
    await page.send("Emulation.setEmulatedMedia", media=media)
    await page.open(url)
    return json.loads(await page.evaluate(MEASURE))


@pytest.mark.parametrize("locale", ["en", "ar", "zh"])
@pytest.mark.parametrize("respondents", [300, 12])  # 12: officials too few, withheld
async def test_the_report_reads_on_a_phone_and_on_a4_without_any_request(
        browser: str, services: Services, tmp_path: Path, locale: str, respondents: int) -> None:
    path = await report_file(services, tmp_path, locale, respondents)
    url = path.as_uri()
    t = services.catalogs.translator(locale)
    texts = Texts(services.questionnaire, t)

    async with chromium(browser) as page:
        for metrics, media in ((PHONE, "screen"), (A4, "print")):
            found = await measured(page, url, metrics, media)

            assert found["width"] == metrics["width"]  # laid out at the phone's (or paper's) width
            assert found["out"] == [], (media, found["out"])
            assert found["scrollWidth"] <= found["width"], media
            assert found["lang"] == locale
            assert found["dir"] == found["direction"] == ("rtl" if locale == "ar" else "ltr")
            assert found["scripts"] == 0
            page_text = " ".join(found["text"].split())
            for question in services.questionnaire.questions:
                if question.kind is QuestionKind.CHOICE:
                    assert " ".join(texts.question(question).split()) in page_text, question.id
            if respondents == 12:
                assert t.ngettext("fewer than {count} respondent", "fewer than {count} respondents",
                                  6).format(count=t.number(6)) in page_text
        pdf = await page.send("Page.printToPDF", preferCSSPageSize=True)
        assert base64.b64decode(pdf["data"]).startswith(b"%PDF")
        if locale == "ar" and respondents == 300:  # for a person to look at (pytest --basetemp)
            await page.send("Emulation.setDeviceMetricsOverride", **PHONE)
            await page.send("Emulation.setEmulatedMedia", media="screen")
            shot = await page.send("Page.captureScreenshot", format="png")
            (tmp_path / "report-ar-phone.png").write_bytes(base64.b64decode(shot["data"]))

    assert set(page.requests()) == {url}, "the report asked for something outside its file"
