import { Effect, Layer } from "effect"
import { SqlClient, type SqlError } from "@effect/sql"
import type { RecordedEvent } from "../../application/ports/EventStore.js"
import { isCanonicalUuid } from "../../application/Uuid.js"
import { Retention, RetentionRefused } from "../../application/ports/Retention.js"
import { toColumns } from "../sql/MetadataColumns.js"
import * as BinaryArray from "./PgBinaryArray.js"
import * as EventRow from "./PgEventRow.js"
import * as SqlEventStore from "../sql/SqlEventStore.js"
import * as SqlStores from "../sql/SqlStores.js"
import { migrate } from "./PgMigrations.js"
import * as PgPool from "./PgPool.js"

const toDate = (t: { readonly epochMillis: number }) => new Date(t.epochMillis)

/**
 * The rows of a batch as 15 column arrays (SqlEventStore.COLUMNS): one INSERT … SELECT FROM
 * unnest, whatever the batch size. Timestamps go as epoch milliseconds, cheaper to send and to
 * read than a date's text (ledgerline_append_if_head takes them the same way).
 */
const ROWS = `SELECT p, a, v, e, t, s, timestamptz 'epoch' + ms * interval '1 millisecond', d, u, co, ca, cm, h, uu, cu
  FROM unnest($1::bigint[], $2::text[], $3::int[], $4::uuid[], $5::text[], $6::smallint[], $7::bigint[],
  $8::bytea[], $9::text[], $10::text[], $11::text[], $12::text[], $13::bytea[], $14::uuid[], $15::uuid[])
  AS r(p, a, v, e, t, s, ms, d, u, co, ca, cm, h, uu, cu)`

/** A uuid column takes the canonical text. */
const uuid = (id: string) => id

/** A uuid column's array: 16 bytes each when every id is canonical, else the text for the server to parse. */
const uuidArray = (ids: ReadonlyArray<string | null>) => BinaryArray.uuids(ids) ?? ids

/**
 * The 15 column arrays of a batch, in PostgreSQL's binary array format (PgBinaryArray): no text
 * to escape on this side or to parse on the server's, and a bytea as its bytes, not hex.
 */
const columns = (rows: ReadonlyArray<RecordedEvent>) => {
  const metadata = rows.map((r) => toColumns(r.metadata, uuid))
  return [
    BinaryArray.int8s(rows.map((r) => r.position)),
    BinaryArray.texts(rows.map((r) => r.aggregateId)),
    BinaryArray.int4s(rows.map((r) => r.version)),
    uuidArray(rows.map((r) => r.eventId)),
    BinaryArray.texts(rows.map((r) => r.type)),
    BinaryArray.int2s(rows.map((r) => r.schemaVersion)),
    BinaryArray.int8s(rows.map((r) => r.timestamp.epochMillis)),
    BinaryArray.byteas(rows.map((r) => r.data)),
    BinaryArray.texts(metadata.map((m) => m.user_id)),
    BinaryArray.texts(metadata.map((m) => m.correlation_id)),
    BinaryArray.texts(metadata.map((m) => m.causation_id)),
    BinaryArray.texts(metadata.map((m) => m.command_id)),
    BinaryArray.hexByteas(rows.map((r) => r.hash)),
    uuidArray(metadata.map((m) => m.user_uuid)),
    uuidArray(metadata.map((m) => m.command_uuid))
  ]
}

/** The statement failed on a unique key; nothing of it was written. */
const isUniqueViolation = (error: SqlError.SqlError) =>
  typeof error.cause === "object" && error.cause !== null && (error.cause as { readonly code?: unknown }).code === "23505"

/** The parameters of ledgerline_append_if_head, as the commit binds them. */
const APPEND_PARAMETERS = `$1, $2, $3, $4, $5::text[], $6::int[], $7::bigint[], $8::text[], $9::int[], $10::uuid[],
         $11::text[], $12::smallint[], $13::bigint[], $14::bytea[], $15::text[], $16::text[], $17::text[], $18::text[],
         $19::bytea[], $20::uuid[], $21::uuid[]`

/** Commands as ledgerline_commands_seen takes them: aggregates, ids, and each id that is a canonical UUID (else null). */
const commandArrays = (keys: ReadonlyArray<{ readonly aggregateId: string; readonly commandId: string }>) => [
  BinaryArray.texts(keys.map((k) => k.aggregateId)), BinaryArray.texts(keys.map((k) => k.commandId)),
  uuidArray(keys.map((k) => (isCanonicalUuid(k.commandId) ? k.commandId : null)))
]

/**
 * PostgreSQL: a batch of appends is one INSERT … SELECT FROM unnest(…) of column arrays, a
 * constant 15 parameters however many rows. node-postgres sets TCP_NODELAY on its sockets.
 */
export const dialect: SqlEventStore.SqlDialect = {
  timestamp: toDate,
  uuid,
  read: { columns: EventRow.COLUMNS, fromRow: EventRow.fromPackedRow },
  // an array parameter, not an IN list: one plan whatever the batch, and one backward probe of the
  // primary key per aggregate instead of reading every version
  currentVersions: (sql, ids) =>
    sql.unsafe<{ aggregate_id: string; version: number | null }>(
      `SELECT s.id AS aggregate_id,
         (SELECT e.version FROM events e WHERE e.aggregate_id = s.id ORDER BY e.version DESC LIMIT 1) AS version
       FROM unnest($1::text[]) AS s(id)`,
      [ids]
    ),
  // the keys as three arrays, one text for any number of keys (ledgerline_commands_seen,
  // migration 0008). A key whose id is not a canonical UUID has no command_uuid and matches on
  // command_id; one that is matches on either (command_id: written before there was a command_uuid).
  commandsOf: (sql, keys) =>
    sql.unsafe<SqlEventStore.CommandRow>(
      `SELECT aggregate_id, user_id, user_uuid, correlation_id, causation_id, command_id, command_uuid
       FROM ledgerline_commands_seen($1::text[], $2::text[], $3::uuid[])`,
      commandArrays(keys)
    ),
  // the rows and the new head in one statement: one round trip
  insert: (sql, rows, head) =>
    sql.unsafe(
      `WITH inserted AS (
         INSERT INTO events (${SqlEventStore.COLUMNS}) ${ROWS}
       )
       UPDATE event_head SET position = $16, hash = $17 WHERE id = 1`,
      [...columns(rows), head.position, Buffer.from(head.hash, "hex")]
    ).pipe(Effect.asVoid),
  // a whole commit in one autocommitted statement (ledgerline_append_if_head, migration 0005):
  // it waits for a commit that holds the head, then moves the head only if it is at `expected`
  // and every aggregate checked at its expected version; the rows go in only if it moved, and
  // the whole statement is undone if one of them breaks the primary key
  // with commands that must be new, ledgerline_append_if_new (migration 0009) looks them up first,
  // as commandsOf does, after it has taken the head
  insertIfUnchanged: (sql, rows, expected, head, checks, commands) =>
    sql.unsafe<{ written: boolean }>(
      commands.length === 0
        ? `SELECT ledgerline_append_if_head(${APPEND_PARAMETERS}) AS written`
        : `SELECT ledgerline_append_if_new(${APPEND_PARAMETERS}, $22::text[], $23::text[], $24::uuid[]) AS written`,
      [
        expected.position, Buffer.from(expected.hash, "hex"), head.position, Buffer.from(head.hash, "hex"),
        BinaryArray.texts(checks.map((c) => c.aggregateId)), BinaryArray.int4s(checks.map((c) => c.version)), ...columns(rows),
        ...(commands.length === 0 ? [] : commandArrays(commands))
      ]
    ).pipe(
      Effect.map(([row]) => row?.written === true),
      // a row's aggregate and version already taken: a stale append the checks left to the primary key
      Effect.catchIf(isUniqueViolation, () => Effect.succeed(false))
    )
}

/** The logged purge is the database's own function, so psql users get the same guarantee. */
const retention = Effect.map(SqlClient.SqlClient, (sql) =>
  Retention.of({
    purgeThrough: (position, reason) =>
      sql<{ removed: string | number }>`SELECT ledgerline_purge_through(${position}, ${reason}) AS removed`.pipe(
        Effect.map(([row]) => Number(row?.removed ?? 0)),
        Effect.catchTag("SqlError", (cause) => new RetentionRefused({ reason: "purge failed", cause }))
      )
  }))

/** The read models' written columns that are not text (PgMigrations): decimals go in as exact text and are cast. */
const readModelTypes: Record<string, Record<string, string>> = {
  account_balances: { cash: "numeric", realized_pnl: "numeric", equity: "numeric", as_of_position: "bigint", last_updated: "timestamptz" },
  portfolio_positions: {
    quantity: "numeric", avg_cost: "numeric", market_value: "numeric", unrealized_pnl: "numeric", last_updated: "timestamptz",
    market_price: "numeric", cost_basis: "numeric", realized_pnl: "numeric"
  },
  balance_history: { day: "date", cash: "numeric", equity: "numeric" },
  latest_prices: { price: "numeric", at: "timestamptz" },
  trade_history: { quantity: "numeric", price: "numeric", executed_at: "timestamptz" },
  price_bars: { minute: "timestamptz", open: "numeric", high: "numeric", low: "numeric", close: "numeric", ticks: "int" }
}

export const engine: SqlStores.SqlEngine = {
  dialect, migrate, retention, readModel: { timestamp: toDate, day: "to_char(day, 'YYYY-MM-DD')", arrayTypes: readModelTypes }
}

export interface PgStoreConfig extends PgPool.PgPoolConfig {
  readonly store?: SqlEventStore.SqlEventStoreOptions
}

/** EventStore, SnapshotStore, CheckpointStore, Retention and the read models on PostgreSQL; migrates the schema when built. */
export const layer = (config: PgStoreConfig): Layer.Layer<SqlStores.SqlStores, unknown> =>
  Layer.scopedContext(SqlStores.make(engine, config.store)).pipe(
    Layer.provide(PgPool.layer(config))
  )
