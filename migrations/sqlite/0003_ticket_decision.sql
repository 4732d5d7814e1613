-- askdesk store, version 3: the decision behind a hand-over (the check that decided and the
-- signals it read, JSON), so the support team and the evals see why the bot did not answer.
-- NULL for tickets from the hand-over form and for tickets written before this version.

ALTER TABLE tickets ADD COLUMN decision TEXT;
