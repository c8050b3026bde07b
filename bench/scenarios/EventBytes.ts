import { Array as Arr, DateTime, Effect, Redacted } from "effect"
import * as PgEventStore from "../../src/adapters/postgres/PgEventStore.js"
import * as SqlEventStore from "../../src/adapters/sql/SqlEventStore.js"
import { EventStore } from "../../src/application/ports/EventStore.js"
import { envelopes, newAccount, trade } from "../lib/Events.js"
import * as Progress from "../lib/Progress.js"
import type { Results } from "../lib/Results.js"
import type { Settings } from "../lib/Settings.js"
import { freshSchema, onServer } from "../lib/Targets.js"
import { knobs } from "./StoreAppend.js"

const { f } = Progress
const STREAMS = 100
const CHUNK = 100

/** A PostgreSQL store of ours on a fresh schema (migrated when built), dropped with the scope. */
export const pgStore = (s: Settings) =>
  Effect.map(freshSchema(s.pgUrl), ({ url }) => ({
    url,
    layer: PgEventStore.layer({
      url: Redacted.make(url), maxConnections: s.pgMaxConnections,
      store: { ...SqlEventStore.defaultOptions, groupCommit: knobs(s).groupCommit }
    })
  }))

/**
 * `count` TradeExecuted events over `streams` streams through the EventStore port, each with a
 * fresh envelope (the user a UUID, as an identity provider's subject usually is; a UUIDv7 command
 * id, also the correlation and causation) and its chain hash; no other event type.
 */
export const writeTrades = (count: number, streams: number) =>
  Effect.gen(function*() {
    const store = yield* EventStore
    const at = DateTime.unsafeNow()
    const perStream = Math.ceil(count / streams)
    yield* Effect.forEach(Arr.range(1, streams), () =>
      Effect.gen(function*() {
        const account = newAccount()
        let version = 0
        while (version < perStream) {
          const n = Math.min(CHUNK, perStream - version)
          const events = Arr.makeBy(n, (i) => trade(account, version + i + 1, at, false))
          version = (yield* store.appendEvents(account.streamId, version, envelopes(account, events))).nextVersion
        }
      }), { concurrency: 8, discard: true })
  })

/**
 * event.bytes_avg: a fresh PostgreSQL store holding only TradeExecuted events (each with its own
 * envelope and chain hash, written through the EventStore port), then the size of the events
 * table's files (heap and TOAST of every partition, no indexes) over its row count. With indexes,
 * the same over pg_total_relation_size, as a second figure.
 */
export const run = (s: Settings, results: Results) =>
  Effect.scoped(Effect.gen(function*() {
    const { url, layer } = yield* pgStore(s)
    Progress.line(`event.bytes_avg: writing ${f(s.bytesEvents)} TradeExecuted events over ${STREAMS} streams`)
    yield* writeTrades(s.bytesEvents, STREAMS).pipe(Effect.provide(layer), Effect.orDie)
    const [size] = yield* onServer(url, (sql) =>
      sql<{ heap: string; total: string; rows: string; trades: string; tuple: string }>`SELECT
        (SELECT sum(pg_relation_size(c.oid) + COALESCE(pg_relation_size(NULLIF(c.reltoastrelid, 0)), 0))
           FROM pg_partition_tree('events') t JOIN pg_class c ON c.oid = t.relid WHERE t.isleaf) AS heap,
        (SELECT sum(pg_total_relation_size(t.relid)) FROM pg_partition_tree('events') t WHERE t.isleaf) AS total,
        (SELECT count(*) FROM events) AS rows,
        (SELECT count(*) FROM events WHERE type = 'TradeExecuted') AS trades,
        (SELECT avg(pg_column_size(e.*)) FROM events e) AS tuple`)
    const rows = Number(size?.rows)
    if (rows === 0 || Number(size?.trades) !== rows) return yield* Effect.dieMessage(`expected only TradeExecuted rows, found ${size?.trades} of ${rows}`)
    const bytes = Number(size?.heap) / rows
    const withIndexes = Number(size?.total) / rows
    Progress.line(`event.bytes_avg: ${f(bytes, 1)} bytes per TradeExecuted (table files / rows; ${f(Number(size?.tuple), 1)} B per tuple ` +
      `without page and line-pointer overhead); ${f(withIndexes, 1)} B with indexes`)
    results["event.bytes_avg"] = bytes
    results["event.bytes_avg_with_indexes"] = withIndexes
    results["event.tuple_bytes_avg"] = Number(size?.tuple)
    results["event.count"] = rows
  }))
