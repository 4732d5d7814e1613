-- askdesk store, version 6: an outbox worker claims a ticket before it sends it, for a lease
-- (Unix ms until which no other worker takes it). A worker that dies mid-send leaves a claim
-- that expires, and another worker sends the ticket; 0 means unclaimed.

ALTER TABLE tickets ADD COLUMN claimed_until INTEGER NOT NULL DEFAULT 0;
