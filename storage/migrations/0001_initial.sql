-- Respondents, their questionnaire sessions and the answers given in them.
-- Timestamps are ISO-8601 UTC strings.

CREATE TABLE respondents (
    user_id        INTEGER PRIMARY KEY,         -- Telegram user id
    chat_id        INTEGER NOT NULL,            -- the chat the bot writes to
    locale         TEXT,                        -- NULL until the respondent picks a language
    consented_at   TEXT,                        -- NULL until the respondent consents
    last_update_id INTEGER NOT NULL DEFAULT 0,  -- newest Telegram update handled, to drop redeliveries
    last_update_at TEXT,                        -- when it was handled (update ids restart after a quiet week)
    last_tap       TEXT,                        -- "message_id:callback_data" of the last button tap
    created_at     TEXT NOT NULL
);

-- UNIQUE (user_id, questionnaire_id) also indexes the foreign key for ON DELETE CASCADE.
CREATE TABLE sessions (
    id                    INTEGER PRIMARY KEY,
    user_id               INTEGER NOT NULL REFERENCES respondents ON DELETE CASCADE,
    questionnaire_id      TEXT NOT NULL,
    questionnaire_version INTEGER NOT NULL,
    cursor                TEXT,                 -- the conversation engine's position, opaque here
    prompt_message_id     INTEGER,              -- the Telegram message showing the current question
    started_at            TEXT NOT NULL,
    finished_at           TEXT,
    UNIQUE (user_id, questionnaire_id)
);

-- An answer is a chosen option or a comment; a skipped comment has neither.
CREATE TABLE answers (
    session_id  INTEGER NOT NULL REFERENCES sessions ON DELETE CASCADE,
    question_id TEXT NOT NULL,
    option_id   TEXT,
    text        TEXT,
    questionnaire_version INTEGER NOT NULL,     -- the version the answer was given under
    answered_at TEXT NOT NULL,
    PRIMARY KEY (session_id, question_id),
    CHECK (option_id IS NULL OR text IS NULL)
);
