-- Per-question results and releases.
--
-- question_totals: per consultation, role and answered option of a shown choice question, how
-- many finished respondents chose it; kept with summary_totals in the transaction that finishes a
-- session (SummaryStatements.add_many), so per-question figures read a few hundred rows.
--
-- Releases: what summaries show is not the running totals but their last release. A group (a
-- role of a consultation) is released again only once more than the minimum group of new
-- respondents finished since its last release; a figure within it (a pillar, a question) moves
-- only when what it rests on grew by more than the minimum group too (or did not change), so no
-- two published figures differ by a handful of people whose answers could be worked out.

CREATE TABLE question_totals (
    consultation_id INTEGER NOT NULL REFERENCES consultations ON DELETE CASCADE,
    role            TEXT NOT NULL CHECK (role IN ('citizen', 'official', 'moderator')),
    question_id     TEXT NOT NULL,
    option_id       TEXT NOT NULL,
    answers         INTEGER NOT NULL,
    PRIMARY KEY (consultation_id, role, question_id, option_id)
) WITHOUT ROWID;

-- Each group's last release: how many of its respondents had finished, and when.
CREATE TABLE summary_releases (
    consultation_id INTEGER NOT NULL REFERENCES consultations ON DELETE CASCADE,
    role            TEXT NOT NULL CHECK (role IN ('citizen', 'official', 'moderator')),
    respondents     INTEGER NOT NULL,
    released_at     TEXT NOT NULL,
    PRIMARY KEY (consultation_id, role)
) WITHOUT ROWID;

-- The released copies of summary_totals and question_totals rows.
CREATE TABLE released_summary_totals (
    consultation_id INTEGER NOT NULL REFERENCES consultations ON DELETE CASCADE,
    role            TEXT NOT NULL,
    pillar_id       TEXT NOT NULL,
    respondents     INTEGER NOT NULL,
    scored          INTEGER NOT NULL,
    score_sum       REAL NOT NULL,
    PRIMARY KEY (consultation_id, role, pillar_id)
) WITHOUT ROWID;

CREATE TABLE released_question_totals (
    consultation_id INTEGER NOT NULL REFERENCES consultations ON DELETE CASCADE,
    role            TEXT NOT NULL,
    question_id     TEXT NOT NULL,
    option_id       TEXT NOT NULL,
    answers         INTEGER NOT NULL,
    PRIMARY KEY (consultation_id, role, question_id, option_id)
) WITHOUT ROWID;

-- Consultations filled with synthetic respondents (baraza sandbox --demo): every summary and
-- report of one says so.
CREATE TABLE demo_consultations (
    consultation_id INTEGER PRIMARY KEY REFERENCES consultations ON DELETE CASCADE
);

-- The per-question totals of sessions finished before this migration are built the way totals
-- of sessions from before running totals were: every finished session is added again (at
-- start-up, or when its consultation's summary is next read), both totals together.
DELETE FROM summary_totals;
UPDATE sessions SET summarised = 0 WHERE summarised = 1;
