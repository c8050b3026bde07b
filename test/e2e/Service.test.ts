import { describe, it } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import { freshSchema, runPgSuites } from "../adapters/postgres/pgTest.js"
import { tradingDay } from "./scenario.js"
import { startServer } from "./server.js"

describe("the service over HTTP", () => {
  it.live("on SQLite (the embedded default)", () =>
    Effect.gen(function*() {
      yield* tradingDay(yield* startServer())
    }).pipe(Effect.scoped), 90_000)

  it.live.runIf(runPgSuites)("on PostgreSQL", () =>
    Effect.gen(function*() {
      const { url } = yield* freshSchema
      yield* tradingDay(yield* startServer({ LEDGERLINE_STORE: "postgres", DATABASE_URL: Redacted.value(url) }))
    }).pipe(Effect.scoped), 90_000)
})
