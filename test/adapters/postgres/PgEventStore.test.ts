import { describe } from "@effect/vitest"
import * as PgEventStore from "../../../src/adapters/postgres/PgEventStore.js"
import { eventStoreContract } from "../contract.js"
import { runPgSuites, withSchema } from "./pgTest.js"

describe.runIf(runPgSuites)("PostgreSQL", () => {
  eventStoreContract("PgEventStore", () => withSchema((url) => PgEventStore.layer({ url, maxConnections: 4 })))
})
