"""The "usual way" baseline: the METEP walk as PTB's examples build a conversation.

A ConversationHandler with one state per question (the question's index in the file, plus
"language", "consent" and "done"), answers kept in ``context.user_data``, and PicklePersistence
with PTB's defaults (one file, ``on_flush=False``, ``update_interval=60``) as in PTB's
``persistentconversationbot.py`` example. Updates are processed one at a time (PTB's default).

To compare storage and state handling only, it shows exactly Baraza's screens (Baraza's
``bot.screens`` renders them, same callback data) and decides the next question with the same
questionnaire model (``Questionnaire.visible``, ``score_answers``). What differs is where the
state lives: here in process memory (user_data and the ConversationHandler's dict), written to the
pickle by PTB's persistence; in Baraza, in SQLite, read and written on every update.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from telegram import LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    ConversationHandler,
    Defaults,
    PicklePersistence,
)

LANGUAGE, CONSENT, DONE = "language", "consent", "done"
NAME = "metep"
CONSULTATION = 1  # what Baraza's question buttons name since consultations (its first one)


def answers_to_user_data(answers: Sequence[Any]) -> dict[str, str | None]:
    """What the baseline keeps in user_data: option id by question id (None: comment skipped)."""
    return {a.question_id: a.option_id if a.option_id is not None else a.text for a in answers}


class TimedApplication(Application):
    """Counts the persistence runs PTB makes by itself (every update_interval)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.periodic_runs = 0
        self.periodic_seconds = 0.0

    async def update_persistence(self) -> None:
        started = time.perf_counter()
        await super().update_persistence()
        self.periodic_runs += 1
        self.periodic_seconds += time.perf_counter() - started

    async def persist_now(self) -> None:
        """The same work, on demand and not counted as periodic."""
        await super().update_persistence()


def build_pickle_application(api_root: str, token: str, path: Path, *, rate: float,
                             on_flush: bool = False) -> Application:
    import inspect

    from bot import callbacks, screens
    from bot.i18n import Catalogs
    from conversations.flow import AskQuestion, Problem
    from conversations.loader import load_questionnaire
    from conversations.model import Answer, QuestionKind
    from conversations.scoring import score_answers

    questionnaire = load_questionnaire()
    questions = questionnaire.questions
    catalogs = Catalogs.load()
    # Baraza's screens.question took (t, questionnaire, event) before consultations and
    # (t, questionnaire, consultation, event) since; buttons carry the version, then the consultation.
    by_consultation = "consultation" in inspect.signature(screens.question).parameters

    def render_question(t: Any, event: Any, notice: str | None) -> Any:
        if by_consultation:
            return screens.question(t, questionnaire, CONSULTATION, event, notice)
        return screens.question(t, questionnaire, event, notice)

    def translator(update: Update, context: ContextTypes.DEFAULT_TYPE):  # noqa: ANN202
        user = update.effective_user
        return catalogs.translator(catalogs.resolve(context.user_data.get("locale"),
                                                    user.language_code if user else None))

    def answers_of(context: ContextTypes.DEFAULT_TYPE) -> dict[str, Answer]:
        stored: Mapping[str, str | None] = context.user_data.get("answers", {})
        result = {}
        for question_id, value in stored.items():
            question = questionnaire.question(question_id)
            if question is not None and question.kind is QuestionKind.TEXT:
                result[question_id] = Answer(question_id, text=value)
            else:
                result[question_id] = Answer(question_id, option_id=value)
        return result

    def next_index(answers: Mapping[str, Answer]) -> int | None:
        following = next((q for q in questionnaire.visible(answers) if q.id not in answers), None)
        return None if following is None else questionnaire.position(following.id)

    def ask(t: Any, index: int, answers: Mapping[str, Answer], notice: str | None = None) -> Any:
        question = questions[index]
        visible = questionnaire.visible(answers)
        event = AskQuestion(question, questionnaire.pillar(question.pillar_id),
                            questionnaire.place(question.id), visible[0].id == question.id,
                            answers.get(question.id))
        return render_question(t, event, notice)

    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str:
        t = translator(update, context)
        screen = screens.language_picker(t, catalogs, t.locale, greeting=True)
        await context.bot.send_message(update.effective_chat.id, screen.text,
                                       reply_markup=screen.keyboard)
        return LANGUAGE

    async def pick_language(update: Update, context: ContextTypes.DEFAULT_TYPE) -> str | None:
        query = update.callback_query
        action = callbacks.decode(query.data)
        if not isinstance(action, callbacks.PickLanguage) or catalogs.supported(action.locale) != action.locale:
            await query.answer(screens.problem(translator(update, context), Problem.INVALID), show_alert=True)
            return None
        context.user_data["locale"] = action.locale
        t = catalogs.translator(action.locale)
        await query.answer()
        screen = screens.consent(t, questionnaire, len(questionnaire.visible({})))
        await query.edit_message_text(screen.text, reply_markup=screen.keyboard)
        return CONSENT

    async def consent(update: Update, context: ContextTypes.DEFAULT_TYPE) -> object:
        query = update.callback_query
        action = callbacks.decode(query.data)
        t = translator(update, context)
        if not isinstance(action, callbacks.Consent):
            await query.answer(screens.problem(t, Problem.STALE))
            return None
        await query.answer()
        if not action.agreed:
            await query.edit_message_text(screens.declined(t).text)
            return ConversationHandler.END
        context.user_data["answers"] = {}
        index = next_index({})
        screen = ask(t, index, {})
        await query.edit_message_text(screen.text, reply_markup=screen.keyboard)
        return index

    def answer_state(index: int):  # noqa: ANN202
        question = questions[index]

        async def answer(update: Update, context: ContextTypes.DEFAULT_TYPE) -> object:
            query = update.callback_query
            action = callbacks.decode(query.data)
            t = translator(update, context)
            answers = answers_of(context)
            if isinstance(action, callbacks.Back):
                visible = [q.id for q in questionnaire.visible(answers)]
                at = visible.index(question.id)
                if at == 0:
                    await query.answer(screens.problem(t, Problem.NOTHING_BEFORE), show_alert=True)
                    return None
                previous = questionnaire.position(visible[at - 1])
                await query.answer()
                screen = ask(t, previous, answers)
                await query.edit_message_text(screen.text, reply_markup=screen.keyboard)
                return previous
            if isinstance(action, callbacks.Choose) and action.question_id == question.id \
                    and question.scale is not None \
                    and question.scale.option(action.option_id) is not None:
                value = action.option_id
            elif isinstance(action, callbacks.Skip) and action.question_id == question.id \
                    and question.kind is QuestionKind.TEXT:
                value = None
            else:
                await query.answer(screens.problem(t, Problem.STALE))
                return None
            context.user_data.setdefault("answers", {})[question.id] = value
            answers = answers_of(context)
            await query.answer()
            following = next_index(answers)
            if following is None:
                screen = screens.scores(t, questionnaire, score_answers(questionnaire, answers))
                await query.edit_message_text(screen.text)
                return DONE
            screen = ask(t, following, answers)
            await query.edit_message_text(screen.text, reply_markup=screen.keyboard)
            return following

        return answer

    def resume_state(index: int):  # noqa: ANN202
        async def resume(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
            t = translator(update, context)
            screen = ask(t, index, answers_of(context), notice=t._("Welcome back! Let's continue."))
            await context.bot.send_message(update.effective_chat.id, screen.text,
                                           reply_markup=screen.keyboard)

        return resume

    async def show_scores(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        t = translator(update, context)
        screen = screens.scores(t, questionnaire, score_answers(questionnaire, answers_of(context)))
        await context.bot.send_message(update.effective_chat.id, screen.text)

    states: dict[object, list[Any]] = {
        LANGUAGE: [CallbackQueryHandler(pick_language), CommandHandler("start", start)],
        CONSENT: [CallbackQueryHandler(consent), CommandHandler("start", start)],
        DONE: [CommandHandler("start", show_scores)],
    }
    for index in range(len(questions)):
        states[index] = [CallbackQueryHandler(answer_state(index)),
                         CommandHandler("start", resume_state(index))]
    conversation = ConversationHandler(
        entry_points=[CommandHandler("start", start)], states=states, fallbacks=[],
        name=NAME, persistent=True)

    application = (
        ApplicationBuilder()
        .application_class(TimedApplication)
        .token(token)
        .base_url(f"{api_root}/bot")
        .base_file_url(f"{api_root}/file/bot")
        .defaults(Defaults(parse_mode=ParseMode.HTML,
                           link_preview_options=LinkPreviewOptions(is_disabled=True)))
        .rate_limiter(AIORateLimiter(overall_max_rate=rate, max_retries=3))
        .persistence(PicklePersistence(filepath=path, on_flush=on_flush))
        .build()
    )
    application.add_handler(conversation)
    return application
