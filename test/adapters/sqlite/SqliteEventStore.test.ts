import { Effect, Layer } from "effect"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as SqliteEventStore from "../../../src/adapters/sqlite/SqliteEventStore.js"
import { eventStoreContract } from "../contract.js"

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
