-- askdesk store, version 2: screenshots a customer attaches to a handoff. Kept in their own
-- table (not a column of tickets) so listing tickets never reads megabytes of images.

CREATE TABLE attachments (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    ticket_id    TEXT NOT NULL REFERENCES tickets(id),
    filename     TEXT NOT NULL,
    content_type TEXT NOT NULL,
    data         BLOB NOT NULL
);
CREATE INDEX attachments_by_ticket ON attachments (ticket_id, id);
