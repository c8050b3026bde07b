import { describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as SqliteEventStore from "../../../src/adapters/sqlite/SqliteEventStore.js"
import { eventStoreContract } from "../contract.js"
import { twoProcessesOnOneAggregate } from "../twoProcesses.js"

/** A store on a new file in a temporary folder, removed with the layer. */
export const freshSqlite = <A, E, R>(f: (filename: string) => Layer.Layer<A, E, R>) =>
  Layer.unwrapScoped(Effect.map(
    Effect.acquireRelease(
      Effect.sync(() => mkdtempSync(join(tmpdir(), "ledgerline-"))),
      (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
    ),
    (dir) => f(join(dir, "events.db"))
  ))

eventStoreContract("SqliteEventStore", () => freshSqlite((filename) => SqliteEventStore.layer({ filename })))

describe("SqliteEventStore across processes", () => {
  it.live("two processes appending to one aggregate: each append lands once, versions dense, chain intact", () =>
    Effect.gen(function*() {
      const dir = yield* Effect.acquireRelease(
        Effect.sync(() => mkdtempSync(join(tmpdir(), "ledgerline-"))),
        (d) => Effect.sync(() => rmSync(d, { recursive: true, force: true }))
      )
      const filename = join(dir, "events.db")
      yield* twoProcessesOnOneAggregate("sqlite", filename).pipe(Effect.provide(SqliteEventStore.layer({ filename })))
    }).pipe(Effect.scoped), 60_000)
})
