import { describe, expect, it } from "@effect/vitest"
import { spawnSync } from "node:child_process"
import { tmpdir } from "node:os"
import { join } from "node:path"
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

describe("admission", () => {
  it.live("a process at its limit of waiting commands refuses the next at once: 503 OVERLOADED with Retry-After", () =>
    Effect.gen(function*() {
      // a limit of 0 turns every command away, as a process whose queue is full would
      const server = yield* startServer({ LEDGERLINE_MAX_QUEUED_COMMANDS: "0" })
      const alice = yield* server.token("alice", "trader")
      const opened = yield* server.call("POST", "/v1/accounts", {
        token: alice, body: { customerId: "alice", accountType: "INDIVIDUAL", currency: "USD", initialBalance: "100.00" }
      })
      expect(opened.status).toBe(503)
      expect(opened.body).toMatchObject({ code: "OVERLOADED" })
      expect(opened.headers.get("retry-after")).toBe("1")
    }).pipe(Effect.scoped), 90_000)
})

describe("start-up settings", () => {
  it("a bad value stops start-up with a message naming the variable", () => {
    for (const [name, value, more] of [
      ["PORT", "abc"], ["LEDGERLINE_STORE", "oracle"], ["LEDGERLINE_SIMULATOR_RATE", "-3"], ["LEDGERLINE_MAX_QUEUED_COMMANDS", "-1"],
      ["LEDGERLINE_PROJECTION_PAGE_INTERVAL", "soon"],
      ["LEDGERLINE_PG_PREPARE", "sometimes", { LEDGERLINE_STORE: "postgres" }]
    ] as const) {
      const run = spawnSync(process.execPath, ["--import", "tsx", "src/main.ts"], {
        env: { ...process.env, LEDGERLINE_DATA_DIR: join(tmpdir(), "ledgerline-bad-config"), ...more, [name]: value }, encoding: "utf8",
        timeout: 30_000
      })
      expect(run.status, `${name}=${value} should stop start-up`).not.toBe(0)
      expect(run.stdout + run.stderr).toContain(name)
    }
  }, 90_000)
})
