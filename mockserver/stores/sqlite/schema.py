"""The SQLite store's tables, indexes and triggers, as the statements that create them."""

SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    provider TEXT NOT NULL, id TEXT NOT NULL, tenant TEXT NOT NULL,
    version INTEGER NOT NULL, data TEXT NOT NULL, status TEXT, ord TEXT, deadline REAL,
    PRIMARY KEY (provider, id));
CREATE TABLE IF NOT EXISTS feeds (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, entry TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS feeds_by_name ON feeds (name, seq);
CREATE TABLE IF NOT EXISTS kv (
    ns TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, expires REAL,
    PRIMARY KEY (ns, key));
-- Expired values are deleted by the earliest expiry first (SqliteStore.collect).
CREATE INDEX IF NOT EXISTS kv_by_expiry ON kv (expires) WHERE expires IS NOT NULL;
CREATE TABLE IF NOT EXISTS docs (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS journal (id INTEGER PRIMARY KEY AUTOINCREMENT, entry TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS faults (
    id INTEGER PRIMARY KEY AUTOINCREMENT, spec TEXT NOT NULL, hits INTEGER NOT NULL,
    times INTEGER);
"""

# Work queues (queue_push, queue_claim): an entry is claimed by moving its due time to the end
# of its lease, in one write transaction, so exactly one claimer gets it.
QUEUE_SCHEMA = """
CREATE TABLE IF NOT EXISTS queue (
    id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, due REAL NOT NULL,
    entry TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS queue_by_due ON queue (name, due, id);
"""

# Made after the columns exist (a file from an earlier version gets them added first).
INDEXES = """
DROP INDEX IF EXISTS records_by_tenant;
CREATE INDEX IF NOT EXISTS records_by_order ON records (provider, tenant, ord);
CREATE INDEX IF NOT EXISTS records_by_status ON records (provider, tenant, status, ord);
CREATE INDEX IF NOT EXISTS records_by_deadline ON records (provider, tenant, deadline)
    WHERE deadline IS NOT NULL;
CREATE INDEX IF NOT EXISTS records_unkeyed ON records (provider) WHERE ord IS NULL;
CREATE TABLE IF NOT EXISTS counts (
    provider TEXT NOT NULL, tenant TEXT NOT NULL, status TEXT NOT NULL, n INTEGER NOT NULL,
    PRIMARY KEY (provider, tenant, status));
CREATE TRIGGER IF NOT EXISTS counts_insert AFTER INSERT ON records BEGIN
    INSERT INTO counts VALUES (NEW.provider, NEW.tenant, IFNULL(NEW.status, ''), 1)
        ON CONFLICT (provider, tenant, status) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER IF NOT EXISTS counts_delete AFTER DELETE ON records BEGIN
    UPDATE counts SET n = n - 1 WHERE provider = OLD.provider AND tenant = OLD.tenant
        AND status = IFNULL(OLD.status, '');
END;
CREATE TRIGGER IF NOT EXISTS counts_update AFTER UPDATE OF status, tenant ON records
    WHEN IFNULL(OLD.status, '') IS NOT IFNULL(NEW.status, '') OR OLD.tenant IS NOT NEW.tenant
BEGIN
    UPDATE counts SET n = n - 1 WHERE provider = OLD.provider AND tenant = OLD.tenant
        AND status = IFNULL(OLD.status, '');
    INSERT INTO counts VALUES (NEW.provider, NEW.tenant, IFNULL(NEW.status, ''), 1)
        ON CONFLICT (provider, tenant, status) DO UPDATE SET n = n + 1;
END;
"""

# A file from before the counts table: count what it holds once (the triggers keep it after).
RECOUNT = """
DELETE FROM counts;
INSERT INTO counts SELECT provider, tenant, IFNULL(status, ''), COUNT(*) FROM records
    GROUP BY provider, tenant, IFNULL(status, '');
"""
