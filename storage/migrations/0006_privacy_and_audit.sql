-- People own their data, roles can be taken back, and privileged actions leave an audit trail.
-- Sessions are rebuilt (SQLite's procedure: new table, copy, drop, rename) so that user_id can be
-- NULL: retention unlinks the answers of long-closed consultations from Telegram ids and keeps
-- them, anonymous, for the results.

CREATE TABLE sessions_new (
    id                INTEGER PRIMARY KEY,
    user_id           INTEGER REFERENCES respondents ON DELETE CASCADE,  -- NULL: unlinked
    consultation_id   INTEGER NOT NULL REFERENCES consultations ON DELETE CASCADE,
    role              TEXT NOT NULL DEFAULT 'citizen'
                      CHECK (role IN ('citizen', 'official', 'moderator')),
    cursor            TEXT,
    prompt_message_id INTEGER,
    started_at        TEXT NOT NULL,
    finished_at       TEXT,
    summarised        INTEGER NOT NULL DEFAULT 0,
    UNIQUE (user_id, consultation_id)
);

INSERT INTO sessions_new
    (id, user_id, consultation_id, role, cursor, prompt_message_id, started_at, finished_at,
     summarised)
SELECT id, user_id, consultation_id, role, cursor, prompt_message_id, started_at, finished_at,
       summarised
FROM sessions;

DROP TABLE sessions;
ALTER TABLE sessions_new RENAME TO sessions;

CREATE INDEX sessions_by_consultation ON sessions (consultation_id, finished_at);
CREATE INDEX sessions_unsummarised ON sessions (consultation_id)
    WHERE finished_at IS NOT NULL AND summarised = 0;
CREATE INDEX sessions_finished ON sessions (consultation_id, id) WHERE finished_at IS NOT NULL;

-- When a consultation closed (NULL while not closed): retention counts from it. Consultations
-- closed before this migration count from now.
ALTER TABLE consultations ADD COLUMN closed_at TEXT;
UPDATE consultations SET closed_at = strftime('%Y-%m-%dT%H:%M:%f000+00:00', 'now')
WHERE status = 'closed';

-- Moderators named in BARAZA_MODERATORS, copied here at every start: an id removed from the
-- environment loses its rights at the next start, even though it has a row.
ALTER TABLE roles ADD COLUMN managed_by_env INTEGER NOT NULL DEFAULT 0;

-- Who did what and when: grants, revocations, invitations, exports, broadcasts, consultation
-- changes, and that an erasure happened (never whose). No answers. An actor or target erased by
-- /forget becomes NULL.
CREATE TABLE audit_log (
    id              INTEGER PRIMARY KEY,
    at              TEXT NOT NULL,
    actor_id        INTEGER,                    -- Telegram user id; NULL: the bot itself
    action          TEXT NOT NULL,
    target_id       INTEGER,                    -- the Telegram user id acted on, if any
    consultation_id INTEGER,
    detail          TEXT                        -- an agency, a language, a role: never an answer
);

-- The update that erased someone, so that Telegram redelivering it after a crash does not make
-- them a respondent again; it holds no Telegram user id, and is purged after a day.
CREATE TABLE erasures (
    update_id INTEGER PRIMARY KEY,
    erased_at TEXT NOT NULL
);
