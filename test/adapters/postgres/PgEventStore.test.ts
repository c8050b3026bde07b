import { describe, it } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import * as PgEventStore from "../../../src/adapters/postgres/PgEventStore.js"
import { eventStoreContract } from "../contract.js"
import { twoProcessesOnOneAggregate } from "../twoProcesses.js"
import { freshSchema, runPgSuites, withSchema } from "./pgTest.js"

describe.runIf(runPgSuites)("PostgreSQL", () => {
  eventStoreContract("PgEventStore", () => withSchema((url) => PgEventStore.layer({ url, maxConnections: 4 })))

  it.live("two processes appending to one aggregate: each append lands once, versions dense, chain intact", () =>
    Effect.gen(function*() {
      const { url } = yield* freshSchema
      yield* twoProcessesOnOneAggregate("postgres", Redacted.value(url)).pipe(Effect.provide(PgEventStore.layer({ url, maxConnections: 2 })))
    }).pipe(Effect.scoped), 60_000)
})
