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
 * that runs once (a migration, an ad-hoc query) never takes a name. A text `refuse`d never
 * takes one again.
 */
export const makeNamer = (maxNamed = MAX_NAMED) => {
  const names = new Map<string, string>()
  const seen = new Set<string>()
  const refused = new Set<string>()
  let made = 0
  return {
    name: (text: string): string | undefined => {
      const name = names.get(text)
      if (name !== undefined || made >= maxNamed || refused.has(text)) return name
      if (!seen.has(text)) {
        if (seen.size < MAX_COUNTED) seen.add(text)
        return undefined
      }
      seen.delete(text)
      const named = `ledgerline_${made++}`
      names.set(text, named)
      return named
    },
    refuse: (text: string) => {
      names.delete(text)
      refused.add(text)
    }
  }
}

/**
 * The server refuses to run a prepared statement whose result columns changed under it (DDL by
 * another process, say a rolling upgrade's migration); an unnamed statement is planned afresh.
 */
const isPlanChanged = (error: unknown) =>
  typeof error === "object" && error !== null && (error as { code?: unknown }).code === "0A000" &&
  /cached plan must not change result type/.test(String((error as { message?: unknown }).message))

type QueryArgs = [config: unknown, values?: unknown, callback?: unknown]

/**
 * node-postgres sends a statement without a name unless told one, and the server then parses and
 * plans it on every call: on our hot path that was more than half of the server's time per
 * statement (docs/adr/0027). This client names the texts its namer picks, so each connection
 * parses them once and the server may keep a generic plan. Values, results and errors are as
 * without a name, but for a statement whose result columns changed (above); statements without
 * parameters (transaction control, DDL) are left alone.
 */
const preparingClient = (namer: ReturnType<typeof makeNamer>) =>
  class PreparingClient extends Pg.Client {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    override query(...args: QueryArgs): any {
      const [config, values, callback] = args
      const query = super.query as (...args: QueryArgs) => unknown
      const text = typeof config === "string" && Array.isArray(values) && values.length > 0
        ? config
        : isUnnamedConfig(config)
        ? config.text
        : undefined
      const name = text === undefined ? undefined : namer.name(text)
      if (text === undefined || name === undefined) return query.call(this, config, values, callback)
      const named = typeof config === "string" ? { name, text, values } : { ...(config as object), name }
      // that call fails as it would have; the text goes unnamed from then on, on every connection
      const respond = typeof callback === "function" ? callback as (error: unknown, result: unknown) => void : undefined
      const settled = respond === undefined ? undefined : (error: unknown, result: unknown) => {
        if (isPlanChanged(error)) namer.refuse(text)
        respond(error, result)
      }
      return query.call(this, named, typeof config === "string" ? undefined : values, settled)
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
