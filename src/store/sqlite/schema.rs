//! The SQLite store's schema changes, in order; `PRAGMA user_version` counts how many ran.

pub const MIGRATIONS: &[&str] = &[
    // 1: initiatives with tombstones, submissions, the audit log.
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value ANY NOT NULL) STRICT;
     CREATE TABLE initiatives (
         id TEXT PRIMARY KEY,
         feature TEXT NOT NULL,
         updated_at TEXT NOT NULL,
         deleted_at TEXT,
         revision INTEGER NOT NULL,
         source TEXT,
         source_id TEXT,
         UNIQUE (source, source_id)
     ) STRICT;
     CREATE INDEX initiatives_deleted ON initiatives (deleted_at) WHERE deleted_at IS NOT NULL;
     CREATE TABLE submissions (
         id TEXT PRIMARY KEY,
         feature TEXT NOT NULL,
         client TEXT NOT NULL,
         submitted_at TEXT NOT NULL,
         status TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'rejected')),
         decided_by TEXT,
         decided_at TEXT,
         reason TEXT,
         initiative_id TEXT
     ) STRICT;
     CREATE INDEX submissions_by_status ON submissions (status, submitted_at);
     CREATE TABLE audit (
         seq INTEGER PRIMARY KEY AUTOINCREMENT,
         at TEXT NOT NULL,
         actor TEXT NOT NULL,
         action TEXT NOT NULL,
         initiative_id TEXT,
         submission_id TEXT,
         before TEXT,
         after TEXT,
         detail TEXT
     ) STRICT;
     INSERT INTO meta (key, value) VALUES ('revision', 0), ('instance', lower(hex(randomblob(8))));",
    // 2: harvested feeds and the validators of their last fetch.
    "CREATE TABLE feeds (
         source TEXT PRIMARY KEY,
         location TEXT NOT NULL,
         etag TEXT,
         last_modified TEXT,
         harvested_at TEXT NOT NULL
     ) STRICT;",
    // 3: finding what changed since a revision, for publishing changes without a full read.
    "CREATE INDEX initiatives_by_revision ON initiatives (revision);",
    // 4: submissions' rate limit per client (the cell rate algorithm's arrival time, epoch
    // seconds), and harvest leases, so that the limits and schedules hold for every process.
    "CREATE TABLE rate_limits (
         client TEXT PRIMARY KEY,
         arrival REAL NOT NULL
     ) STRICT;
     CREATE INDEX rate_limits_by_arrival ON rate_limits (arrival);
     CREATE TABLE harvest_leases (
         feed TEXT PRIMARY KEY,
         next_due REAL NOT NULL,
         holder TEXT,
         held_until REAL,
         failures INTEGER NOT NULL DEFAULT 0
     ) STRICT;",
    // 5: records carry their evidence. Rows written before say nothing of it: they are
    // running (`active`), placed on their city (`city`), with no evidence page. One change, so
    // every cached version of the data goes stale.
    "CREATE TEMP VIEW unmarked AS SELECT id FROM initiatives
         WHERE json_type(feature, '$.properties.status') IS NULL
            OR json_type(feature, '$.properties.location_precision') IS NULL;
     UPDATE meta SET value = value + 1
     WHERE key = 'revision' AND EXISTS (SELECT 1 FROM unmarked);
     INSERT INTO audit (at, actor, action, detail)
     SELECT strftime('%Y-%m-%dT%H:%M:%SZ', 'now'), 'migration', 'migrate',
            count(*) || ' records without status or location_precision set to active and city'
     FROM unmarked HAVING count(*) > 0;
     UPDATE initiatives SET
         feature = json_set(feature, '$.properties.status', 'active'),
         revision = (SELECT value FROM meta WHERE key = 'revision')
     WHERE json_type(feature, '$.properties.status') IS NULL;
     UPDATE initiatives SET
         feature = json_set(feature, '$.properties.location_precision', 'city'),
         revision = (SELECT value FROM meta WHERE key = 'revision')
     WHERE json_type(feature, '$.properties.location_precision') IS NULL;
     DROP VIEW temp.unmarked;",
    // 6: `Idempotency-Key` records: the request's fingerprint and the response sent, written
    // with the change they answer; pruned once older than the retention.
    "CREATE TABLE idempotency_keys (
         scope TEXT NOT NULL,
         key TEXT NOT NULL,
         fingerprint TEXT NOT NULL,
         status INTEGER NOT NULL,
         headers TEXT NOT NULL,
         body BLOB NOT NULL,
         created_at REAL NOT NULL,
         PRIMARY KEY (scope, key)
     ) STRICT;
     CREATE INDEX idempotency_keys_by_age ON idempotency_keys (created_at);",
    // 7: harvests beside curators. Each harvested record keeps the last state its feed gave
    // (`harvest_base`, for the three-way merge with curators' edits) and the number of the
    // last run that listed it (`harvest_run`: a run retires its source's rows it did not mark).
    // A run's changes are staged, batch by batch, in `harvest_changes` until the run's one
    // audit entry is written at its end.
    "ALTER TABLE initiatives ADD COLUMN harvest_base TEXT;
     ALTER TABLE initiatives ADD COLUMN harvest_run INTEGER;
     CREATE TABLE harvest_changes (
         seq INTEGER PRIMARY KEY AUTOINCREMENT,
         source TEXT NOT NULL,
         initiative_id TEXT NOT NULL,
         change TEXT NOT NULL CHECK (change IN ('added', 'updated', 'curated', 'retired')),
         diff TEXT
     ) STRICT;
     CREATE INDEX harvest_changes_by_source ON harvest_changes (source, seq);
     CREATE INDEX initiatives_by_source ON initiatives (source, harvest_run) WHERE source IS NOT NULL;
     CREATE INDEX audit_harvests ON audit (at) WHERE action LIKE 'harvest%';",
];
