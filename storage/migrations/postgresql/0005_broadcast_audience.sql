-- Who a broadcast reaches: every subscriber, or only those who have not finished its
-- consultation. (PostgreSQL dialect of ../0005_broadcast_audience.sql.)

ALTER TABLE broadcasts ADD COLUMN audience text NOT NULL DEFAULT 'everyone'
    CHECK (audience IN ('everyone', 'unfinished'));
