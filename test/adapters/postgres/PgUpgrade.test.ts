import { PgClient } from "@effect/sql-pg"
import { describe } from "@effect/vitest"
import { Effect } from "effect"
import * as PgEventStore from "../../../src/adapters/postgres/PgEventStore.js"
import { migrations } from "../../../src/adapters/postgres/PgMigrations.js"
import { upgradeSuite } from "../sql/upgradeSuite.js"
import { freshSchema, runPgSuites } from "./pgTest.js"

describe.runIf(runPgSuites)("PostgreSQL", () => {
  upgradeSuite("PgEventStore", Effect.map(freshSchema, ({ url }) => ({
    client: PgClient.layer({ url, maxConnections: 1 }),
    store: PgEventStore.layer({ url, maxConnections: 2 }),
    timestamp: PgEventStore.dialect.timestamp
  })), migrations)
})
