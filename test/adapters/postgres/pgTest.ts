import { SqlClient } from "@effect/sql"
import { PgClient } from "@effect/sql-pg"
import { Effect, Exit, Layer, Redacted } from "effect"

/** The server the PostgreSQL suites use; each test gets a schema of its own in this database. */
export const PG_URL = process.env.LEDGERLINE_TEST_PG_URL ?? "postgres://postgres@127.0.0.1:5432/test"

const admin = PgClient.layer({ url: Redacted.make(PG_URL), maxConnections: 1, connectTimeout: "2 seconds" })

/** Runs statements on the test database itself (outside any test schema). */
const onServer = (...statements: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    for (const statement of statements) yield* sql.unsafe(statement)
  }).pipe(Effect.provide(admin), Effect.orDie)

const reachable = await Effect.runPromiseExit(onServer("SELECT 1").pipe(Effect.timeout("5 seconds")))

/**
 * Whether the PostgreSQL suites run. Unreachable in CI is a failure (the suite runs and fails);
 * outside CI the suite is skipped with a loud line naming it.
 */
export const pgAvailable = Exit.isSuccess(reachable)
if (!pgAvailable && process.env.CI !== "true") {
  console.warn(`\n*** PostgreSQL at ${PG_URL} is unreachable: SKIPPING the PostgreSQL suites ***\n`)
}
export const runPgSuites = pgAvailable || process.env.CI === "true"

let counter = 0
/** A fresh schema and a URL whose search_path is that schema; dropped when the scope closes. */
export const freshSchema = Effect.acquireRelease(
  Effect.gen(function*() {
    const name = `t_${process.pid}_${Date.now().toString(36)}_${counter++}`
    yield* onServer(`CREATE SCHEMA ${name}`)
    const url = new URL(PG_URL)
    url.searchParams.set("options", `-c search_path=${name}`)
    return { name, url: Redacted.make(url.toString()) }
  }),
  ({ name }) => onServer(`DROP SCHEMA IF EXISTS ${name} CASCADE`)
)

/** A layer built against a fresh schema, dropped with the layer. */
export const withSchema = <A, E, R>(f: (url: Redacted.Redacted) => Layer.Layer<A, E, R>) =>
  Layer.unwrapScoped(Effect.map(freshSchema, ({ url }) => f(url)))

/** A raw SQL client on a schema, for tests that go behind the adapter's back. */
export const rawClient = (url: Redacted.Redacted) => PgClient.layer({ url, maxConnections: 2 })
