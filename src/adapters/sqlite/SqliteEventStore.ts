import { SqlClient } from "@effect/sql"
import { SqliteClient } from "@effect/sql-sqlite-node"
import { Effect, Layer } from "effect"
import { mkdirSync } from "node:fs"
import { dirname } from "node:path"
import type { RecordedEvent } from "../../application/ports/EventStore.js"
import { uuidToBytes } from "../../application/Uuid.js"
import { Retention, RetentionRefused } from "../../application/ports/Retention.js"
import { toColumns } from "../sql/MetadataColumns.js"
import * as SqlEventStore from "../sql/SqlEventStore.js"
import * as SqlStores from "../sql/SqlStores.js"
import { migrate } from "./SqliteMigrations.js"

const millis = (t: { readonly epochMillis: number }) => t.epochMillis
const CHUNK = 500 // rows per INSERT: 15 × 500 parameters, well under SQLite's limit

/** A uuid column is a 16-byte BLOB. */
const uuid = (id: string) => uuidToBytes(id)

/** One row's values, in SqlEventStore.COLUMNS order. */
const row = (r: RecordedEvent) => {
  const m = toColumns(r.metadata, uuid)
  return [
    r.position, r.aggregateId, r.version, r.eventId, r.type, r.schemaVersion, millis(r.timestamp),
    Buffer.from(r.data.buffer, r.data.byteOffset, r.data.byteLength),
    m.user_id, m.correlation_id, m.causation_id, m.command_id, Buffer.from(r.hash, "hex"), m.user_uuid, m.command_uuid
  ]
}

/** SQLite: multi-row INSERTs inside the append transaction. */
export const dialect: SqlEventStore.SqlDialect = {
  timestamp: millis,
  uuid,
  // MAX over the (aggregate_id, version) index is one probe per aggregate
  currentVersions: (sql, ids) =>
    sql.unsafe<{ aggregate_id: string; version: number | null }>(
      `SELECT j.value AS aggregate_id, (SELECT MAX(version) FROM events WHERE aggregate_id = j.value) AS version
       FROM json_each(?) AS j`,
      [JSON.stringify(ids)]
    ),
  insert: (sql, rows, head) =>
    Effect.forEach(
      Array.from({ length: Math.ceil(rows.length / CHUNK) }, (_, i) => rows.slice(i * CHUNK, (i + 1) * CHUNK)),
      (chunk) =>
        sql.unsafe(
          `INSERT INTO events (${SqlEventStore.COLUMNS}) VALUES ${chunk.map(() => "(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)").join(",")}`,
          chunk.flatMap(row)
        ),
      { discard: true }
    ).pipe(Effect.zipRight(sql`UPDATE event_head SET position = ${head.position}, hash = ${Buffer.from(head.hash, "hex")} WHERE id = 1`))
}

/** The logged purge: log first (which arms the delete trigger), delete, disarm; one transaction. */
const retention = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  return Retention.of({
    purgeThrough: (position, reason) =>
      sql.withTransaction(Effect.gen(function*() {
        if (reason.trim().length === 0) return yield* new RetentionRefused({ reason: "a purge needs a reason" })
        const [link] = yield* sql<{ hash: Uint8Array }>`SELECT hash FROM events WHERE position = ${position}`
        if (link === undefined) return yield* new RetentionRefused({ reason: `no event at position ${position}` })
        const [count] = yield* sql<{ n: number }>`SELECT count(*) AS n FROM events WHERE position <= ${position}`
        const removed = Number(count?.n ?? 0)
        yield* sql`INSERT INTO retention_log (purged_through, hash, events_removed, reason, performed_at, active)
          VALUES (${position}, ${link.hash}, ${removed}, ${reason}, ${Date.now()}, 1)`
        yield* sql`DELETE FROM events WHERE position <= ${position}`
        yield* sql`UPDATE retention_log SET active = 0 WHERE active = 1`
        return removed
      })).pipe(Effect.catchTag("SqlError", (cause) => new RetentionRefused({ reason: "purge failed", cause })))
  })
})

export const engine: SqlStores.SqlEngine = { dialect, migrate, retention, readModel: { timestamp: millis, day: "day" } }

export interface SqliteStoreConfig {
  readonly filename: string
  readonly store?: SqlEventStore.SqlEventStoreOptions
}

/** EventStore, SnapshotStore, CheckpointStore, Retention and the read models on a SQLite file (WAL); migrates the schema when built. */
export const layer = (config: SqliteStoreConfig): Layer.Layer<SqlStores.SqlStores, unknown> =>
  Layer.scopedContext(SqlStores.make(engine, config.store)).pipe(Layer.provide(Layer.unwrapEffect(Effect.sync(() => {
    if (config.filename !== ":memory:") mkdirSync(dirname(config.filename), { recursive: true })
    return SqliteClient.layer({ filename: config.filename })
  }))))
