-- askdesk store, version 8: every website sync of a tenant (`askdesk sync`, the service's
-- schedule) is recorded: when, what it came to, how many pages it added, changed and removed,
-- and the pages it could not fetch (a JSON list of {url, message}).

CREATE TABLE syncs (
    tenant      TEXT NOT NULL,
    started_at  INTEGER NOT NULL,
    finished_at INTEGER NOT NULL,
    outcome     TEXT NOT NULL,
    pages       INTEGER NOT NULL,
    added       INTEGER NOT NULL,
    changed     INTEGER NOT NULL,
    removed     INTEGER NOT NULL,
    unchanged   INTEGER NOT NULL,
    errors      TEXT NOT NULL
);

CREATE INDEX syncs_by_tenant ON syncs (tenant, started_at);
