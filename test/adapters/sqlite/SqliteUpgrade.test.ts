import { SqliteClient } from "@effect/sql-sqlite-node"
import { Effect } from "effect"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as SqliteEventStore from "../../../src/adapters/sqlite/SqliteEventStore.js"
import { migrations } from "../../../src/adapters/sqlite/SqliteMigrations.js"
import { upgradeSuite } from "../sql/upgradeSuite.js"

upgradeSuite("SqliteEventStore", Effect.map(
  Effect.acquireRelease(
    Effect.sync(() => mkdtempSync(join(tmpdir(), "ledgerline-"))),
    (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
  ),
  (dir) => {
    const filename = join(dir, "events.db")
    return { client: SqliteClient.layer({ filename }), store: SqliteEventStore.layer({ filename }), timestamp: SqliteEventStore.dialect.timestamp }
  }
), migrations)
