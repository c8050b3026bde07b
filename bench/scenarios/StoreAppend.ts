import { DateTime, Duration, Effect } from "effect"
import { EventStore } from "../../src/application/ports/EventStore.js"
import { envelopes, newAccount, opened, tradeRing } from "../lib/Events.js"
import * as Progress from "../lib/Progress.js"
import { putLatency, type Results } from "../lib/Results.js"
import { saturate } from "../lib/Saturate.js"
import type { Settings } from "../lib/Settings.js"
import * as Targets from "../lib/Targets.js"

const { f } = Progress
/** Distinct pre-encoded fills per stream; each append wraps the next one in a fresh envelope. */
const RING = 32

export const knobs = (s: Settings): Targets.SqlKnobs => ({
  groupCommit: { maxBatch: s.groupCommitMax, maxWait: Duration.zero }, pgMaxConnections: s.pgMaxConnections, pgUrl: s.pgUrl
})

/**
 * `appenders` concurrent writers, each on its own stream, one TradeExecuted per append at the
 * right expected version (the peer runs the same shape); a group-committing store batches them.
 */
export const appendCeiling = (s: Settings, label: string) =>
  Effect.gen(function*() {
    const store = yield* EventStore
    const at = DateTime.unsafeNow()
    return yield* saturate({
      workers: s.appenders, warmupSeconds: s.warmupSeconds, seconds: s.seconds, maxEvents: 1_000_000,
      onProgress: (events, seconds) => Progress.status(`${label}: ${f(events)} events in ${f(seconds, 1)} s (${f(events / seconds)}/s)`)
    }, () =>
      Effect.gen(function*() {
        const account = newAccount()
        const ring = tradeRing(account, RING, at, false)
        let version = (yield* store.appendEvents(account.streamId, 0, envelopes(account, [opened(account, at)]))).nextVersion
        return Effect.suspend(() => store.appendEvents(account.streamId, version, envelopes(account, [ring[version % RING]!]))).pipe(
          Effect.map((r) => {
            version = r.nextVersion
            return 1
          })
        )
      }))
  })

/** store.append.<memory|sqlite|postgres>: the append ceiling of each adapter through the EventStore port. */
export const run = (s: Settings, results: Results) =>
  Effect.forEach(["memory", "sqlite", "postgres"] as const, (name) =>
    Effect.scoped(Effect.gen(function*() {
      const target = yield* (name === "memory" ? Targets.memory : name === "sqlite" ? Targets.sqlite(knobs(s)) : Targets.postgres(knobs(s)))
      Progress.line(`store.append.${name}: ${s.appenders} appenders, ${s.warmupSeconds} s warm-up + ${s.seconds} s`)
      const r = yield* appendCeiling(s, `store.append.${name}`).pipe(Effect.provide(target.layer))
      Progress.line(`store.append.${name}: ${f(r.eventsPerSecond)} events/s, p50 ${f(r.latency.p50, 2)} ms, p99 ${f(r.latency.p99, 2)} ms, ` +
        `max ${f(r.latency.max, 1)} ms; machine CPU ${f(r.machineBusy * 100)}%, bench process ${f(r.nodeCores, 2)} cores`)
      results[`store.append.${name}.events_per_s`] = r.eventsPerSecond
      putLatency(results, `store.append.${name}`, r.latency)
      results[`store.append.${name}.events`] = r.events
      results[`store.append.${name}.machine_cpu_busy`] = r.machineBusy
      if (name === "postgres") results.postgres = target.info
    })), { discard: true })
