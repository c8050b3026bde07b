import type { SqlClient } from "@effect/sql"
import { SqlError } from "@effect/sql/SqlError"
import { PgClient } from "@effect/sql-pg"
import { Config, Effect, type Layer, Redacted } from "effect"
import * as Pg from "pg"

export interface PgPoolConfig {
  readonly url: Redacted.Redacted
  readonly maxConnections?: number
  /** Keep the statements that recur parsed on each connection (default true); off behind a pooler that cannot. */
  readonly prepare?: boolean
}

/** DATABASE_URL and LEDGERLINE_PG_PREPARE (`true` or `false`), as the service and the CLIs read them. */
export const config = Effect.gen(function*() {
  const url = yield* Config.redacted("DATABASE_URL").pipe(Config.withDefault(Redacted.make("postgres://127.0.0.1:5432/postgres")))
  const prepare = yield* Config.boolean("LEDGERLINE_PG_PREPARE").pipe(Config.withDefault(true))
  return { url, prepare } satisfies PgPoolConfig
})

/** At most this many statement texts get a name per pool; any others run unnamed. */
export const MAX_NAMED = 128
/** Texts counted while looking for those that recur; beyond this many, a new text is not counted. */
const MAX_COUNTED = 4_096

/**
 * Which statement texts to prepare, by name: a parameterized text the second time it is run,
 * while fewer than `MAX_NAMED` have a name. The first run of a text goes unnamed, so a statement
 * that runs once (a migration, an ad-hoc query) never takes a name.
 */
export const makeNamer = (maxNamed = MAX_NAMED) => {
  const names = new Map<string, string>()
  const seen = new Set<string>()
  return (text: string): string | undefined => {
    const name = names.get(text)
    if (name !== undefined || names.size >= maxNamed) return name
    if (!seen.has(text)) {
      if (seen.size < MAX_COUNTED) seen.add(text)
      return undefined
    }
    seen.delete(text)
    const named = `ledgerline_${names.size}`
    names.set(text, named)
    return named
  }
}

type QueryArgs = [config: unknown, values?: unknown, callback?: unknown]

/**
 * node-postgres sends a statement without a name unless told one, and the server then parses and
 * plans it on every call: on our hot path that was more than half of the server's time per
 * statement (docs/adr/0027). This client names the texts `name` picks, so each connection
 * parses them once and the server may keep a generic plan. Values, results and errors are as
 * without a name; statements without parameters (transaction control, DDL) are left alone.
 */
const preparingClient = (name: (text: string) => string | undefined) =>
  class PreparingClient extends Pg.Client {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    override query(...args: QueryArgs): any {
      const [config, values, callback] = args
      const query = super.query as (...args: QueryArgs) => unknown
      if (typeof config === "string" && Array.isArray(values) && values.length > 0) {
        const named = name(config)
        if (named !== undefined) return query.call(this, { name: named, text: config, values }, undefined, callback)
      } else if (isUnnamedConfig(config)) {
        const named = name(config.text)
        if (named !== undefined) return query.call(this, { ...config, name: named }, values, callback)
      }
      return query.call(this, config, values, callback)
    }
  }

/** A plain query config with parameters (as in `{ text, values, rowMode }`), not a cursor or a named one. */
const isUnnamedConfig = (config: unknown): config is { readonly text: string; readonly values: ReadonlyArray<unknown> } =>
  typeof config === "object" && config !== null && !("submit" in config) && !("name" in config) &&
  typeof (config as { text?: unknown }).text === "string" && Array.isArray((config as { values?: unknown }).values) &&
  (config as { values: ReadonlyArray<unknown> }).values.length > 0

/**
 * A PgClient (and SqlClient) on a pool of our own, whose connections prepare recurring
 * statements (above). The pool is checked with one query when built (a connection gets 5 s), and
 * ended with the layer.
 */
export const layer = (config: PgPoolConfig): Layer.Layer<PgClient.PgClient | SqlClient.SqlClient, SqlError> =>
  PgClient.layerFromPool({
    acquire: Effect.acquireRelease(
      Effect.tryPromise({
        try: async () => {
          const pool = new Pg.Pool({
            connectionString: Redacted.value(config.url),
            max: config.maxConnections ?? 10,
            application_name: "ledgerline",
            connectionTimeoutMillis: 5_000,
            ...(config.prepare === false ? {} : { Client: preparingClient(makeNamer()) })
          })
          pool.on("error", () => {})
          try {
            await pool.query("SELECT 1")
          } catch (cause) {
            await pool.end()
            throw cause
          }
          return pool
        },
        catch: (cause) => new SqlError({ cause, message: "PgClient: Failed to connect" })
      }),
      (pool) => Effect.promise(() => pool.end()).pipe(Effect.interruptible, Effect.timeoutOption(1000))
    )
  })
