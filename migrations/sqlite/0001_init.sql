-- askdesk store, version 1: conversations, messages, tickets (the email outbox), feedback.
-- Times are Unix milliseconds; JSON columns hold arrays/objects written by the application.

CREATE TABLE conversations (
    id            TEXT PRIMARY KEY,
    tenant        TEXT NOT NULL,
    token_hash    TEXT NOT NULL,          -- sha256 of the conversation token; the token is never stored
    contact_email TEXT,
    created_at    INTEGER NOT NULL
);

CREATE TABLE messages (
    id              TEXT PRIMARY KEY,
    conversation_id TEXT NOT NULL REFERENCES conversations(id),
    role            TEXT NOT NULL CHECK (role IN ('user', 'assistant')),
    content         TEXT NOT NULL,
    outcome         TEXT,                 -- assistant turns: answer | escalate
    reason          TEXT,
    confidence      REAL,
    citations       TEXT NOT NULL DEFAULT '[]',
    created_at      INTEGER NOT NULL
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
    confidence      REAL NOT NULL,
    contact_email   TEXT,
    note            TEXT,
    fields          TEXT NOT NULL DEFAULT '[]',
    status          TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT,
    next_attempt_at INTEGER NOT NULL,
    created_at      INTEGER NOT NULL,
    sent_at         INTEGER
);
CREATE INDEX tickets_due ON tickets (status, next_attempt_at);

CREATE TABLE feedback (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id TEXT NOT NULL REFERENCES messages(id),
    rating     TEXT NOT NULL CHECK (rating IN ('up', 'down')),
    comment    TEXT,
    created_at INTEGER NOT NULL
);
