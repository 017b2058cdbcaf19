-- Who a broadcast reaches: every subscriber, or only those who have not finished its
-- consultation (a reminder, which never tells someone who answered that their views are wanted).

ALTER TABLE broadcasts ADD COLUMN audience TEXT NOT NULL DEFAULT 'everyone'
    CHECK (audience IN ('everyone', 'unfinished'));
