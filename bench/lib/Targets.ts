import { SqlClient } from "@effect/sql"
import { PgClient } from "@effect/sql-pg"
import { SqliteClient } from "@effect/sql-sqlite-node"
import { Effect, Layer, Redacted } from "effect"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as MemoryEventStore from "../../src/adapters/memory/MemoryEventStore.js"
import * as PgEventStore from "../../src/adapters/postgres/PgEventStore.js"
import * as SqlEventStore from "../../src/adapters/sql/SqlEventStore.js"
import * as SqliteEventStore from "../../src/adapters/sqlite/SqliteEventStore.js"
import { EventStore } from "../../src/application/ports/EventStore.js"
import type { GroupCommitConfig } from "../../src/adapters/sql/GroupCommit.js"

export type StoreName = "memory" | "sqlite" | "postgres"

export interface StoredSize {
  /** Average stored size of a TradeExecuted with its envelope. */
  readonly bytesPerEvent: number
  /** Everything the store keeps (table, indexes, other tables) divided by all its events. */
  readonly bytesPerEventWithIndexes?: number
  readonly method: string
}

/** An event store under test: its layer, how to measure a stored event, and facts worth printing. */
export interface Target {
  readonly name: StoreName
  readonly layer: Layer.Layer<EventStore, unknown>
  readonly storedSize: Effect.Effect<StoredSize, unknown, EventStore>
  readonly info: Record<string, string | number>
}

export interface SqlKnobs {
  readonly groupCommit: GroupCommitConfig
  readonly pgMaxConnections: number
  readonly pgUrl: string
}

const utf8 = (s: string) => Buffer.byteLength(s, "utf8")

/** Data bytes, envelope strings (UTF-8) and 8 bytes per number (version, position, schemaVersion, timestamp). */
const memorySize = Effect.gen(function*() {
  const store = yield* EventStore
  let count = 0
  let bytes = 0
  for (let from = 1; ; from += 5000) {
    const page = yield* store.readAll({ fromPosition: from, limit: 5000 })
    for (const e of page) {
      if (e.type !== "TradeExecuted") continue
      count += 1
      bytes += e.data.byteLength + 4 * 8 + utf8(e.eventId) + utf8(e.type) + utf8(e.aggregateId) + utf8(e.hash) +
        utf8(e.metadata.userId) + utf8(e.metadata.correlationId) + utf8(e.metadata.causationId) + utf8(e.metadata.commandId)
    }
    if (page.length < 5000) break
  }
  return { bytesPerEvent: bytes / count, method: "data bytes + UTF-8 envelope strings (hash as hex) + 8 B per number" }
})

export const memory: Effect.Effect<Target> = Effect.succeed({
  name: "memory", layer: MemoryEventStore.layer, storedSize: memorySize, info: {}
})

/** SQLite's record size of an integer (serial types 1–6); 0 and 1 (types 8, 9) are counted as 1 byte. */
const intBytes = (c: string) =>
  `(CASE WHEN ${c} BETWEEN -128 AND 127 THEN 1 WHEN ${c} BETWEEN -32768 AND 32767 THEN 2 WHEN ${c} BETWEEN -8388608 AND 8388607 THEN 3 ` +
  `WHEN ${c} BETWEEN -2147483648 AND 2147483647 THEN 4 WHEN ${c} BETWEEN -140737488355328 AND 140737488355327 THEN 6 ELSE 8 END)`
// NULL metadata columns (docs/adr/0017) take no bytes in the record
const bytes = (c: string) => `coalesce(length(CAST(${c} AS BLOB)), 0)`
const SQLITE_ROW = [
  ...["position", "version", "schema_version", "timestamp"].map(intBytes),
  ...["aggregate_id", "event_id", "type", "data", "user_id", "correlation_id", "causation_id", "command_id", "user_uuid", "command_uuid",
    "hash"].map(bytes)
].join(" + ")

/** A SQLite store on a file in a new temporary folder, removed with the scope. */
export const sqlite = (knobs: SqlKnobs) =>
  Effect.gen(function*() {
    const dir = yield* Effect.acquireRelease(
      Effect.sync(() => mkdtempSync(join(tmpdir(), "ledgerline-bench-"))),
      (d) => Effect.sync(() => rmSync(d, { recursive: true, force: true }))
    )
    const filename = join(dir, "events.db")
    const storedSize = Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const [row] = yield* sql.unsafe<{ bytes: number }>(`SELECT avg(${SQLITE_ROW}) AS bytes FROM events WHERE type = 'TradeExecuted'`)
      const [all] = yield* sql<{ n: number }>`SELECT count(*) AS n FROM events`
      const [pages] = yield* sql<{ page_count: number }>`PRAGMA page_count`
      const [size] = yield* sql<{ page_size: number }>`PRAGMA page_size`
      return {
        bytesPerEvent: Number(row?.bytes),
        bytesPerEventWithIndexes: Number(pages?.page_count) * Number(size?.page_size) / Number(all?.n),
        method: "sum of column sizes (length() of text/blob, record size of integers); with indexes: page_count × page_size"
      } satisfies StoredSize
    }).pipe(Effect.provide(SqliteClient.layer({ filename })))
    return {
      name: "sqlite",
      layer: SqliteEventStore.layer({ filename, store: { ...SqlEventStore.defaultOptions, groupCommit: knobs.groupCommit } }),
      storedSize,
      info: { file: filename }
    } satisfies Target
  })

/** Statements on the server's database itself, outside any schema. */
export const onServer = <A>(url: string, f: (sql: SqlClient.SqlClient) => Effect.Effect<A, unknown>) =>
  Effect.flatMap(SqlClient.SqlClient, f).pipe(Effect.provide(PgClient.layer({ url: Redacted.make(url), maxConnections: 1 })))

let schemas = 0

/** A fresh schema and a URL whose search_path is that schema (as the tests do), dropped with the scope. */
export const freshSchema = (pgUrl: string) =>
  Effect.gen(function*() {
    const schema = `bench_${process.pid}_${Date.now().toString(36)}_${schemas++}`
    yield* Effect.acquireRelease(
      onServer(pgUrl, (sql) => sql.unsafe(`CREATE SCHEMA ${schema}`)),
      () => onServer(pgUrl, (sql) => sql.unsafe(`DROP SCHEMA IF EXISTS ${schema} CASCADE`)).pipe(
        Effect.tap(() => Effect.log(`dropped schema ${schema}`)),
        Effect.orDie
      )
    )
    const url = new URL(pgUrl)
    url.searchParams.set("options", `-c search_path=${schema}`)
    return { schema, url: url.toString() }
  })

/** A PostgreSQL store on a fresh schema, dropped with the scope. */
export const postgres = (knobs: SqlKnobs) =>
  Effect.gen(function*() {
    const { schema, url: schemaUrl } = yield* freshSchema(knobs.pgUrl)
    const url = new URL(schemaUrl)
    const onSchema = <A>(f: (sql: SqlClient.SqlClient) => Effect.Effect<A, unknown>) => onServer(url.toString(), f)
    const settings = yield* onSchema((sql) =>
      sql<{ name: string; setting: string }>`SELECT name, setting FROM pg_settings
        WHERE name IN ('server_version', 'synchronous_commit', 'fsync', 'wal_sync_method', 'commit_delay', 'shared_buffers', 'max_wal_size')`)
    const storedSize = onSchema((sql) =>
      Effect.gen(function*() {
        const [row] = yield* sql<{ bytes: string }>`SELECT avg(pg_column_size(e.*)) AS bytes FROM events e WHERE type = 'TradeExecuted'`
        const [total] = yield* sql<{ bytes: string; n: string }>`SELECT
          (SELECT sum(pg_total_relation_size(inhrelid)) FROM pg_inherits WHERE inhparent = 'events'::regclass) AS bytes,
          (SELECT count(*) FROM events) AS n`
        return {
          bytesPerEvent: Number(row?.bytes),
          bytesPerEventWithIndexes: Number(total?.bytes) / Number(total?.n),
          method: "avg(pg_column_size(e.*)); with indexes: pg_total_relation_size of the partitions / events"
        } satisfies StoredSize
      }))
    return {
      name: "postgres",
      layer: PgEventStore.layer({
        url: Redacted.make(url.toString()), maxConnections: knobs.pgMaxConnections,
        store: { ...SqlEventStore.defaultOptions, groupCommit: knobs.groupCommit }
      }),
      storedSize,
      info: { schema, ...Object.fromEntries(settings.map((s) => [s.name, s.setting])) }
    } satisfies Target
  })
