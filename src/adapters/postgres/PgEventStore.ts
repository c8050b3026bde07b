import { PgClient } from "@effect/sql-pg"
import { Effect, Layer, type Redacted } from "effect"
import { SqlClient } from "@effect/sql"
import { Retention, RetentionRefused } from "../../application/ports/Retention.js"
import * as SqlEventStore from "../sql/SqlEventStore.js"
import * as SqlStores from "../sql/SqlStores.js"
import { migrate } from "./PgMigrations.js"

const toDate = (t: { readonly epochMillis: number }) => new Date(t.epochMillis)

/**
 * PostgreSQL: a batch of appends is one INSERT … SELECT FROM unnest(…) of column arrays, a
 * constant 13 parameters however many rows. node-postgres sets TCP_NODELAY on its sockets.
 */
export const dialect: SqlEventStore.SqlDialect = {
  timestamp: toDate,
  // an array parameter, not an IN list: one plan whatever the batch, and one backward probe of the
  // primary key per aggregate instead of reading every version
  currentVersions: (sql, ids) =>
    sql.unsafe<{ aggregate_id: string; version: number | null }>(
      `SELECT s.id AS aggregate_id,
         (SELECT e.version FROM events e WHERE e.aggregate_id = s.id ORDER BY e.version DESC LIMIT 1) AS version
       FROM unnest($1::text[]) AS s(id)`,
      [ids]
    ),
  // the rows and the new head in one statement: one round trip
  insert: (sql, rows, head) =>
    sql.unsafe(
      `WITH inserted AS (
         INSERT INTO events (${SqlEventStore.COLUMNS})
         SELECT * FROM unnest($1::bigint[], $2::text[], $3::int[], $4::uuid[], $5::text[], $6::smallint[], $7::timestamptz[],
           $8::bytea[], $9::text[], $10::text[], $11::text[], $12::text[], $13::bytea[])
       )
       UPDATE event_head SET position = $14, hash = $15 WHERE id = 1`,
      [
        rows.map((r) => r.position),
        rows.map((r) => r.aggregateId),
        rows.map((r) => r.version),
        rows.map((r) => r.eventId),
        rows.map((r) => r.type),
        rows.map((r) => r.schemaVersion),
        rows.map((r) => toDate(r.timestamp)),
        rows.map((r) => Buffer.from(r.data.buffer, r.data.byteOffset, r.data.byteLength)),
        rows.map((r) => r.metadata.userId),
        rows.map((r) => r.metadata.correlationId),
        rows.map((r) => r.metadata.causationId),
        rows.map((r) => r.metadata.commandId),
        rows.map((r) => Buffer.from(r.hash, "hex")),
        head.position,
        Buffer.from(head.hash, "hex")
      ]
    ).pipe(Effect.asVoid)
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

export const engine: SqlStores.SqlEngine = {
  dialect, migrate, retention, readModel: { timestamp: toDate, day: "to_char(day, 'YYYY-MM-DD')" }
}

export interface PgStoreConfig {
  readonly url: Redacted.Redacted
  readonly maxConnections?: number
  readonly store?: SqlEventStore.SqlEventStoreOptions
}

/** EventStore, SnapshotStore, CheckpointStore, Retention and the read models on PostgreSQL; migrates the schema when built. */
export const layer = (config: PgStoreConfig): Layer.Layer<SqlStores.SqlStores, unknown> =>
  Layer.scopedContext(SqlStores.make(engine, config.store)).pipe(
    Layer.provide(PgClient.layer({ url: config.url, maxConnections: config.maxConnections ?? 10 }))
  )
