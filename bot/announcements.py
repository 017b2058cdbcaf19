"""What broadcasts look like: the announcement, the moderator's preview, progress and report.

Every string goes through the reader's :class:`Translator`; interpolated values are HTML-escaped
and, in right-to-left locales, isolated (see bot/screens.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot import callbacks
from bot.i18n import Catalogs, Translator
from bot.screens import Screen, consultation_text
from storage import Consultation, DeliveryCounts
from storage.broadcasts import Announcement, Audience

_RULE = "┄┄┄┄┄┄┄┄┄┄"


def _button(text: str, action: callbacks.Action) -> InlineKeyboardButton:
    return InlineKeyboardButton(text, callback_data=callbacks.encode(action))


def _body(t: Translator, consultation: Consultation, answered: bool = False) -> str:
    """The announcement's text, without line directions (they are added once, to the whole)."""
    text = consultation_text(t, consultation)
    lines = [f"📣 <b>{escape(text.title)}</b>"]
    if text.description:
        lines.append(escape(text.description))
    if answered:
        lines += ["", t._("You have answered this consultation already: thank you. Your answers "
                          "are kept, and the results will be shared when it closes.")]
    else:
        lines += ["", t._("Your views are wanted. Tap the button to answer; you can stop at any "
                          "time and continue later where you left off.")]
    return "\n".join(lines)


def answer_label(t: Translator) -> str:
    return t._("Answer now")


def announcement(t: Translator, consultation: Consultation, answered: bool = False) -> Screen:
    """What a subscriber receives: the consultation and a button that starts or resumes it;
    for one who ``answered`` it already, thanks instead of the button."""
    if answered:
        return Screen(t.directed(_body(t, consultation, answered=True)))
    keyboard = InlineKeyboardMarkup(
        [[_button(answer_label(t), callbacks.OpenConsultation(consultation.id))]])
    return Screen(t.directed(_body(t, consultation)), keyboard)


def chooser(t: Translator, consultations: Sequence[Consultation]) -> Screen:
    """/broadcast: which open consultation to announce."""
    rows = [[_button(consultation_text(t, c).title[:60], callbacks.Announce("pick", c.id))]
            for c in consultations]
    return Screen(t.directed(t._("Which consultation do you want to announce to the subscribers?")),
                  InlineKeyboardMarkup(rows))


def nothing_to_announce(t: Translator) -> str:
    return t._("No consultation is open, so there is nothing to announce. Open one from "
               "/consultations first.")


def no_subscribers(t: Translator) -> str:
    return t._("Nobody has subscribed to announcements yet, so there is no one to send it to.")


def audience_by_language(catalogs: Catalogs, stored: Mapping[str | None, int]) -> dict[str, int]:
    """Subscribers per language they will read it in (their choice, else English), largest first."""
    counts: dict[str, int] = {}
    for locale, count in stored.items():
        resolved = catalogs.resolve(locale, None)
        counts[resolved] = counts.get(resolved, 0) + count
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


def last_announced(t: Translator, last: Announcement) -> str:
    """When the consultation was announced before, or that it is being announced right now."""
    moment = t.moment(last.started_at)
    if last.status == "sending":
        return t._("This consultation is being announced right now (since {moment}); it can be "
                   "sent again once that broadcast ends.").format(moment=moment)
    return t.ngettext("Last announced {moment}: sent to {sent} of {total} subscriber.",
                      "Last announced {moment}: sent to {sent} of {total} subscribers.",
                      last.total).format(moment=moment, sent=t.number(last.sent),
                                         total=t.number(last.total))


def untranslated(consultation: Consultation, audience: Mapping[str, int]) -> dict[str, int]:
    """The languages of the audience the consultation has no text in, with their counts."""
    return {locale: count for locale, count in audience.items()
            if locale not in consultation.texts}


def _reach(t: Translator, catalogs: Catalogs, audience: Mapping[str, int]) -> str:
    """"It will be sent to 1 subscriber, in English." or to several, language by language."""
    total = sum(audience.values())
    if len(audience) == 1:
        (locale,) = audience
        return t.ngettext("It will be sent to {count} subscriber, in {language}.",
                          "It will be sent to {count} subscribers, all in {language}.",
                          total).format(count=t.number(total),
                                        language=t.isolate(catalogs.autonym(locale)))
    languages = ", ".join(f"{t.isolate(catalogs.autonym(locale))}: {t.number(count)}"
                          for locale, count in audience.items())
    return t.ngettext("It will be sent to {count} subscriber, in their own language "
                      "({languages}).",
                      "It will be sent to {count} subscribers, each in their own language "
                      "({languages}).", total).format(count=t.number(total), languages=languages)


def preview(t: Translator, catalogs: Catalogs, consultation: Consultation,
            audience: Mapping[str, int], broadcast_id: int,
            last: Announcement | None = None, reach: Audience = Audience.EVERYONE) -> Screen:
    """The announcement as the moderator would read it, whom it reaches (with a button to
    choose), the languages it has no translation in, when it was last announced (if ever),
    and Send / Cancel."""
    if reach is Audience.UNFINISHED:
        whom = t._("To: only subscribers who have not finished this consultation (a reminder).")
        other = (t._("Send to every subscriber instead"), "everyone")
    else:
        whom = t._("To: every subscriber; those who have finished this consultation are "
                   "thanked instead of asked.")
        other = (t._("Send only to those who have not finished"), "unfinished")
    lines = [t._("<b>Preview</b> of the announcement in your language:"), _RULE,
             _body(t, consultation), _RULE, whom]
    missing = untranslated(consultation, audience)
    if audience:
        lines.append(_reach(t, catalogs, audience))
    else:
        lines.append(t._("Nobody would get it: every subscriber has finished this consultation."))
    if missing:
        fallback = consultation_text_locale(consultation)
        lines += ["", "⚠ " + t._("No translation for: {languages}. They would get the {fallback} "
                                 "text. Add one with /translate {number} LANGUAGE Title | "
                                 "Description, or send anyway.").format(
            languages=", ".join(f"{t.isolate(catalogs.autonym(locale))} ({t.number(count)})"
                                for locale, count in missing.items()),
            fallback=t.isolate(catalogs.autonym(fallback)) if fallback else "",
            number=t.isolate(str(consultation.id)))]
    if last is not None:
        lines.append(last_announced(t, last))
    send = t._("Send anyway") if missing else t._("Send")
    cancel = t._("Don't send") if missing else t._("Cancel")
    first_row = [_button(send, callbacks.Announce("send", broadcast_id))] if audience else []
    keyboard = InlineKeyboardMarkup([
        first_row + [_button(cancel, callbacks.Announce("cancel", broadcast_id))],
        [_button(other[0], callbacks.Announce(other[1], broadcast_id))]])
    return Screen(t.directed("\n".join(lines)), keyboard)


def consultation_text_locale(consultation: Consultation) -> str | None:
    """The language a subscriber without a translation reads (as ``consultation_text``)."""
    if "en" in consultation.texts:
        return "en"
    return next(iter(consultation.texts), None)


def cancelled(t: Translator) -> str:
    return t._("Broadcast cancelled; nothing was sent.")


def not_a_draft(t: Translator) -> str:
    return t._("This broadcast was already sent or cancelled.")


def not_open(t: Translator) -> str:
    return t._("That consultation is not open any more, so it cannot be announced.")


def already_sending(t: Translator) -> str:
    """Send refused: another broadcast of the consultation is under way."""
    return t._("Another broadcast of this consultation is being sent right now; wait until it "
               "ends, so that nobody gets it twice.")


def not_sending(t: Translator) -> str:
    return t._("This broadcast is not sending any more.")


def stopping(t: Translator) -> str:
    return t._("Stopping: no further messages will be sent.")


def starting(t: Translator) -> str:
    return t._("Sending…")


def _counts(t: Translator, counts: DeliveryCounts, stopped: bool) -> list[str]:
    left = (t._("Not sent: {count}") if stopped else t._("Left: {count}")).format(
        count=t.number(counts.left))
    lines = [t._("Sent: {count}").format(count=t.number(counts.sent)),
             t._("Blocked the bot: {count}").format(count=t.number(counts.blocked)),
             t._("Failed: {count}").format(count=t.number(counts.failed))]
    if counts.skipped:
        lines.append(t._("Skipped (unsubscribed since): {count}").format(
            count=t.number(counts.skipped)))
    return [*lines, left]


def _closed(t: Translator) -> str:
    return t._("The consultation was closed, so the rest will not be sent.")


def progress(t: Translator, consultation: Consultation, broadcast_id: int,
             counts: DeliveryCounts, status: str, finished: bool,
             stop_reason: str | None = None) -> Screen:
    """The moderator's progress message; while sending it has a Stop button."""
    title = t.isolate(escape(consultation_text(t, consultation).title))
    stopped = status == "cancelled"
    keyboard = None
    if finished:
        state = t._("Stopped.") if stopped else t._("Finished.")
    elif stopped:
        state = t._("Stopping…")
    else:
        state = t.ngettext("Sending to {count} subscriber…", "Sending to {count} subscribers…",
                           counts.total).format(count=t.number(counts.total))
        keyboard = InlineKeyboardMarkup([[_button(t._("Stop sending"),
                                                  callbacks.Announce("stop", broadcast_id))]])
    lines = [t._("<b>Broadcast:</b> {title}").format(title=title), state,
             *_counts(t, counts, stopped)]
    if stopped and stop_reason == "closed":
        lines.append(_closed(t))
    return Screen(t.directed("\n".join(lines)), keyboard)


def report(t: Translator, consultation: Consultation, counts: DeliveryCounts, status: str,
           stop_reason: str | None = None) -> str:
    """The final report, a message of its own so that the moderator is notified."""
    title = t.isolate(escape(consultation_text(t, consultation).title))
    stopped = status == "cancelled"
    heading = (t._("<b>Broadcast stopped:</b> {title}") if stopped
               else t._("<b>Broadcast finished:</b> {title}")).format(title=title)
    lines = [heading, *_counts(t, counts, stopped)]
    if stopped and stop_reason == "closed":
        lines.append(_closed(t))
    if counts.blocked:
        lines += ["", t._("Those who blocked the bot will not be written to again unless they "
                          "send /start.")]
    return t.directed("\n".join(lines))
