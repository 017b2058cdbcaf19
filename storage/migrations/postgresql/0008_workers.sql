-- Several workers serving one bot from one database. (PostgreSQL dialect of ../0008_workers.sql;
-- the comments there explain it.) Times are milliseconds since the Unix epoch.

CREATE TABLE workers (
    id         text PRIMARY KEY,
    name       text NOT NULL,
    started_ms bigint NOT NULL,
    beat_ms    bigint NOT NULL
);

CREATE TABLE leases (
    name       text PRIMARY KEY,
    holder     text NOT NULL,
    expires_ms bigint NOT NULL
);

CREATE TABLE send_budgets (
    name       text PRIMARY KEY,
    tokens     double precision NOT NULL,
    updated_ms bigint NOT NULL,
    granted    integer NOT NULL DEFAULT 0
);

ALTER TABLE deliveries ADD COLUMN worker_id text;

CREATE INDEX deliveries_by_worker ON deliveries (worker_id) WHERE worker_id IS NOT NULL;
