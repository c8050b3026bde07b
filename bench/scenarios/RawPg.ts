import { Effect } from "effect"
import pg from "pg"
import * as Progress from "../lib/Progress.js"
import { putLatency, type Results } from "../lib/Results.js"
import { saturate } from "../lib/Saturate.js"
import type { Settings } from "../lib/Settings.js"
import { pgStore, writeTrades } from "./EventBytes.js"

const { f } = Progress
/** Rows of ours copied as the raw writer's material: distinct payloads, envelopes and hashes. */
const SAMPLE = 4096
const STREAMS = 64

/**
 * A pg pool, ended with the scope. `end()` resolves before its connections' sockets have closed, so
 * a database dropped `WITH (FORCE)` right after can still reach one: the server's termination then
 * arrives as the pool's `error` event, which crashes the process when nobody listens. After the end
 * that is no news; before it, the failing query reports it anyway, and the line says which pool.
 */
export const pool = (config: pg.PoolConfig) =>
  Effect.acquireRelease(
    Effect.sync(() => {
      const p = new pg.Pool(config)
      p.on("error", (error) => {
        if (!p.ending) Progress.line(`pg pool: an idle connection failed: ${error.message}`)
      })
      return p
    }),
    (p) => Effect.promise(() => p.end())
  )

interface Column {
  readonly name: string
  readonly type: string
}

/**
 * store.raw_pg_batch, the storage's limit for our bytes: a bare copy of our events table (its
 * columns and types, `CREATE TABLE … (LIKE events)`: no partitions, keys, indexes, checks or
 * triggers) filled with rows our store wrote (their payloads, envelopes and hashes as stored, only
 * the position and version renumbered), by plain `INSERT … SELECT * FROM unnest($1::<type>[], …)`
 * of one group commit's largest batch, a few connections at once, each batch its own transaction;
 * node-postgres only, no event store and no Effect on the write path.
 */
export const run = (s: Settings, results: Results) =>
  Effect.scoped(Effect.gen(function*() {
    const { url, layer } = yield* pgStore(s)
    yield* writeTrades(SAMPLE, STREAMS).pipe(Effect.provide(layer), Effect.orDie)
    const db = yield* pool({ connectionString: url, max: s.raw.connections })
    const query = <R extends pg.QueryResultRow>(text: string, values?: ReadonlyArray<unknown>) =>
      Effect.promise(() => db.query<R>(text, values as Array<unknown>))
    const columns: ReadonlyArray<Column> = (yield* query<Column>(
      `SELECT attname AS name, format_type(atttypid, atttypmod) AS type FROM pg_attribute
       WHERE attrelid = 'events'::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum`
    )).rows
    yield* query(`CREATE TABLE raw_events (LIKE events)`)
    // every value as PostgreSQL prints it, so it goes back as the same literal the driver sends for ours
    const sample = (yield* query<Record<string, string | null>>(
      `SELECT ${columns.map((c) => `"${c.name}"::text AS "${c.name}"`).join(", ")} FROM events ORDER BY position`
    )).rows
    const insert = `INSERT INTO raw_events (${columns.map((c) => `"${c.name}"`).join(", ")})
      SELECT * FROM unnest(${columns.map((c, i) => `$${i + 1}::${c.type}[]`).join(", ")})`
    let written = 0
    const batch = () => {
      const first = written
      written += s.raw.batch
      const rows = Array.from({ length: s.raw.batch }, (_, i) => sample[(first + i) % sample.length]!)
      // positions follow on; each sampled row's stream gets its next version
      return columns.map((c) =>
        c.name === "position"
          ? rows.map((_, i) => String(first + i + 1))
          : c.name === "version"
          ? rows.map((_, i) => String(Math.floor((first + i) / sample.length) * (SAMPLE / STREAMS) + Number(rows[i]!.version)))
          : rows.map((r) => r[c.name] ?? null))
    }
    Progress.line(`store.raw_pg_batch: ${s.raw.connections} connections, ${s.raw.batch} rows per INSERT into a bare copy of ` +
      `the events table (${columns.length} columns), ${s.warmupSeconds} s warm-up + ${s.seconds} s`)
    const r = yield* saturate({
      workers: s.raw.connections, warmupSeconds: s.warmupSeconds, seconds: s.seconds,
      onProgress: (events, seconds) => Progress.status(`store.raw_pg_batch: ${f(events)} rows in ${f(seconds, 1)} s (${f(events / seconds)}/s)`)
    }, () => Effect.succeed(Effect.promise(() => db.query(insert, batch()).then(() => s.raw.batch))))
    const [stored] = (yield* query<{ ours: string; raw: string }>(
      `SELECT (SELECT avg(pg_column_size(e.*)) FROM events e) AS ours, (SELECT avg(pg_column_size(r.*)) FROM raw_events r) AS raw`
    )).rows
    Progress.line(`store.raw_pg_batch: ${f(r.eventsPerSecond)} events/s, ${f(r.latency.p50, 1)} ms per batch (p50), ` +
      `p99 ${f(r.latency.p99, 1)} ms; ${f(Number(stored?.raw), 1)} B per row (ours ${f(Number(stored?.ours), 1)}); ` +
      `machine CPU ${f(r.machineBusy * 100)}%`)
    results["store.raw_pg_batch.events_per_s"] = r.eventsPerSecond
    putLatency(results, "store.raw_pg_batch.batch", r.latency)
    results["store.raw_pg_batch.batch_rows"] = s.raw.batch
    results["store.raw_pg_batch.connections"] = s.raw.connections
    results["store.raw_pg_batch.row_bytes"] = Number(stored?.raw)
    results["store.raw_pg_batch.machine_cpu_busy"] = r.machineBusy
  }))
