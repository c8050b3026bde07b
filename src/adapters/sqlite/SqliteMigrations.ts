import { SqlClient } from "@effect/sql"
import * as Migrator from "@effect/sql/Migrator"
import { Effect } from "effect"

const statements = (...ddl: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    for (const statement of ddl) yield* sql.unsafe(statement)
  })

const refuse = (what: string) => `SELECT RAISE(ABORT, 'ledgerline: ${what} is refused: the event log is immutable')`

const EVENTS_NO_UPDATE = `CREATE TRIGGER events_no_update BEFORE UPDATE ON events BEGIN ${refuse("UPDATE on events")}; END`
// a DELETE (SQLite's TRUNCATE is a DELETE) passes only inside a purge that logged itself first
const EVENTS_GUARD_DELETE = `CREATE TRIGGER events_guard_delete BEFORE DELETE ON events
    WHEN NOT EXISTS (SELECT 1 FROM retention_log WHERE active = 1 AND OLD.position <= purged_through)
    BEGIN SELECT RAISE(ABORT, 'ledgerline: DELETE on events is refused outside a logged retention purge'); END`

const events = statements(
  `CREATE TABLE events (
    position       INTEGER PRIMARY KEY,
    aggregate_id   TEXT    NOT NULL,
    version        INTEGER NOT NULL,
    event_id       TEXT    NOT NULL,
    type           TEXT    NOT NULL,
    schema_version INTEGER NOT NULL,
    timestamp      INTEGER NOT NULL,
    data           BLOB    NOT NULL,
    user_id        TEXT    NOT NULL,
    correlation_id TEXT    NOT NULL,
    causation_id   TEXT    NOT NULL,
    command_id     TEXT    NOT NULL,
    hash           BLOB    NOT NULL,
    UNIQUE (aggregate_id, version)
  )`,
  `CREATE INDEX events_type_time_idx ON events (type, timestamp, position)`,
  `CREATE INDEX events_command_idx ON events (aggregate_id, command_id)`,
  // the chain head: writing its row first takes SQLite's write lock for the whole append
  `CREATE TABLE event_head (id INTEGER PRIMARY KEY CHECK (id = 1), position INTEGER NOT NULL, hash BLOB NOT NULL)`,
  `INSERT INTO event_head VALUES (1, 0, zeroblob(32))`,
  `CREATE TABLE snapshots (
    aggregate_id  TEXT PRIMARY KEY,
    version       INTEGER NOT NULL,
    state_version INTEGER NOT NULL,
    state         TEXT NOT NULL,
    taken_at      INTEGER NOT NULL
  )`,
  `CREATE TABLE retention_log (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    purged_through INTEGER NOT NULL,
    hash           BLOB NOT NULL,
    events_removed INTEGER NOT NULL,
    reason         TEXT NOT NULL CHECK (length(trim(reason)) > 0),
    performed_at   INTEGER NOT NULL,
    active         INTEGER NOT NULL DEFAULT 0
  )`,
  EVENTS_NO_UPDATE,
  EVENTS_GUARD_DELETE,
  `CREATE TRIGGER retention_log_no_delete BEFORE DELETE ON retention_log BEGIN ${refuse("DELETE on retention_log")}; END`,
  `CREATE TRIGGER retention_log_append_only BEFORE UPDATE ON retention_log
    WHEN NEW.purged_through IS NOT OLD.purged_through OR NEW.hash IS NOT OLD.hash OR NEW.events_removed IS NOT OLD.events_removed
      OR NEW.reason IS NOT OLD.reason OR NEW.performed_at IS NOT OLD.performed_at OR NEW.active > OLD.active
    BEGIN ${refuse("UPDATE on retention_log")}; END`
)

const checkpoints = statements(
  `CREATE TABLE chain_checkpoints (
    position  INTEGER PRIMARY KEY,
    hash      TEXT NOT NULL,
    signed_at INTEGER NOT NULL,
    key_id    TEXT NOT NULL,
    signature TEXT NOT NULL
  )`,
  `CREATE TRIGGER chain_checkpoints_no_update BEFORE UPDATE ON chain_checkpoints BEGIN ${refuse("UPDATE on chain_checkpoints")}; END`,
  `CREATE TRIGGER chain_checkpoints_no_delete BEFORE DELETE ON chain_checkpoints BEGIN ${refuse("DELETE on chain_checkpoints")}; END`
)

// The read models (docs/adr/0009). Decimals are TEXT: a DECIMAL column has NUMERIC affinity in
// SQLite and would turn "10.50" into a float. Timestamps are Unix milliseconds, as in `events`.
const readModels = statements(
  `CREATE TABLE projection_checkpoints (name TEXT PRIMARY KEY, position INTEGER NOT NULL)`,
  `CREATE TABLE account_balances (
    account_id     VARCHAR(50) PRIMARY KEY,
    cash           TEXT    NOT NULL,
    realized_pnl   TEXT    NOT NULL,
    equity         TEXT    NOT NULL,
    as_of_position INTEGER NOT NULL,
    last_updated   INTEGER NOT NULL
  )`,
  // the brief's columns, then the exact state the next event folds onto
  `CREATE TABLE portfolio_positions (
    account_id     VARCHAR(50) NOT NULL,
    symbol         VARCHAR(10) NOT NULL,
    quantity       TEXT    NOT NULL,
    avg_cost       TEXT    NOT NULL,
    market_value   TEXT,
    unrealized_pnl TEXT,
    last_updated   INTEGER NOT NULL,
    market_price   TEXT,
    cost_basis     TEXT    NOT NULL,
    realized_pnl   TEXT    NOT NULL,
    PRIMARY KEY (account_id, symbol)
  )`,
  `CREATE INDEX portfolio_positions_symbol_idx ON portfolio_positions (symbol)`,
  `CREATE TABLE trade_history (
    trade_id    VARCHAR(50) PRIMARY KEY,
    account_id  VARCHAR(50) NOT NULL,
    symbol      VARCHAR(10) NOT NULL,
    quantity    TEXT    NOT NULL,
    price       TEXT    NOT NULL,
    trade_type  VARCHAR(10) NOT NULL,
    executed_at INTEGER NOT NULL,
    order_id    VARCHAR(50) NOT NULL
  )`,
  `CREATE INDEX idx_account_time ON trade_history (account_id, executed_at)`,
  `CREATE INDEX idx_account_symbol_time ON trade_history (account_id, symbol, executed_at)`,
  `CREATE TABLE balance_history (
    account_id VARCHAR(50) NOT NULL,
    day        TEXT NOT NULL,
    cash       TEXT NOT NULL,
    equity     TEXT NOT NULL,
    PRIMARY KEY (account_id, day)
  )`,
  `CREATE TABLE latest_prices (symbol VARCHAR(10) PRIMARY KEY, price TEXT NOT NULL, at INTEGER NOT NULL)`,
  `CREATE TABLE price_bars (
    symbol VARCHAR(10) NOT NULL,
    minute INTEGER NOT NULL,
    open   TEXT NOT NULL,
    high   TEXT NOT NULL,
    low    TEXT NOT NULL,
    close  TEXT NOT NULL,
    ticks  INTEGER NOT NULL,
    PRIMARY KEY (symbol, minute)
  )`
)

const METADATA_COLUMNS = "user_id, correlation_id, causation_id, command_id"

// Fewer bytes per event (docs/adr/0017): a user or command id that is a UUID goes into a 16-byte
// BLOB column instead of 36 bytes of text, and a correlation or causation id equal to the command id
// is NULL. SQLite cannot drop a NOT NULL in place, so the table is rebuilt (DROP TABLE removes its
// triggers before its rows, so the immutability triggers do not fire) and its indexes and triggers
// made again; the rows are copied as they are.
const compactMetadata = statements(
  `CREATE TABLE events_next (
    position       INTEGER PRIMARY KEY,
    aggregate_id   TEXT    NOT NULL,
    version        INTEGER NOT NULL,
    event_id       TEXT    NOT NULL,
    type           TEXT    NOT NULL,
    schema_version INTEGER NOT NULL,
    timestamp      INTEGER NOT NULL,
    data           BLOB    NOT NULL,
    user_id        TEXT,
    correlation_id TEXT,
    causation_id   TEXT,
    command_id     TEXT,
    hash           BLOB    NOT NULL,
    user_uuid      BLOB CHECK (length(user_uuid) = 16),
    command_uuid   BLOB CHECK (length(command_uuid) = 16),
    CHECK ((user_id IS NULL) <> (user_uuid IS NULL)),
    CHECK ((command_id IS NULL) <> (command_uuid IS NULL)),
    UNIQUE (aggregate_id, version)
  )`,
  `INSERT INTO events_next (position, aggregate_id, version, event_id, type, schema_version, timestamp, data, ${METADATA_COLUMNS}, hash)
    SELECT position, aggregate_id, version, event_id, type, schema_version, timestamp, data, ${METADATA_COLUMNS}, hash FROM events`,
  `DROP TABLE events`,
  `ALTER TABLE events_next RENAME TO events`,
  `CREATE INDEX events_type_time_idx ON events (type, timestamp, position)`,
  // idempotent commands, by whichever column holds the command id
  `CREATE INDEX events_command_idx ON events (aggregate_id, command_id) WHERE command_id IS NOT NULL`,
  `CREATE INDEX events_command_uuid_idx ON events (aggregate_id, command_uuid) WHERE command_uuid IS NOT NULL`,
  EVENTS_NO_UPDATE,
  EVENTS_GUARD_DELETE
)

/** Every migration, by `<id>_<name>`: `migrate` runs those a database has not run yet. */
export const migrations = {
  "0001_events": events, "0002_checkpoints": checkpoints, "0003_read_models": readModels, "0004_compact_metadata": compactMetadata
}

/** Creates or upgrades the schema. */
export const migrate = Migrator.make({})({
  loader: Migrator.fromRecord(migrations),
  table: "ledgerline_migrations"
})
