-- Per-question results and releases. (PostgreSQL dialect of
-- ../0007_question_totals_and_releases.sql; the comments there explain releases.)

CREATE TABLE question_totals (
    consultation_id bigint NOT NULL REFERENCES consultations ON DELETE CASCADE,
    role            text NOT NULL CHECK (role IN ('citizen', 'official', 'moderator')),
    question_id     text NOT NULL,
    option_id       text NOT NULL,
    answers         integer NOT NULL,
    PRIMARY KEY (consultation_id, role, question_id, option_id)
);

-- Each group's last release: how many of its respondents had finished, and when.
CREATE TABLE summary_releases (
    consultation_id bigint NOT NULL REFERENCES consultations ON DELETE CASCADE,
    role            text NOT NULL CHECK (role IN ('citizen', 'official', 'moderator')),
    respondents     integer NOT NULL,
    released_at     text NOT NULL,
    PRIMARY KEY (consultation_id, role)
);

-- The released copies of summary_totals and question_totals rows.
CREATE TABLE released_summary_totals (
    consultation_id bigint NOT NULL REFERENCES consultations ON DELETE CASCADE,
    role            text NOT NULL,
    pillar_id       text NOT NULL,
    respondents     integer NOT NULL,
    scored          integer NOT NULL,
    score_sum       double precision NOT NULL,
    PRIMARY KEY (consultation_id, role, pillar_id)
);

CREATE TABLE released_question_totals (
    consultation_id bigint NOT NULL REFERENCES consultations ON DELETE CASCADE,
    role            text NOT NULL,
    question_id     text NOT NULL,
    option_id       text NOT NULL,
    answers         integer NOT NULL,
    PRIMARY KEY (consultation_id, role, question_id, option_id)
);

-- Consultations filled with synthetic respondents (baraza sandbox --demo).
CREATE TABLE demo_consultations (
    consultation_id bigint PRIMARY KEY REFERENCES consultations ON DELETE CASCADE
);

-- Sessions finished before this migration are added to both totals again.
DELETE FROM summary_totals;
UPDATE sessions SET summarised = 0 WHERE summarised = 1;
