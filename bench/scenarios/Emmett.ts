import { getPostgreSQLEventStore } from "@event-driven-io/emmett-postgresql"
import { DateTime, Effect, Schema } from "effect"
import { randomUUID } from "node:crypto"
import { Accounts } from "../../src/application/Aggregate.js"
import { AccountEvent } from "../../src/domain/AccountEvents.js"
import { type BenchAccount, envelopes, type Encoded, newAccount, opened, tradeRing } from "../lib/Events.js"
import * as Progress from "../lib/Progress.js"
import { putLatency, type Results } from "../lib/Results.js"
import { saturate } from "../lib/Saturate.js"
import type { Settings } from "../lib/Settings.js"
import { onServer } from "../lib/Targets.js"
import { pool } from "./RawPg.js"

const { f } = Progress
const RING = 32
const toJson = Schema.encodeSync(AccountEvent)

/**
 * The peer's event: the same domain event as ours in its native form (JSON data), with our
 * envelope's metadata (who, correlation, causation, command).
 */
const peerEvent = (account: BenchAccount, encoded: Encoded) => {
  const { _tag, ...data } = toJson(Accounts.codec.decode(encoded.type, encoded.schemaVersion, encoded.data))
  const [e] = envelopes(account, [encoded])
  return { type: _tag, data: data as Record<string, unknown>, metadata: { ...e!.metadata, eventId: e!.eventId } }
}

/** A database of its own on the same server (the peer keeps its tables in the connection's schema), dropped with the scope. */
const freshDatabase = (pgUrl: string) =>
  Effect.gen(function*() {
    const name = `bench_emmett_${process.pid}_${Date.now().toString(36)}`
    yield* Effect.acquireRelease(
      onServer(pgUrl, (sql) => sql.unsafe(`CREATE DATABASE ${name}`)),
      () => onServer(pgUrl, (sql) => sql.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).pipe(Effect.orDie)
    )
    const url = new URL(pgUrl)
    url.pathname = `/${name}`
    return url.toString()
  })

/**
 * peer.emmett_pg: @event-driven-io/emmett-postgresql on the same server, `appendToStream` of one
 * event per call with `expectedStreamVersion`, the same number of streams and concurrent appenders
 * as store.append.postgres, through a pool as large as ours, and the same closed-loop driver.
 */
export const run = (s: Settings, results: Results) =>
  Effect.scoped(Effect.gen(function*() {
    const url = yield* freshDatabase(s.pgUrl)
    const db = yield* pool({ connectionString: url, max: s.pgMaxConnections })
    const store = getPostgreSQLEventStore(url, { connectionOptions: { pool: db }, schema: { autoMigration: "None" } })
    yield* Effect.addFinalizer(() => Effect.promise(() => store.close()))
    yield* Effect.promise(() => store.schema.migrate())
    const at = DateTime.unsafeNow()
    Progress.line(`peer.emmett_pg: ${s.appenders} appenders, pool of ${s.pgMaxConnections}, ${s.warmupSeconds} s warm-up + ${s.seconds} s`)
    const r = yield* saturate({
      workers: s.appenders, warmupSeconds: s.warmupSeconds, seconds: s.seconds,
      onProgress: (events, seconds) => Progress.status(`peer.emmett_pg: ${f(events)} events in ${f(seconds, 1)} s (${f(events / seconds)}/s)`)
    }, () =>
      Effect.gen(function*() {
        const account = newAccount()
        const ring = tradeRing(account, RING, at, false).map((e) => peerEvent(account, e))
        let version = 0n
        const append = (event: ReturnType<typeof peerEvent>) =>
          Effect.promise(() => store.appendToStream(account.streamId, [event], { expectedStreamVersion: version })).pipe(
            Effect.map((result) => {
              version = result.nextExpectedStreamVersion
              return 1
            })
          )
        yield* append(peerEvent(account, opened(account, at)))
        // a fresh envelope per append, as ours gets
        return Effect.suspend(() => {
          const event = ring[Number(version % BigInt(RING))]!
          return append({ ...event, metadata: { ...event.metadata, eventId: randomUUID() } })
        })
      }))
    Progress.line(`peer.emmett_pg: ${f(r.eventsPerSecond)} events/s, p50 ${f(r.latency.p50, 2)} ms, p99 ${f(r.latency.p99, 2)} ms, ` +
      `max ${f(r.latency.max, 1)} ms; machine CPU ${f(r.machineBusy * 100)}%, bench process ${f(r.nodeCores, 2)} cores`)
    results["peer.emmett_pg.events_per_s"] = r.eventsPerSecond
    putLatency(results, "peer.emmett_pg", r.latency)
    results["peer.emmett_pg.events"] = r.events
    results["peer.emmett_pg.machine_cpu_busy"] = r.machineBusy
  }))
