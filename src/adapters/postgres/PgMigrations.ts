import { SqlClient } from "@effect/sql"
import * as Migrator from "@effect/sql/Migrator"
import { Effect } from "effect"

/** Hash partitions of the events table (the brief's "partitioning by aggregate ID"). */
export const PARTITIONS = 8

const statements = (...ddl: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    for (const statement of ddl) yield* sql.unsafe(statement)
  })

const partitions = Array.from({ length: PARTITIONS }, (_, i) => i)

const events = statements(
  `CREATE TABLE events (
    position       bigint      NOT NULL,
    aggregate_id   text        NOT NULL,
    version        integer     NOT NULL,
    event_id       uuid        NOT NULL,
    type           text        NOT NULL,
    schema_version smallint    NOT NULL,
    "timestamp"    timestamptz NOT NULL,
    data           bytea       NOT NULL,
    user_id        text        NOT NULL,
    correlation_id text        NOT NULL,
    causation_id   text        NOT NULL,
    command_id     text        NOT NULL,
    hash           bytea       NOT NULL,
    PRIMARY KEY (aggregate_id, version)
  ) PARTITION BY HASH (aggregate_id)`,
  ...partitions.map((i) => `CREATE TABLE events_p${i} PARTITION OF events FOR VALUES WITH (MODULUS ${PARTITIONS}, REMAINDER ${i})`),
  // the global log, in commit order
  `CREATE INDEX events_position_idx ON events (position)`,
  // reads by type and time (the brief's GSI-1)
  `CREATE INDEX events_type_time_idx ON events (type, "timestamp", position)`,
  // idempotent commands
  `CREATE INDEX events_command_idx ON events (aggregate_id, command_id)`,
  // the chain head: its one row is the writers' lock, so positions follow commit order
  `CREATE TABLE event_head (id smallint PRIMARY KEY CHECK (id = 1), position bigint NOT NULL, hash bytea NOT NULL)`,
  `INSERT INTO event_head VALUES (1, 0, decode(repeat('00', 32), 'hex'))`,
  `CREATE TABLE snapshots (
    aggregate_id  text PRIMARY KEY,
    version       integer NOT NULL,
    state_version integer NOT NULL,
    state         text NOT NULL,
    taken_at      timestamptz NOT NULL
  )`,
  // retention: the only way events leave the table, and every purge is logged here
  `CREATE TABLE retention_log (
    id             bigserial PRIMARY KEY,
    txid           bigint NOT NULL DEFAULT txid_current(),
    purged_through bigint NOT NULL,
    hash           bytea NOT NULL,
    events_removed bigint NOT NULL DEFAULT 0,
    reason         text NOT NULL CHECK (length(trim(reason)) > 0),
    performed_by   text NOT NULL DEFAULT current_user,
    performed_at   timestamptz NOT NULL DEFAULT now()
  )`,
  `CREATE FUNCTION ledgerline_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    RAISE EXCEPTION 'ledgerline: % on % is refused: the event log is immutable', TG_OP, TG_TABLE_NAME
      USING ERRCODE = 'insufficient_privilege';
  END $$`,
  `CREATE FUNCTION ledgerline_guard_delete() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    IF EXISTS (SELECT 1 FROM retention_log WHERE txid = txid_current() AND OLD.position <= purged_through) THEN
      RETURN OLD;
    END IF;
    RAISE EXCEPTION 'ledgerline: DELETE on events is refused outside a logged retention purge'
      USING ERRCODE = 'insufficient_privilege';
  END $$`,
  `CREATE TRIGGER events_no_update BEFORE UPDATE ON events FOR EACH ROW EXECUTE FUNCTION ledgerline_refuse_change()`,
  `CREATE TRIGGER events_guard_delete BEFORE DELETE ON events FOR EACH ROW EXECUTE FUNCTION ledgerline_guard_delete()`,
  `CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events FOR EACH STATEMENT EXECUTE FUNCTION ledgerline_refuse_change()`,
  // TRUNCATE of a single partition does not fire the parent's statement trigger
  ...partitions.map((i) =>
    `CREATE TRIGGER events_p${i}_no_truncate BEFORE TRUNCATE ON events_p${i} FOR EACH STATEMENT EXECUTE FUNCTION ledgerline_refuse_change()`),
  `CREATE TRIGGER retention_log_append_only BEFORE UPDATE OR DELETE ON retention_log FOR EACH ROW EXECUTE FUNCTION ledgerline_refuse_change()`,
  `CREATE TRIGGER retention_log_no_truncate BEFORE TRUNCATE ON retention_log FOR EACH STATEMENT EXECUTE FUNCTION ledgerline_refuse_change()`,
  // the retention procedure: removes the prefix of the log through a position, and logs it
  `CREATE FUNCTION ledgerline_purge_through(p_position bigint, p_reason text) RETURNS bigint LANGUAGE plpgsql AS $$
  DECLARE
    kept_link bytea;
    removed bigint;
  BEGIN
    SELECT hash INTO kept_link FROM events WHERE position = p_position;
    IF kept_link IS NULL THEN
      RAISE EXCEPTION 'ledgerline: no event at position %', p_position;
    END IF;
    SELECT count(*) INTO removed FROM events WHERE position <= p_position;
    INSERT INTO retention_log (purged_through, hash, events_removed, reason) VALUES (p_position, kept_link, removed, p_reason);
    DELETE FROM events WHERE position <= p_position;
    RETURN removed;
  END $$`
)

const checkpoints = statements(
  `CREATE TABLE chain_checkpoints (
    position  bigint PRIMARY KEY,
    hash      text NOT NULL,
    signed_at timestamptz NOT NULL,
    key_id    text NOT NULL,
    signature text NOT NULL
  )`,
  `CREATE TRIGGER chain_checkpoints_append_only BEFORE UPDATE OR DELETE ON chain_checkpoints
    FOR EACH ROW EXECUTE FUNCTION ledgerline_refuse_change()`,
  `CREATE TRIGGER chain_checkpoints_no_truncate BEFORE TRUNCATE ON chain_checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION ledgerline_refuse_change()`
)

// The read models (docs/adr/0009): the brief's DDL with exact NUMERIC columns added. Its TIMESTAMP
// is an instant, so timestamptz; numeric comes back from node-postgres as a string, never a float.
const readModels = statements(
  `CREATE TABLE projection_checkpoints (name text PRIMARY KEY, position bigint NOT NULL)`,
  `CREATE TABLE account_balances (
    account_id     varchar(50) PRIMARY KEY,
    cash           numeric     NOT NULL,
    realized_pnl   numeric     NOT NULL,
    equity         numeric     NOT NULL,
    as_of_position bigint      NOT NULL,
    last_updated   timestamptz NOT NULL
  )`,
  // the brief's columns, then the exact state the next event folds onto
  `CREATE TABLE portfolio_positions (
    account_id     varchar(50)    NOT NULL,
    symbol         varchar(10)    NOT NULL,
    quantity       numeric(15,2)  NOT NULL,
    avg_cost       numeric(10,4)  NOT NULL,
    market_value   numeric(15,2),
    unrealized_pnl numeric(15,2),
    last_updated   timestamptz    NOT NULL,
    market_price   numeric,
    cost_basis     numeric        NOT NULL,
    realized_pnl   numeric        NOT NULL,
    PRIMARY KEY (account_id, symbol)
  )`,
  `CREATE INDEX portfolio_positions_symbol_idx ON portfolio_positions (symbol)`,
  `CREATE TABLE trade_history (
    trade_id    varchar(50)   PRIMARY KEY,
    account_id  varchar(50)   NOT NULL,
    symbol      varchar(10)   NOT NULL,
    quantity    numeric(15,2) NOT NULL,
    price       numeric(10,4) NOT NULL,
    trade_type  varchar(10)   NOT NULL,
    executed_at timestamptz   NOT NULL,
    order_id    varchar(50)   NOT NULL
  )`,
  `CREATE INDEX idx_account_time ON trade_history (account_id, executed_at)`,
  `CREATE INDEX idx_account_symbol_time ON trade_history (account_id, symbol, executed_at)`,
  `CREATE TABLE balance_history (
    account_id varchar(50) NOT NULL,
    day        date        NOT NULL,
    cash       numeric     NOT NULL,
    equity     numeric     NOT NULL,
    PRIMARY KEY (account_id, day)
  )`,
  `CREATE TABLE latest_prices (symbol varchar(10) PRIMARY KEY, price numeric NOT NULL, at timestamptz NOT NULL)`,
  `CREATE TABLE price_bars (
    symbol varchar(10) NOT NULL,
    minute timestamptz NOT NULL,
    open   numeric NOT NULL,
    high   numeric NOT NULL,
    low    numeric NOT NULL,
    close  numeric NOT NULL,
    ticks  integer NOT NULL,
    PRIMARY KEY (symbol, minute)
  )`
)

// Fewer bytes per event (docs/adr/0017): a user or command id that is a UUID goes into a 16-byte
// uuid column instead of 37 bytes of text, and a correlation or causation id equal to the command
// id is NULL. Rows written before keep their text; the store reads both. No row is rewritten.
const compactMetadata = statements(
  `ALTER TABLE events
    ALTER COLUMN user_id DROP NOT NULL,
    ALTER COLUMN correlation_id DROP NOT NULL,
    ALTER COLUMN causation_id DROP NOT NULL,
    ALTER COLUMN command_id DROP NOT NULL,
    ADD COLUMN user_uuid uuid,
    ADD COLUMN command_uuid uuid,
    ADD CONSTRAINT events_user_once CHECK (num_nonnulls(user_id, user_uuid) = 1),
    ADD CONSTRAINT events_command_once CHECK (num_nonnulls(command_id, command_uuid) = 1)`,
  // idempotent commands, by whichever column holds the command id; neither index keeps the NULLs
  `CREATE INDEX events_command_uuid_idx ON events (aggregate_id, command_uuid) WHERE command_uuid IS NOT NULL`,
  `CREATE INDEX events_command_text_idx ON events (aggregate_id, command_id) WHERE command_id IS NOT NULL`,
  `DROP INDEX events_command_idx`
)

// The one-statement commit as a function (docs/adr/0020): it first waits for any commit holding
// the head, then checks and writes with statements that see that commit (each statement of a
// volatile function takes a fresh snapshot), so a batch chained on an earlier one's head can be
// sent before that one has committed. Timestamps come as epoch milliseconds, as in the store's
// other insert.
const appendIfHead = statements(
  `CREATE FUNCTION ledgerline_append_if_head(
    p_expected_position bigint, p_expected_hash bytea, p_position bigint, p_hash bytea,
    p_check_ids text[], p_check_versions int[],
    p_positions bigint[], p_aggregate_ids text[], p_versions int[], p_event_ids uuid[], p_types text[], p_schema_versions smallint[],
    p_timestamps bigint[], p_data bytea[], p_user_ids text[], p_correlation_ids text[], p_causation_ids text[],
    p_command_ids text[], p_hashes bytea[], p_user_uuids uuid[], p_command_uuids uuid[]
  ) RETURNS boolean LANGUAGE plpgsql AS $$
  BEGIN
    PERFORM 1 FROM event_head WHERE id = 1 FOR UPDATE;
    UPDATE event_head SET position = p_position, hash = p_hash
    WHERE id = 1 AND position = p_expected_position AND hash = p_expected_hash
      AND (SELECT count(*) FROM unnest(p_check_ids, p_check_versions) AS c(id, version)
           WHERE coalesce((SELECT e.version FROM events e WHERE e.aggregate_id = c.id ORDER BY e.version DESC LIMIT 1), 0)
             = c.version) = cardinality(p_check_ids);
    IF NOT FOUND THEN
      RETURN false;
    END IF;
    INSERT INTO events (position, aggregate_id, version, event_id, type, schema_version, timestamp, data, user_id,
                        correlation_id, causation_id, command_id, hash, user_uuid, command_uuid)
    SELECT p, a, v, e, t, s, timestamptz 'epoch' + ms * interval '1 millisecond', d, u, co, ca, cm, h, uu, cu
    FROM unnest(p_positions, p_aggregate_ids, p_versions, p_event_ids, p_types, p_schema_versions, p_timestamps,
                p_data, p_user_ids, p_correlation_ids, p_causation_ids, p_command_ids, p_hashes, p_user_uuids, p_command_uuids)
      AS r(p, a, v, e, t, s, ms, d, u, co, ca, cm, h, uu, cu);
    RETURN true;
  END $$`
)

// The one-statement commit with generic plans (docs/adr/0023): with custom ones, the default for
// its first calls and kept since, every call planned its INSERT into the eight partitions afresh,
// an eighth of the server's time under load. Its parameters are whole batches; no value changes
// the best plan.
const appendIfHeadGenericPlans = statements(
  `ALTER FUNCTION ledgerline_append_if_head(bigint, bytea, bigint, bytea, text[], int[], bigint[], text[], int[], uuid[], text[],
    smallint[], bigint[], bytea[], text[], text[], text[], text[], bytea[], uuid[], uuid[])
    SET plan_cache_mode = force_generic_plan`
)

// Idempotency lookups by the command's UUID alone (docs/adr/0023): a 16-byte key instead of the
// aggregate's text and the UUID, and a UUIDv7 command id (what uuidv7 mints) lands at the index's
// right edge instead of anywhere in it. A lookup names the aggregate too, which picks the
// partition; the few rows of one command are then filtered by aggregate.
const commandUuidIndex = statements(
  `CREATE INDEX events_command_uuid_only_idx ON events (command_uuid) WHERE command_uuid IS NOT NULL`,
  `DROP INDEX events_command_uuid_idx`
)

// Idempotency lookups for a batch of commands (docs/adr/0027): one event of each command. A UUID
// command goes by the command_uuid index (one probe per partition: OFFSET 0 keeps the aggregate's
// condition out, or a planner without statistics reads the aggregate's whole history by its
// primary key instead); a text one (or a UUID written before command_uuid) by the aggregate's
// partition and its command_id index. In a function with a generic plan: a plain statement got
// a custom plan on every call (the planner prefers one for a short array), and planning it over
// the eight partitions cost more than running it.
const COMMAND_COLUMNS = "aggregate_id, user_id, user_uuid, correlation_id, causation_id, command_id, command_uuid"
const commandsSeen = statements(
  `CREATE FUNCTION ledgerline_commands_seen(p_aggregate_ids text[], p_command_ids text[], p_command_uuids uuid[])
  RETURNS TABLE (aggregate_id text, user_id text, user_uuid uuid, correlation_id text, causation_id text, command_id text, command_uuid uuid)
  LANGUAGE plpgsql STABLE AS $$
  #variable_conflict use_column
  BEGIN
    RETURN QUERY
    SELECT found.* FROM unnest(p_aggregate_ids, p_command_ids, p_command_uuids) AS k(aggregate_id, command_id, command_uuid)
    CROSS JOIN LATERAL (
      SELECT x.* FROM (
        (SELECT ${COMMAND_COLUMNS} FROM events e WHERE e.command_uuid = k.command_uuid OFFSET 0)
        UNION ALL
        (SELECT ${COMMAND_COLUMNS} FROM events e WHERE e.aggregate_id = k.aggregate_id AND e.command_id = k.command_id)
      ) x WHERE x.aggregate_id = k.aggregate_id LIMIT 1) found;
  END $$`,
  `ALTER FUNCTION ledgerline_commands_seen(text[], text[], uuid[]) SET plan_cache_mode = force_generic_plan`
)

// The idempotency check in the commit (docs/adr/0029): ledgerline_append_if_head, unless one of
// the given commands already has an event on its aggregate. It takes the head first, so the check
// sees what a commit in flight wrote; the inner function takes it again, which a transaction that
// holds it does at once. ledgerline_append_if_head stays for processes of the version before.
const APPEND_TYPES = `bigint, bytea, bigint, bytea, text[], int[], bigint[], text[], int[], uuid[], text[],
    smallint[], bigint[], bytea[], text[], text[], text[], text[], bytea[], uuid[], uuid[]`
const appendIfNew = statements(
  `CREATE FUNCTION ledgerline_append_if_new(
    p_expected_position bigint, p_expected_hash bytea, p_position bigint, p_hash bytea,
    p_check_ids text[], p_check_versions int[],
    p_positions bigint[], p_aggregate_ids text[], p_versions int[], p_event_ids uuid[], p_types text[], p_schema_versions smallint[],
    p_timestamps bigint[], p_data bytea[], p_user_ids text[], p_correlation_ids text[], p_causation_ids text[],
    p_command_ids text[], p_hashes bytea[], p_user_uuids uuid[], p_command_uuids uuid[],
    p_new_aggregate_ids text[], p_new_command_ids text[], p_new_command_uuids uuid[]
  ) RETURNS boolean LANGUAGE plpgsql AS $$
  BEGIN
    PERFORM 1 FROM event_head WHERE id = 1 FOR UPDATE;
    IF EXISTS (SELECT 1 FROM ledgerline_commands_seen(p_new_aggregate_ids, p_new_command_ids, p_new_command_uuids)) THEN
      RETURN false;
    END IF;
    RETURN ledgerline_append_if_head(p_expected_position, p_expected_hash, p_position, p_hash, p_check_ids, p_check_versions,
      p_positions, p_aggregate_ids, p_versions, p_event_ids, p_types, p_schema_versions, p_timestamps, p_data, p_user_ids,
      p_correlation_ids, p_causation_ids, p_command_ids, p_hashes, p_user_uuids, p_command_uuids);
  END $$`,
  `ALTER FUNCTION ledgerline_append_if_new(${APPEND_TYPES}, text[], text[], uuid[]) SET plan_cache_mode = force_generic_plan`
)

/** Every migration, by `<id>_<name>`: `migrate` runs those a database has not run yet. */
export const migrations = {
  "0001_events": events, "0002_checkpoints": checkpoints, "0003_read_models": readModels, "0004_compact_metadata": compactMetadata,
  "0005_append_if_head": appendIfHead, "0006_append_if_head_generic_plans": appendIfHeadGenericPlans,
  "0007_command_uuid_index": commandUuidIndex, "0008_commands_seen": commandsSeen, "0009_append_if_new": appendIfNew
}

/** Creates or upgrades the schema; safe to run from several processes at once (the migrator locks). */
export const migrate = Migrator.make({})({
  loader: Migrator.fromRecord(migrations),
  table: "ledgerline_migrations"
})
