-- askdesk store, version 5: one rating per answer. A customer who changes their mind replaces
-- their rating (the latest wins) instead of adding rows without end; earlier duplicates keep
-- only their latest row.

DELETE FROM feedback WHERE id NOT IN (SELECT MAX(id) FROM feedback GROUP BY message_id);
CREATE UNIQUE INDEX feedback_one_per_message ON feedback (message_id);
