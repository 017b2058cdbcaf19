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

-- When each open consultation's last weekly digest was claimed (or its first week began).
CREATE TABLE digest_runs (
    consultation_id INTEGER PRIMARY KEY REFERENCES consultations ON DELETE CASCADE,
    sent_at         TEXT NOT NULL
);

-- Digests that are due or were sent: a consultation's final summary, and weekly ones. Each is
-- recorded before anything is sent, in the transaction that makes it due (a week's claim; for the
-- final one, the trigger below, in the transaction that closes the consultation), and done_at is
-- set once every subscriber has it or could not be reached. A sweep at start-up, after each
-- close and every hour sends what is due, so a crash delays a digest but never loses it.
CREATE TABLE digests (
    id              INTEGER PRIMARY KEY,
    consultation_id INTEGER NOT NULL REFERENCES consultations ON DELETE CASCADE,
    kind            TEXT NOT NULL CHECK (kind IN ('weekly', 'final')),
    done_at         TEXT                        -- NULL: still due to someone
);

CREATE UNIQUE INDEX digests_one_final ON digests (consultation_id) WHERE kind = 'final';
CREATE INDEX digests_due ON digests (id) WHERE done_at IS NULL;

-- Whoever closes a consultation (a button, a schedule, a start-up catch-up, a hand-written
-- UPDATE), its final digest is due from the same commit. (A migration that rebuilds consultations
-- must create this trigger again.)
CREATE TRIGGER consultations_final_digest AFTER UPDATE OF status ON consultations
WHEN NEW.status = 'closed' AND OLD.status <> 'closed'
BEGIN
    INSERT OR IGNORE INTO digests (consultation_id, kind) VALUES (NEW.id, 'final');
END;

-- Who has had a digest ('sent'), who could not get it ('failed': given up), and who is to be
-- tried again ('retry'). A subscriber without a row here is still owed it.
CREATE TABLE digest_recipients (
    digest_id  INTEGER NOT NULL REFERENCES digests ON DELETE CASCADE,
    user_id    INTEGER NOT NULL REFERENCES respondents ON DELETE CASCADE,
    status     TEXT NOT NULL CHECK (status IN ('sent', 'retry', 'failed')),
    attempts   INTEGER NOT NULL DEFAULT 0,    -- failed attempts
    last_error TEXT,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (digest_id, user_id)
) WITHOUT ROWID;

-- Keys generated once and kept, such as the one that pseudonymises respondents in exports.
CREATE TABLE secrets (
    name       TEXT PRIMARY KEY,
    value      BLOB NOT NULL,
    created_at TEXT NOT NULL
);
