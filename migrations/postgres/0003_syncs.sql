-- askdesk store on PostgreSQL, version 3 (SQLite's version 8): every website sync of a tenant
-- (`askdesk sync`, the service's schedule) is recorded: when, what it came to, how many pages
-- it added, changed and removed, and the pages it could not fetch (a JSON list of
-- {url, message}).

CREATE TABLE syncs (
    tenant      TEXT NOT NULL,
    started_at  BIGINT NOT NULL,
    finished_at BIGINT NOT NULL,
    outcome     TEXT NOT NULL,
    pages       BIGINT NOT NULL,
    added       BIGINT NOT NULL,
    changed     BIGINT NOT NULL,
    removed     BIGINT NOT NULL,
    unchanged   BIGINT NOT NULL,
    errors      TEXT NOT NULL
);

CREATE INDEX syncs_by_tenant ON syncs (tenant, started_at);
