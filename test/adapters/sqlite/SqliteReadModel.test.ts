import { SqlClient } from "@effect/sql"
import { SqliteClient } from "@effect/sql-sqlite-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as SqliteEventStore from "../../../src/adapters/sqlite/SqliteEventStore.js"
import { checkConsistency } from "../../../src/application/ConsistencyCheck.js"
import { history, projectAll, projectionSuite } from "../../application/projectionSuite.js"

const tempFile = Effect.map(
  Effect.acquireRelease(
    Effect.sync(() => mkdtempSync(join(tmpdir(), "ledgerline-"))),
    (d) => Effect.sync(() => rmSync(d, { recursive: true, force: true }))
  ),
  (dir) => join(dir, "events.db")
)

/** A store on a new file in a temporary folder, removed with the layer. */
const fresh = () => Layer.unwrapScoped(Effect.map(tempFile, (filename) => SqliteEventStore.layer({ filename })))

/** The same, plus a client of its own on the file: what anyone with the file can do behind the adapter's back. */
const freshWithRawClient = () =>
  Layer.unwrapScoped(Effect.map(tempFile, (filename) => {
    const store = SqliteEventStore.layer({ filename })
    return Layer.merge(store, SqliteClient.layer({ filename }).pipe(Layer.provide(store)))
  }))

projectionSuite("SQLite", fresh)

describe("SQLite read models", () => {
  it.effect("keep decimals as exact text, and the consistency check sees a row changed in the file", () =>
    Effect.gen(function*() {
      const { alice } = yield* history
      yield* projectAll
      const sql = yield* SqlClient.SqlClient
      const rows = yield* sql<{ quantity: unknown; avg_cost: unknown; cost_basis: unknown }>`
        SELECT quantity, avg_cost, cost_basis FROM portfolio_positions WHERE account_id = ${alice}`
      expect(rows).toEqual([{ quantity: "6.00", avg_cost: "10.0000", cost_basis: "60" }])
      yield* sql`UPDATE portfolio_positions SET avg_cost = '10.0001' WHERE account_id = ${alice}`
      const report = yield* checkConsistency()
      expect(report.differences).toEqual([
        { accountId: alice, kind: "AVG_COST", subject: "ACME avg cost", expected: "10.0000", actual: "10.0001" }
      ])
    }).pipe(Effect.provide(freshWithRawClient())))
})
