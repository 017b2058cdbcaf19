"""What the respondent sees: engine events and conversation stages rendered as text and buttons.

Every string goes through the update's :class:`Translator`; every interpolated value is
HTML-escaped (messages are sent with parse_mode HTML) and, in right-to-left locales, isolated.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from html import escape

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot import callbacks
from bot.i18n import Catalogs, Translator
from conversations.extract import message_context
from conversations.flow import AskQuestion, Problem
from conversations.loader import QuestionnaireError
from conversations.model import (Answer, Option, Pillar, Place, Question, QuestionKind,
                                 Questionnaire)
from conversations.roles import Role
from conversations.scoring import Band, ScoreCard, band_for
from storage import Consultation, ConsultationText

TELEGRAM_TEXT_LIMIT = 4096
_BAR_CELLS = 10


@dataclass(frozen=True)
class Screen:
    """A message to send or to edit into place."""

    text: str
    keyboard: InlineKeyboardMarkup | None = None


def _keyboard(rows: Iterable[Sequence[tuple[str, callbacks.Action]]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(text, callback_data=callbacks.encode(action)) for text, action in row]
         for row in rows]
    )


def _finish(t: Translator, text: str, keyboard: InlineKeyboardMarkup | None = None) -> Screen:
    return Screen(t.directed(text), keyboard)


class Texts:
    """Questionnaire texts in the update's language, looked up by their stable ids."""

    def __init__(self, questionnaire: Questionnaire, t: Translator) -> None:
        self.q = questionnaire
        self.t = t

    def title(self) -> str:
        return self.t.pgettext(message_context(self.q.id, "title"), self.q.title)

    def pillar(self, pillar: Pillar) -> str:
        return self.t.pgettext(message_context(self.q.id, "pillar", pillar.id), pillar.title)

    def question(self, question: Question) -> str:
        return self.t.pgettext(message_context(self.q.id, "question", question.id), question.text)

    def option(self, question: Question, option: Option) -> str:
        assert question.scale is not None
        context = message_context(self.q.id, "scale", question.scale.id, option.id)
        return self.t.pgettext(context, option.text)


def language_picker(t: Translator, catalogs: Catalogs, current: str, *, greeting: bool) -> Screen:
    """Greeting (on /start) and the list of languages, the current one ticked."""
    lines = []
    if greeting:
        lines += [t._("<b>Welcome to Baraza.</b>"),
                  t._("Here citizens and officials answer the same questions about how open, "
                      "consultative and responsive government is, and see where they agree."), ""]
    lines.append(t._("Please choose your language:"))
    buttons = [((("✓ " if locale == current else "") + catalogs.autonym(locale)),
                callbacks.PickLanguage(locale)) for locale in catalogs.locales]
    rows = [buttons[i:i + 2] for i in range(0, len(buttons), 2)]
    return _finish(t, "\n".join(lines), _keyboard(rows))


def consent(t: Translator, questionnaire: Questionnaire, question_count: int) -> Screen:
    """The privacy note, with buttons to agree or decline."""
    texts = Texts(questionnaire, t)
    text = "\n".join([
        f"<b>{escape(texts.title())}</b>",
        "",
        t.ngettext("You will be asked about {count} question, one at a time.",
                   "You will be asked about {count} questions, one at a time.",
                   question_count).format(count=t.number(question_count)),
        t._("Your answers are stored with your Telegram account so that you can stop and come "
            "back at any time. Summaries show them only as totals of groups. The consultation's "
            "moderators can also export the answers one by one, under a pseudonym instead of "
            "your name or account, and read the comments you type."),
        t._("/mydata shows everything stored about you; /forget erases it."),
        t._("You will also receive announcements of new consultations; /stop ends them."),
        t._("You can change the language with /language and go back with /back."),
        "",
        t._("Do you agree to take part?"),
    ])
    return _finish(t, text, _keyboard([[(t._("I agree"), callbacks.Consent(True)),
                                        (t._("Not now"), callbacks.Consent(False))]]))


def declined(t: Translator) -> Screen:
    return _finish(t, t._("Understood: no answers were recorded. Send /start if you change your mind."))


def question(t: Translator, questionnaire: Questionnaire, consultation: int, event: AskQuestion,
             notice: str | None = None) -> Screen:
    """One question with its answer buttons and its place in the questionnaire."""
    texts = Texts(questionnaire, t)
    q = event.question
    lines = []
    if notice:
        lines += [notice, ""]
    lines += ["<i>" + progress_line(t, event.place) + "</i>",
              "<b>" + escape(texts.pillar(event.pillar)) + "</b>",
        "",
        f"<b>{escape(texts.question(q))}</b>",
    ]
    rows: list[list[tuple[str, callbacks.Action]]]
    if q.kind is QuestionKind.TEXT:
        if event.current is not None and event.current.text:
            lines += ["", t._("Your answer so far: {text}").format(text=escape(event.current.text)),
                      "", t._("Type a new answer to replace it, keep it, or remove it.")]
            rows = [[(t._("Keep my answer"), callbacks.Keep(consultation, q.id)),
                     (t._("Remove my answer"), callbacks.Skip(consultation, q.id))]]
        else:
            lines += ["", t._("Type your answer and send it, or tap Skip.")]
            rows = [[(t._("Skip"), callbacks.Skip(consultation, q.id))]]
    else:
        assert q.scale is not None
        chosen = event.current.option_id if event.current else None
        buttons = [(("✓ " if o.id == chosen else "") + texts.option(q, o),
                    callbacks.Choose(consultation, q.id, o.id)) for o in q.scale.options]
        # Short scales fit on one row of a phone screen; longer ones read better one per row.
        rows = [buttons] if len(buttons) <= 3 else [[b] for b in buttons]
    if not event.first:
        # The arrow is added by the code, pointing back in the locale's reading direction.
        rows.append([(t.back(t._("Back")), callbacks.Back(consultation, q.id))])
    return _finish(t, "\n".join(lines), _keyboard(rows))


def progress_line(t: Translator, place: Place) -> str:
    """"Part 2 of 5 · question 3 of 7": totals that never grow (follow-ups share a number)."""
    values = {"part": t.number(place.part), "parts": t.number(place.parts),
              "number": t.number(place.number), "total": t.number(place.total)}
    if place.follow_up:
        return t._("Part {part} of {parts} · question {number} of {total}, follow-up").format(
            **values)
    return t._("Part {part} of {parts} · question {number} of {total}").format(**values)


def band_name(t: Translator, band: Band) -> str:
    names = {Band.LOW: t._("low"), Band.MIDDLE: t._("middle"), Band.HIGH: t._("high"),
             Band.VERY_HIGH: t._("very high")}
    return names[band]


# A mean that is exactly 50 can be summed as 49.99999999999999: never cut it to 49.
EPSILON = 1e-9


def score_text(t: Translator, score: float) -> str:
    """A 0-100 score as a whole number, cut down rather than rounded up, so that the shown
    number always falls in the band named beside it (49.9 shows as 49: middle, not 50)."""
    return t.number(math.floor(score + EPSILON))


def _bar(score: float) -> str:
    filled = round(score / 100 * _BAR_CELLS)
    return "▰" * filled + "▱" * (_BAR_CELLS - filled)


def scores(t: Translator, questionnaire: Questionnaire, card: ScoreCard,
           comparison: Sequence[str] = ()) -> Screen:
    """The respondent's own view, per pillar and overall with its band, then ``comparison``
    lines, what the bands mean and what happens next: a view of government, not a grade."""
    texts = Texts(questionnaire, t)
    lines = [t._("<b>Thank you! Your answers are recorded.</b>"), "",
             t._("How you see your government, from 0 to 100. These are your views: there are "
                 "no right answers.")]
    for pillar_score in card.pillars:
        name = escape(texts.pillar(questionnaire.pillar(pillar_score.pillar_id)))
        if pillar_score.score is None:
            lines.append(t._("{pillar}: no scored answers").format(pillar=name))
        else:
            band = band_name(t, band_for(pillar_score.score))
            lines.append(_bar(pillar_score.score) + " " + t._("How you see {pillar}: {score}, "
                                                              "{band}").format(
                pillar=name, score=score_text(t, pillar_score.score), band=band))
    lines.append("")
    if card.overall is None or card.band is None:
        lines.append(t._("Overall: not enough answers to score."))
    else:
        lines.append("<b>" + t._("Overall, as you see it: {score}, {band}").format(
            score=score_text(t, card.overall), band=band_name(t, card.band)) + "</b>")
    if comparison:
        lines += ["", *comparison]
    lines += ["", t._("Each score is the share of answers that describe open, responsive "
                      "government; \"Don't know\" is left out."),
              t._("Bands: low: under 25; middle: 25 to under 50; high: 50 to under 75; very "
                  "high: 75 and above."),
              "", t._("<b>What happens next:</b> your answers are counted, without your name, "
                      "in the results officials and moderators read, side by side with "
                      "officials' own answers. When a new consultation opens you will be told "
                      "(unless you sent /stop), and you can answer it too.")]
    return _finish(t, "\n".join(lines))


def problem(t: Translator, kind: Problem, limit: int | None = None, length: int | None = None) -> str:
    """A short explanation of why an input was not taken, saying what to do instead."""
    match kind:
        case Problem.STALE:
            return t._("That question is no longer open. Here is where you are:")
        case Problem.ALREADY_ANSWERED:
            return t._("Already recorded.")
        case Problem.INVALID:
            return t._("That button is not valid any more.")
        case Problem.EXPECTED_BUTTON:
            return t._("That is not one of the answers. Tap a button under the question, or "
                       "type an answer's text or its number (1 for the first).")
        case Problem.EMPTY_TEXT:
            return t._("That message is empty. Type your answer, or tap Skip.")
        case Problem.TEXT_TOO_LONG:
            return t.ngettext(
                "Your answer is {length} character long; the limit is {limit}. Please shorten "
                "it and send it again.",
                "Your answer is {length} characters long; the limit is {limit}. Please shorten "
                "it and send it again.", length or 0).format(
                length=t.number(length or 0), limit=t.number(limit or 0))
        case Problem.NOTHING_BEFORE:
            return t._("This is the first question; there is nothing before it.")
        case Problem.FINISHED:
            return t._("You have already completed the questionnaire. Send /start to see your scores.")


def typed_answer_recorded(t: Translator, questionnaire: Questionnaire, saved: Answer) -> str:
    """The acknowledgement of a typed answer: the option it chose, or that a comment was kept."""
    question = questionnaire.question(saved.question_id)
    if saved.option_id is not None and question is not None and question.scale is not None:
        option = question.scale.option(saved.option_id)
        if option is not None:
            label = Texts(questionnaire, t).option(question, option)
            return t._("Recorded: {answer}").format(answer=t.isolate(escape(label)))
    if saved.text:
        return t._("Thank you: your comment is recorded.")
    return t._("Recorded.")


def notice(t: Translator, text: str) -> Screen:
    return _finish(t, text)


def unsupported_message(t: Translator) -> str:
    return t._("I can only read text messages and button taps.")


def unknown_command(t: Translator) -> str:
    return t._("I don't know that command. Send /help to see what I can do.")


def try_again(t: Translator) -> str:
    return t._("Sorry, something went wrong. Please try again.")


def not_started(t: Translator) -> str:
    return t._("Send /start to begin.")


def language_set(t: Translator, catalogs: Catalogs) -> str:
    return t._("Language set to {language}.").format(
        language=t.isolate(catalogs.autonym(t.locale)))


def private_only(t: Translator) -> Screen:
    return _finish(t, t._("Please talk to me in a private chat."))


# The command menu, registered per language with setMyCommands.
def commands(t: Translator) -> list[tuple[str, str]]:
    return [
        ("start", t._("Start or resume the questionnaire")),
        ("back", t._("Go back to the previous question")),
        ("language", t._("Change the language")),
        ("whoami", t._("Show your role")),
        ("stop", t._("Stop announcements of new consultations (your answers are kept)")),
        ("mydata", t._("See everything stored about you")),
        ("forget", t._("Erase everything stored about you")),
        ("help", t._("How this bot works")),
    ]


def moderator_commands(t: Translator) -> list[tuple[str, str]]:
    """Commands only moderators may use (each checks the role on every use)."""
    return [
        ("consultations", t._("List, open and close consultations")),
        ("newconsultation", t._("Create a consultation: Title | Description")),
        ("translate", t._("Give a consultation's title in another language")),
        ("schedule", t._("Set when a consultation opens and closes")),
        ("invite", t._("Create an invitation link for an official")),
        ("addmoderator", t._("Make someone a moderator by their Telegram id")),
        ("roles", t._("Officials, moderators and open invitations")),
        ("revoke", t._("Take a role away by the Telegram id")),
        ("audit", t._("The latest changes: who did what, and when")),
        ("broadcast", t._("Announce a consultation to every subscriber")),
    ]


def summary_commands(t: Translator, role: Role) -> list[tuple[str, str]]:
    """Commands of officials and moderators for reading the answers (checked on every use)."""
    found = [("summary", t._("Compare citizens' and officials' answers")),
             ("digest", t._("Receive the summary weekly and when a consultation closes")),
             ("report", t._("A consultation's report as a web page to share or print"))]
    if role is Role.MODERATOR:
        found.append(("export", t._("Every answer of a consultation as a CSV file")))
    return found


def help_text(t: Translator, role: Role = Role.CITIZEN) -> Screen:
    """The commands this user may use, explained in their language."""
    lines = [t._("<b>How Baraza works</b>"),
             t._("I ask you questions one at a time; answer with the buttons under each "
                 "question. You can stop at any time and continue later where you left off."),
             ""]
    lines += [f"/{name} — {escape(description)}" for name, description in commands(t)]
    if role in (Role.OFFICIAL, Role.MODERATOR):
        lines += ["", t._("<b>Summaries</b>")]
        lines += [f"/{name} — {escape(description)}"
                  for name, description in summary_commands(t, role)]
    if role is Role.MODERATOR:
        lines += ["", t._("<b>For moderators</b>")]
        lines += [f"/{name} — {escape(description)}" for name, description in moderator_commands(t)]
    return _finish(t, "\n".join(lines))


def consultation_text(t: Translator, consultation: Consultation) -> ConsultationText:
    """The consultation's title and description in the respondent's language, else English."""
    texts = consultation.texts
    chosen = texts.get(t.locale) or texts.get("en") or next(iter(texts.values()), None)
    return chosen or ConsultationText(t._("Consultation {number}").format(
        number=t.number(consultation.id)), "")


def consultation_heading(t: Translator, consultation: Consultation) -> str:
    """The title (bold) and description shown when someone begins a consultation."""
    text = consultation_text(t, consultation)
    heading = f"<b>{escape(text.title)}</b>"
    return heading + (f"\n{escape(text.description)}" if text.description else "")


def consultation_chooser(t: Translator, consultations: Sequence[Consultation]) -> Screen:
    """The open consultations to choose from, one button each."""
    lines = [t._("Several consultations are open. Which one would you like to answer?")]
    rows = [[(consultation_text(t, c).title[:60], callbacks.OpenConsultation(c.id))]
            for c in consultations]
    return _finish(t, "\n".join(lines), _keyboard(rows))


def consultation_closed(t: Translator) -> str:
    return t._("This consultation is closed and no longer takes answers. Thank you for your interest.")


def nothing_open(t: Translator) -> str:
    return t._("No consultation is open right now. We will let you know when one opens.")


def unsubscribed(t: Translator) -> str:
    return t._("You will no longer receive announcements of new consultations. Your answers are "
               "kept, and you can go on answering: send /start.")


def resubscribe_question(t: Translator) -> Screen:
    """/start after /stop: ask before announcements begin again."""
    return _finish(t, t._("You turned announcements off with /stop. Would you like to hear about "
                          "new consultations again?"),
                   _keyboard([[(t._("Yes, announce them"), callbacks.Resubscribe(True)),
                               (t._("No, thank you"), callbacks.Resubscribe(False))]]))


def resubscribed(t: Translator, subscribed: bool) -> Screen:
    if subscribed:
        return _finish(t, t._("You will receive announcements of new consultations again; /stop "
                              "ends them."))
    return _finish(t, t._("Understood: no announcements. Send /start whenever you want to answer."))


# The longest heading a consultation can have: moderators' titles and descriptions are capped.
MAX_TITLE, MAX_DESCRIPTION = 200, 1000


def longest_question_screen(t: Translator, questionnaire: Questionnaire,
                            asked: Question) -> int:
    """An upper bound of the question's screen length: the heading and answer at their longest."""
    current = None
    if asked.kind is QuestionKind.TEXT:
        current = Answer(asked.id, text="x" * asked.max_length)
    event = AskQuestion(asked, questionnaire.pillar(asked.pillar_id),
                        Place(999_999, 999_999, 999_999, 999_999, follow_up=True), False, current)
    notice = f"<b>{'x' * MAX_TITLE}</b>\n{'x' * MAX_DESCRIPTION}"
    return len(question(t, questionnaire, 999_999, event, notice).text)


def check_screens_fit(questionnaire: Questionnaire, catalogs: Catalogs) -> None:
    """Refuse, at start-up, a questionnaire whose screens could exceed Telegram's limit."""
    for t in catalogs.all():
        for q in questionnaire.questions:
            length = longest_question_screen(t, questionnaire, q)
            if length > TELEGRAM_TEXT_LIMIT:
                raise QuestionnaireError(
                    f"question {q.id!r} can need {length} characters in {t.locale!r}; Telegram "
                    f"allows {TELEGRAM_TEXT_LIMIT}: shorten it or lower its max_length")
