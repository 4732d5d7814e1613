-- askdesk store on PostgreSQL, version 1: the schema SQLite reaches at its version 6, for
-- several replicas sharing one database. Times are Unix milliseconds; JSON columns hold text
-- written by the application, as on SQLite, so both backends run the same queries.
--
-- `rowid` orders messages in the order they were stored (SQLite's implicit rowid does the same
-- there); it carries that name so one set of queries serves both backends.

CREATE TABLE conversations (
    id            TEXT PRIMARY KEY,
    tenant        TEXT NOT NULL,
    token_hash    TEXT NOT NULL,          -- sha256 of the conversation token; the token is never stored
    contact_email TEXT,
    created_at    BIGINT NOT NULL
);

CREATE TABLE messages (
    rowid           BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,
    id              TEXT PRIMARY KEY,
    conversation_id TEXT NOT NULL REFERENCES conversations(id),
    role            TEXT NOT NULL CHECK (role IN ('user', 'assistant')),
    content         TEXT NOT NULL,
    outcome         TEXT,                 -- assistant turns: answer | escalate
    reason          TEXT,
    confidence      DOUBLE PRECISION,
    citations       TEXT NOT NULL DEFAULT '[]',
    decision        TEXT,
    created_at      BIGINT NOT NULL
);
CREATE INDEX messages_by_conversation ON messages (conversation_id, created_at);

CREATE TABLE tickets (
    id              TEXT PRIMARY KEY,
    tenant          TEXT NOT NULL,
    brand           TEXT NOT NULL,        -- snapshot of the tenant's name and address at creation
    support_email   TEXT NOT NULL,
    conversation_id TEXT,
    question        TEXT NOT NULL,
    transcript      TEXT NOT NULL DEFAULT '[]',
    passages        TEXT NOT NULL DEFAULT '[]',
    reason          TEXT NOT NULL,
    confidence      DOUBLE PRECISION NOT NULL,
    decision        TEXT,
    contact_email   TEXT,
    note            TEXT,
    fields          TEXT NOT NULL DEFAULT '[]',
    status          TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'failed')),
    attempts        BIGINT NOT NULL DEFAULT 0,
    last_error      TEXT,
    next_attempt_at BIGINT NOT NULL,
    claimed_until   BIGINT NOT NULL DEFAULT 0,
    created_at      BIGINT NOT NULL,
    sent_at         BIGINT
);
CREATE INDEX tickets_due ON tickets (status, next_attempt_at);

CREATE TABLE attachments (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ticket_id    TEXT NOT NULL REFERENCES tickets(id),
    filename     TEXT NOT NULL,
    content_type TEXT NOT NULL,
    data         BYTEA NOT NULL
);
CREATE INDEX attachments_by_ticket ON attachments (ticket_id, id);

CREATE TABLE feedback (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    message_id TEXT NOT NULL REFERENCES messages(id),
    rating     TEXT NOT NULL CHECK (rating IN ('up', 'down')),
    comment    TEXT,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX feedback_one_per_message ON feedback (message_id);
