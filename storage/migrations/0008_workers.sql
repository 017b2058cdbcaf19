-- Several workers (`baraza run` processes) serving one bot from one database.

-- Each worker while it runs: alive while its heartbeat is recent. Times are milliseconds since
-- the Unix epoch, compared as numbers by SQLite and PostgreSQL alike.
CREATE TABLE workers (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,                  -- host and process id, for whoever reads the logs
    started_ms INTEGER NOT NULL,
    beat_ms    INTEGER NOT NULL                -- its last heartbeat
);

-- A job or a role that one worker holds at a time (a digest being sent, a broadcast's progress
-- message, the retention run), until it lets go or its lease expires.
CREATE TABLE leases (
    name       TEXT PRIMARY KEY,
    holder     TEXT NOT NULL,                  -- a worker id
    expires_ms INTEGER NOT NULL
);

-- Token buckets all workers take from, so that together they keep to one rate (the bot's bulk
-- messages per second), not to one rate each.
CREATE TABLE send_budgets (
    name       TEXT PRIMARY KEY,
    tokens     REAL NOT NULL,                  -- what is left at updated_ms
    updated_ms INTEGER NOT NULL,
    granted    INTEGER NOT NULL DEFAULT 0      -- what the last take got (read by its RETURNING)
);

-- The worker a pending delivery was handed to (it alone begins it), or that is sending it.
-- NULL: free for any worker to take. A dead worker's deliveries are freed again.
ALTER TABLE deliveries ADD COLUMN worker_id TEXT;

CREATE INDEX deliveries_by_worker ON deliveries (worker_id) WHERE worker_id IS NOT NULL;
