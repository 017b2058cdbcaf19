-- Broadcasts: a consultation announced to every subscriber, through a persisted queue of
-- deliveries, so that a bot killed halfway resumes where it was and writes to nobody twice.

CREATE TABLE broadcasts (
    id                  INTEGER PRIMARY KEY,
    consultation_id     INTEGER NOT NULL REFERENCES consultations ON DELETE CASCADE,
    created_by          INTEGER NOT NULL,       -- Telegram user id of the moderator
    locale              TEXT NOT NULL,          -- the moderator's language: preview, progress, report
    status              TEXT NOT NULL DEFAULT 'draft'
                        CHECK (status IN ('draft', 'sending', 'done', 'cancelled')),
    stop_reason         TEXT                    -- why it was cancelled while sending: a moderator's
                        CHECK (stop_reason IN ('moderator', 'closed')),  -- Stop, or the consultation closed
    created_at          TEXT NOT NULL,
    started_at          TEXT,                   -- when Send was tapped
    finished_at         TEXT,                   -- when the final report was made (or a draft cancelled)
    progress_chat_id    INTEGER,                -- the message showing the progress, edited in place
    progress_message_id INTEGER,
    progress_text       TEXT                    -- what it shows, so an edit never repeats it
);

-- One row per subscriber of a sending broadcast. 'sending' is written before the Bot API call
-- and 'sent' right after it, so a row left 'sending' by a crash is the only uncertain one.
-- 'skipped': the subscriber sent /stop after Send, before their turn came, so nothing was sent.
CREATE TABLE deliveries (
    broadcast_id INTEGER NOT NULL REFERENCES broadcasts ON DELETE CASCADE,
    user_id      INTEGER NOT NULL REFERENCES respondents ON DELETE CASCADE,
    status       TEXT NOT NULL DEFAULT 'pending'
                 CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'blocked', 'skipped')),
    attempts     INTEGER NOT NULL DEFAULT 0,    -- failed attempts (flood waits and outages not counted)
    last_error   TEXT,
    message_id   INTEGER,                       -- the announcement in the subscriber's chat
    sent_at      TEXT,
    PRIMARY KEY (broadcast_id, user_id)
) WITHOUT ROWID;

-- The next pending recipients in user order, and the counts per status, without a table scan.
CREATE INDEX deliveries_by_status ON deliveries (broadcast_id, status, user_id);

-- Sending broadcasts are resumed at start-up.
CREATE INDEX broadcasts_unfinished ON broadcasts (status) WHERE finished_at IS NULL;

-- A consultation is announced by one broadcast at a time, or every subscriber would get it twice.
CREATE UNIQUE INDEX broadcasts_one_sending ON broadcasts (consultation_id) WHERE status = 'sending';

-- The preview says when the consultation was last announced.
CREATE INDEX broadcasts_by_consultation ON broadcasts (consultation_id, started_at);

-- Subscribers are counted and enqueued when a broadcast is previewed and sent.
CREATE INDEX respondents_subscribers ON respondents (user_id)
    WHERE subscribed = 1 AND blocked_at IS NULL;
