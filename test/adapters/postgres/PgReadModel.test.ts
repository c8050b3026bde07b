import { SqlClient } from "@effect/sql"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import * as PgEventStore from "../../../src/adapters/postgres/PgEventStore.js"
import { checkConsistency } from "../../../src/application/ConsistencyCheck.js"
import { history, projectAll, projectionSuite } from "../../application/projectionSuite.js"
import { rawClient, runPgSuites, withSchema } from "./pgTest.js"

describe.runIf(runPgSuites)("PostgreSQL", () => {
  projectionSuite("PostgreSQL", () => withSchema((url) => PgEventStore.layer({ url, maxConnections: 4 })))

  it.effect("read models keep NUMERIC columns exact, and the consistency check sees a row changed in the database", () =>
    Effect.gen(function*() {
      const { alice } = yield* history
      yield* projectAll
      const sql = yield* SqlClient.SqlClient
      const rows = yield* sql<{ quantity: unknown; avg_cost: unknown; cost_basis: unknown }>`
        SELECT quantity, avg_cost, cost_basis FROM portfolio_positions WHERE account_id = ${alice}`
      expect(rows).toEqual([{ quantity: "6.00", avg_cost: "10.0000", cost_basis: "60" }])
      yield* sql`UPDATE trade_history SET price = price + 0.0001 WHERE account_id = ${alice} AND trade_type = 'SELL'`
      const report = yield* checkConsistency()
      expect(report.differences.map((d) => [d.accountId, d.kind, d.subject.split(" ")[1]])).toEqual([[alice, "TRADE_MISMATCH", "price"]])
    }).pipe(Effect.provide(withSchema((url) => {
      const store = PgEventStore.layer({ url, maxConnections: 4 })
      return Layer.merge(store, rawClient(url).pipe(Layer.provide(store)))
    }))))
})
