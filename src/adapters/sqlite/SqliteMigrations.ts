import { SqlClient } from "@effect/sql"
import * as Migrator from "@effect/sql/Migrator"
import { Effect } from "effect"

const statements = (...ddl: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    for (const statement of ddl) yield* sql.unsafe(statement)
  })

const refuse = (what: string) => `SELECT RAISE(ABORT, 'ledgerline: ${what} is refused: the event log is immutable')`

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
  `CREATE TRIGGER events_no_update BEFORE UPDATE ON events BEGIN ${refuse("UPDATE on events")}; END`,
  // a DELETE (SQLite's TRUNCATE is a DELETE) passes only inside a purge that logged itself first
  `CREATE TRIGGER events_guard_delete BEFORE DELETE ON events
    WHEN NOT EXISTS (SELECT 1 FROM retention_log WHERE active = 1 AND OLD.position <= purged_through)
    BEGIN SELECT RAISE(ABORT, 'ledgerline: DELETE on events is refused outside a logged retention purge'); END`,
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

/** Creates or upgrades the schema. */
export const migrate = Migrator.make({})({
  loader: Migrator.fromRecord({ "0001_events": events, "0002_checkpoints": checkpoints }),
  table: "ledgerline_migrations"
})
