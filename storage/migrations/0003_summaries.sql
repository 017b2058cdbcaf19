-- Summaries for officials: running totals of scores, digest subscriptions, the export's key.
-- Answers cannot change once a session is finished, so the totals only ever grow: a session is
-- added to them once (sessions.summarised), in the transaction that finishes it. Sessions finished
-- before this migration keep summarised = 0 and are added the first time a summary is read.

ALTER TABLE sessions ADD COLUMN summarised INTEGER NOT NULL DEFAULT 0;

-- Finished sessions not yet in the totals: empty in normal running, so the check costs nothing.
CREATE INDEX sessions_unsummarised ON sessions (consultation_id)
    WHERE finished_at IS NOT NULL AND summarised = 0;

-- The export pages through a consultation's finished sessions in id order.
CREATE INDEX sessions_finished ON sessions (consultation_id, id) WHERE finished_at IS NOT NULL;

-- Per consultation, role (when answering) and pillar; pillar_id '*' is the overall index.
-- Every finished respondent of the role counts in respondents; those with a score there in scored.
CREATE TABLE summary_totals (
    consultation_id INTEGER NOT NULL REFERENCES consultations ON DELETE CASCADE,
    role            TEXT NOT NULL CHECK (role IN ('citizen', 'official', 'moderator')),
    pillar_id       TEXT NOT NULL,
    respondents     INTEGER NOT NULL,
    scored          INTEGER NOT NULL,
    score_sum       REAL NOT NULL,              -- sum of the scored respondents' scores (0-100)
    PRIMARY KEY (consultation_id, role, pillar_id)
) WITHOUT ROWID;

-- Moderators read the newest comments first.
CREATE INDEX answers_comments ON answers (answered_at) WHERE text IS NOT NULL;

-- Officials and moderators who receive the summary when a consultation closes and weekly.
CREATE TABLE digest_subscriptions (
    user_id       INTEGER PRIMARY KEY REFERENCES respondents ON DELETE CASCADE,
    subscribed_at TEXT NOT NULL
);

-- When each open consultation's weekly digest was last sent (or its week began).
CREATE TABLE digest_runs (
    consultation_id INTEGER PRIMARY KEY REFERENCES consultations ON DELETE CASCADE,
    sent_at         TEXT NOT NULL
);

-- Keys generated once and kept, such as the one that pseudonymises respondents in exports.
CREATE TABLE secrets (
    name       TEXT PRIMARY KEY,
    value      BLOB NOT NULL,
    created_at TEXT NOT NULL
);
