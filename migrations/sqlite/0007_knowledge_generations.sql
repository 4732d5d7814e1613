-- askdesk store, version 7: every re-index is announced to the other replicas. One row per
-- scope (a tenant id, or '*' for every tenant) whose generation goes up by one each time a
-- replica re-indexes it; each replica follows the generations and re-indexes from its own
-- knowledge folder when another replica (`origin`) moved one.

CREATE TABLE knowledge_generations (
    scope      TEXT PRIMARY KEY,
    generation INTEGER NOT NULL,
    origin     TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);
