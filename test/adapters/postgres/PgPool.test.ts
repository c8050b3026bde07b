import { SqlClient } from "@effect/sql"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Redacted } from "effect"
import * as PgPool from "../../../src/adapters/postgres/PgPool.js"
import { freshSchema, PG_URL, runPgSuites } from "./pgTest.js"

describe("PgPool.makeNamer", () => {
  it("names a text the second time it runs, keeps that name, and gives each text its own", () => {
    const { name } = PgPool.makeNamer()
    expect(name("SELECT $1")).toBeUndefined()
    const first = name("SELECT $1")
    expect(first).toBeDefined()
    expect(name("SELECT $1")).toBe(first)
    expect(name("SELECT $1, $2")).toBeUndefined()
    const second = name("SELECT $1, $2")
    expect(second).toBeDefined()
    expect(second).not.toBe(first)
  })

  it("names no more texts than its limit, and keeps the names it gave", () => {
    const { name } = PgPool.makeNamer(2)
    const named = ["a", "b", "c"].map((text) => (name(text), name(text)))
    expect(named[0]).toBeDefined()
    expect(named[1]).toBeDefined()
    expect(named[2]).toBeUndefined()
    expect(name("a")).toBe(named[0])
  })

  it("never names a refused text again, and does not give its name to another", () => {
    const { name, refuse } = PgPool.makeNamer()
    name("a")
    const a = name("a")
    refuse("a")
    expect([name("a"), name("a")]).toEqual([undefined, undefined])
    name("b")
    expect(name("b")).not.toBe(a)
  })
})

/** One connection, so what it has prepared is what `pg_prepared_statements` shows in its session. */
const onOneConnection = (prepare: boolean) => PgPool.layer({ url: Redacted.make(PG_URL), maxConnections: 1, prepare })

const prepared = Effect.flatMap(SqlClient.SqlClient, (sql) =>
  sql<{ statement: string }>`SELECT statement FROM pg_prepared_statements`.pipe(Effect.map((rows) => rows.map((r) => r.statement))))

const SUM = "SELECT $1::int + $2::int AS sum"

describe.runIf(runPgSuites)("PostgreSQL: the pool's prepared statements", () => {
  it.live("a recurring statement is prepared once on its connection and answers each call with its own values", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const sums = yield* Effect.forEach([1, 2, 3, 4], (i) => sql.unsafe<{ sum: number }>(SUM, [i, 10]))
      expect(sums.map(([row]) => row?.sum)).toEqual([11, 12, 13, 14])
      // the same text in a transaction, on the connection that prepared it
      const inTransaction = yield* sql.withTransaction(sql.unsafe<{ sum: number }>(SUM, [5, 10]))
      expect(inTransaction[0]?.sum).toBe(15)
      // values as arrays of rows (what `sql.unsafe(...).values` asks for)
      const values = yield* sql.unsafe(SUM, [6, 10]).values
      expect(values).toEqual([[16]])
      const statements = yield* prepared
      expect(statements.filter((s) => s === SUM)).toHaveLength(1)
      // a statement without parameters is not
      yield* sql.unsafe("SELECT 1 AS one")
      yield* sql.unsafe("SELECT 1 AS one")
      expect(yield* prepared).not.toContain("SELECT 1 AS one")
    }).pipe(Effect.provide(onOneConnection(true))))

  it.live("a prepared statement that fails reports its error, and runs again after it", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const divide = "SELECT 10 / $1::int AS q"
      expect((yield* sql.unsafe<{ q: number }>(divide, [2]))[0]?.q).toBe(5)
      expect((yield* sql.unsafe<{ q: number }>(divide, [5]))[0]?.q).toBe(2)
      const failed = yield* Effect.flip(sql.unsafe(divide, [0]))
      expect((failed.cause as { readonly code?: string }).code).toBe("22012") // division_by_zero
      expect((yield* sql.unsafe<{ q: number }>(divide, [1]))[0]?.q).toBe(10)
      expect(yield* prepared).toContain(divide)
    }).pipe(Effect.provide(onOneConnection(true))))

  it.live("a prepared statement whose result columns changed fails once, then runs unprepared", () =>
    Effect.scoped(Effect.gen(function*() {
      const { url } = yield* freshSchema
      yield* Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        yield* sql.unsafe("CREATE TABLE quotes (symbol text PRIMARY KEY, price numeric)")
        yield* sql.unsafe("INSERT INTO quotes VALUES ('AAPL', 190.5)")
        const read = "SELECT * FROM quotes WHERE symbol = $1"
        for (const _ of [1, 2, 3]) expect(yield* sql.unsafe(read, ["AAPL"])).toEqual([{ symbol: "AAPL", price: "190.5" }])
        expect(yield* prepared).toContain(read)
        // as another process's migration would
        yield* sql.unsafe("ALTER TABLE quotes ADD COLUMN venue text")
        const failed = yield* Effect.flip(sql.unsafe(read, ["AAPL"]))
        expect((failed.cause as { readonly code?: string }).code).toBe("0A000")
        expect(yield* sql.unsafe(read, ["AAPL"])).toEqual([{ symbol: "AAPL", price: "190.5", venue: null }])
        expect(yield* sql.unsafe(read, ["AAPL"])).toEqual([{ symbol: "AAPL", price: "190.5", venue: null }])
      }).pipe(Effect.provide(PgPool.layer({ url, maxConnections: 1 })))
    })))

  it.live("with prepare off, nothing is prepared", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      for (const i of [1, 2, 3]) expect((yield* sql.unsafe<{ sum: number }>(SUM, [i, 1]))[0]?.sum).toBe(i + 1)
      expect(yield* prepared).toEqual([])
    }).pipe(Effect.provide(onOneConnection(false))))

  it.live("a server that does not answer fails the layer with a SqlError", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(Effect.provide(Effect.void, PgPool.layer({ url: Redacted.make("postgres://postgres@127.0.0.1:1/test") })))
      expect(Exit.isFailure(exit)).toBe(true)
      expect(String(Exit.isFailure(exit) ? exit.cause : "")).toMatch(/Failed to connect/)
    }))
})
