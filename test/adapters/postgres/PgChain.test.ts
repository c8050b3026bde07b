import { SqlClient } from "@effect/sql"
import { PgClient } from "@effect/sql-pg"
import { describe } from "@effect/vitest"
import { Effect, Layer } from "effect"
import * as PgEventStore from "../../../src/adapters/postgres/PgEventStore.js"
import { chainSuite, Tamper } from "../sql/chainSuite.js"
import { freshSchema, runPgSuites } from "./pgTest.js"

/** Tampering as a superuser would: triggers off for the statement's transaction. */
const tamper = Layer.effect(Tamper, Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const behindTheTriggers = (statement: Effect.Effect<unknown, unknown>) =>
    sql.withTransaction(Effect.zipRight(sql`SET LOCAL session_replication_role = replica`, statement)).pipe(Effect.asVoid, Effect.orDie)
  return Tamper.of({
    setData: (position, data) => behindTheTriggers(sql`UPDATE events SET data = ${Buffer.from(data)} WHERE position = ${position}`),
    setHash: (position, hash) => behindTheTriggers(sql`UPDATE events SET hash = ${Buffer.from(hash, "hex")} WHERE position = ${position}`),
    deleteAt: (position) => behindTheTriggers(sql`DELETE FROM events WHERE position = ${position}`),
    swap: (a, b) => behindTheTriggers(sql`UPDATE events SET position = CASE position WHEN ${a}::bigint THEN ${b}::bigint ELSE ${a}::bigint END WHERE position IN (${a}::bigint, ${b}::bigint)`),
    attempt: (statement) =>
      ({
        UPDATE: sql`UPDATE events SET type = 'Forged' WHERE position = (SELECT min(position) FROM events)`,
        DELETE: sql`DELETE FROM events WHERE position = (SELECT min(position) FROM events)`,
        TRUNCATE: sql`TRUNCATE events`
      })[statement].pipe(Effect.asVoid),
    storedBytes: (type) =>
      sql<{ bytes: number }>`SELECT avg(pg_column_size(e.*))::float8 AS bytes FROM events e WHERE type = ${type}`.pipe(
        Effect.map(([row]) => Number(row?.bytes)), Effect.orDie),
    retentionLog: sql<{ purged_through: number; reason: string; events_removed: number }>`
      SELECT purged_through::int AS purged_through, reason, events_removed::int AS events_removed FROM retention_log ORDER BY id`.pipe(Effect.orDie)
  })
}))

describe.runIf(runPgSuites)("PostgreSQL", () => {
  chainSuite("PgEventStore", () =>
    Layer.unwrapScoped(Effect.map(freshSchema, ({ url }) =>
      Layer.merge(PgEventStore.layer({ url, maxConnections: 4 }), tamper.pipe(Layer.provide(PgClient.layer({ url, maxConnections: 2 }))))
    )))
})
