import { SqlClient } from "@effect/sql"
import { SqliteClient } from "@effect/sql-sqlite-node"
import { describe, expect, it } from "@effect/vitest"
import { DateTime, Effect } from "effect"
import { spawnSync } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as SqliteEventStore from "../src/adapters/sqlite/SqliteEventStore.js"
import { EventStore } from "../src/application/ports/EventStore.js"

const verifyCli = (dir: string) =>
  spawnSync(process.execPath, ["--import", "tsx", "src/main.ts", "verify"], {
    env: { ...process.env, LEDGERLINE_STORE: "sqlite", LEDGERLINE_SQLITE_FILE: join(dir, "events.db"), LEDGERLINE_SIGNING_KEY_FILE: join(dir, "key.pem") },
    encoding: "utf8"
  })

describe("npm run verify", () => {
  it.effect("says intact for an untouched log and names the tampered event, exiting 1, after a change", () =>
    Effect.gen(function*() {
      const dir = yield* Effect.acquireRelease(Effect.sync(() => mkdtempSync(join(tmpdir(), "ledgerline-cli-"))), (d) =>
        Effect.sync(() => rmSync(d, { recursive: true, force: true })))
      const filename = join(dir, "events.db")
      const appended = yield* Effect.flatMap(EventStore, (store) =>
        store.appendEvents("account-1", 0, [1, 2, 3].map((n) => ({
          eventId: `0195a3c4-0000-7000-8000-00000000000${n}`, type: "FundsDeposited", schemaVersion: 1,
          timestamp: DateTime.unsafeMake("2026-03-02T14:32:00Z"), data: new Uint8Array([n]),
          metadata: { userId: "u", correlationId: "c", causationId: "c", commandId: `cmd-${n}` }
        })))).pipe(Effect.provide(SqliteEventStore.layer({ filename })))

      const intact = verifyCli(dir)
      expect(intact.status).toBe(0)
      expect(intact.stdout).toContain("chain intact: 3 events")

      yield* Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        yield* sql`DROP TRIGGER events_no_update`
        yield* sql`UPDATE events SET data = ${Buffer.from([9])} WHERE position = 2`
      }).pipe(Effect.provide(SqliteClient.layer({ filename })))

      const broken = verifyCli(dir)
      expect(broken.status).toBe(1)
      expect(broken.stderr).toContain(`chain BROKEN at position 2 (event ${appended.events[1]!.eventId}): HASH_MISMATCH`)
    }).pipe(Effect.scoped), 60_000)
})
