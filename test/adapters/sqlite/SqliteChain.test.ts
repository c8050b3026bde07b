import { SqlClient } from "@effect/sql"
import { SqliteClient } from "@effect/sql-sqlite-node"
import { Effect, Layer } from "effect"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as SqliteEventStore from "../../../src/adapters/sqlite/SqliteEventStore.js"
import { chainSuite, Tamper } from "../sql/chainSuite.js"

/** Tampering as anyone with the file can: drop the triggers, then write. */
const tamper = Layer.effect(Tamper, Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const behindTheTriggers = (statement: Effect.Effect<unknown, unknown>) =>
    Effect.zipRight(
      Effect.all([sql`DROP TRIGGER IF EXISTS events_no_update`, sql`DROP TRIGGER IF EXISTS events_guard_delete`]),
      statement
    ).pipe(Effect.asVoid, Effect.orDie)
  return Tamper.of({
    setData: (position, data) => behindTheTriggers(sql`UPDATE events SET data = ${Buffer.from(data)} WHERE position = ${position}`),
    setHash: (position, hash) => behindTheTriggers(sql`UPDATE events SET hash = ${Buffer.from(hash, "hex")} WHERE position = ${position}`),
    deleteAt: (position) => behindTheTriggers(sql`DELETE FROM events WHERE position = ${position}`),
    swap: (a, b) =>
      behindTheTriggers(sql.withTransaction(Effect.all([
        sql`UPDATE events SET position = -1 WHERE position = ${a}`,
        sql`UPDATE events SET position = ${a} WHERE position = ${b}`,
        sql`UPDATE events SET position = ${b} WHERE position = -1`
      ]))),
    attempt: (statement) =>
      ({
        UPDATE: sql`UPDATE events SET type = 'Forged' WHERE position = (SELECT min(position) FROM events)`,
        DELETE: sql`DELETE FROM events WHERE position = (SELECT min(position) FROM events)`,
        TRUNCATE: sql`DELETE FROM events` // SQLite's TRUNCATE
      })[statement].pipe(Effect.asVoid),
    // the columns' own sizes (integers as 8 bytes, NULL as none); SQLite's record header and indexes come on top
    storedBytes: (type) =>
      sql<{ bytes: number }>`SELECT avg(8 + length(aggregate_id) + 8 + length(event_id) + length(type) + 8 + 8 + length(data)
        + coalesce(length(user_id), 0) + coalesce(length(correlation_id), 0) + coalesce(length(causation_id), 0)
        + coalesce(length(command_id), 0) + length(hash) + coalesce(length(user_uuid), 0) + coalesce(length(command_uuid), 0)) AS bytes
        FROM events WHERE type = ${type}`.pipe(Effect.map(([row]) => Number(row?.bytes)), Effect.orDie),
    retentionLog: sql<{ purged_through: number; reason: string; events_removed: number }>`
      SELECT purged_through, reason, events_removed FROM retention_log ORDER BY id`.pipe(Effect.orDie)
  })
}))

chainSuite("SqliteEventStore", () =>
  Layer.unwrapScoped(Effect.gen(function*() {
    const dir = yield* Effect.acquireRelease(
      Effect.sync(() => mkdtempSync(join(tmpdir(), "ledgerline-"))),
      (d) => Effect.sync(() => rmSync(d, { recursive: true, force: true }))
    )
    const filename = join(dir, "events.db")
    const store = SqliteEventStore.layer({ filename })
    // the tamperer opens the file only once the store has created it
    return Layer.merge(store, tamper.pipe(Layer.provide(SqliteClient.layer({ filename })), Layer.provide(store)))
  })))
