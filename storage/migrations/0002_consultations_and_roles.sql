-- Consultations (runs of a questionnaire), officials and moderators, invitations, subscriptions.
-- Sessions now belong to a consultation, so a respondent answers each consultation once; the
-- questionnaire and its version are the consultation's. Rebuilt the way SQLite prescribes
-- (new table, copy, drop, rename), with foreign keys off and checked before commit.

CREATE TABLE consultations (
    id                    INTEGER PRIMARY KEY,
    questionnaire_id      TEXT NOT NULL,
    questionnaire_version INTEGER NOT NULL,
    status                TEXT NOT NULL CHECK (status IN ('draft', 'open', 'closed')),
    opens_at              TEXT,                 -- scheduled opening (UTC), if any
    closes_at             TEXT,                 -- scheduled closing (UTC), if any
    created_by            INTEGER,              -- Telegram user id of the moderator
    created_at            TEXT NOT NULL
);

CREATE TABLE consultation_texts (
    consultation_id INTEGER NOT NULL REFERENCES consultations ON DELETE CASCADE,
    locale          TEXT NOT NULL,
    title           TEXT NOT NULL,
    description     TEXT NOT NULL,
    PRIMARY KEY (consultation_id, locale)
);

-- Everyone without a row here is a citizen. Moderators named in BARAZA_MODERATORS need no row.
CREATE TABLE roles (
    user_id    INTEGER PRIMARY KEY,
    role       TEXT NOT NULL CHECK (role IN ('official', 'moderator')),
    agency     TEXT,                            -- the agency or region an official speaks for
    granted_by INTEGER,
    granted_at TEXT NOT NULL
);

-- Single-use deep-link invitations for officials; only a hash of the token is kept.
CREATE TABLE invitations (
    token_hash TEXT PRIMARY KEY,
    agency     TEXT,
    created_by INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    used_by    INTEGER,
    used_at    TEXT
);

ALTER TABLE respondents ADD COLUMN subscribed INTEGER NOT NULL DEFAULT 0;
ALTER TABLE respondents ADD COLUMN blocked_at TEXT;           -- the bot was blocked: not reachable
ALTER TABLE respondents ADD COLUMN consultation_id INTEGER;   -- the consultation being answered

-- Sessions from before consultations join one open consultation per questionnaire version.
INSERT INTO consultations (questionnaire_id, questionnaire_version, status, created_at)
SELECT DISTINCT questionnaire_id, questionnaire_version, 'open', min(started_at)
FROM sessions GROUP BY questionnaire_id, questionnaire_version;

CREATE TABLE sessions_new (
    id                INTEGER PRIMARY KEY,
    user_id           INTEGER NOT NULL REFERENCES respondents ON DELETE CASCADE,
    consultation_id   INTEGER NOT NULL REFERENCES consultations ON DELETE CASCADE,
    role              TEXT NOT NULL DEFAULT 'citizen'
                      CHECK (role IN ('citizen', 'official', 'moderator')),  -- when answering
    cursor            TEXT,
    prompt_message_id INTEGER,
    started_at        TEXT NOT NULL,
    finished_at       TEXT,
    UNIQUE (user_id, consultation_id)
);

INSERT INTO sessions_new
    (id, user_id, consultation_id, role, cursor, prompt_message_id, started_at, finished_at)
SELECT s.id, s.user_id, c.id, 'citizen', s.cursor, s.prompt_message_id, s.started_at,
       s.finished_at
FROM sessions AS s
JOIN consultations AS c
  ON c.questionnaire_id = s.questionnaire_id AND c.questionnaire_version = s.questionnaire_version;

UPDATE respondents SET consultation_id = (
    SELECT n.consultation_id FROM sessions_new AS n WHERE n.user_id = respondents.user_id
    ORDER BY n.started_at DESC LIMIT 1);

DROP TABLE sessions;
ALTER TABLE sessions_new RENAME TO sessions;

-- Summaries read finished sessions of one consultation.
CREATE INDEX sessions_by_consultation ON sessions (consultation_id, finished_at);
