import { Array as Arr, DateTime, Effect, Fiber } from "effect"
import { Accounts } from "../../src/application/Aggregate.js"
import { EventStore, type RecordedEvent } from "../../src/application/ports/EventStore.js"
import type { AccountEvent } from "../../src/domain/AccountEvents.js"
import * as Portfolio from "../../src/domain/Portfolio.js"
import { TradingAccount } from "../../src/domain/TradingAccount.js"
import { envelopes, newAccount, opened, trade, tradeRing } from "./Events.js"
import type { SpanStats } from "./SpanStats.js"
import { cpuMark, cpuSince, type Latency, millisSince, now, secondsSince, summarize } from "./Stats.js"

/** Distinct pre-encoded fills per stream; each append wraps the next one in a fresh envelope. */
const RING = 32

export interface AppendRun {
  readonly events: number
  readonly seconds: number
  readonly eventsPerSecond: number
  readonly latency: Latency
}

/** One appender, one event per append, each awaited before the next; `appends` counted after a short warm-up. */
export const unbatched = (appends: number) =>
  Effect.gen(function*() {
    const store = yield* EventStore
    const at = DateTime.unsafeNow()
    const account = newAccount()
    const ring = tradeRing(account, RING, at)
    yield* store.appendEvents(account.streamId, 0, envelopes(account, [opened(account, at)]))
    // an uncounted tenth (at most 200) first, so JIT and connection warm-up stay out of the numbers
    const warmup = Math.min(200, Math.floor(appends / 10))
    let version = 1
    for (let i = 0; i < warmup; i++) {
      version = (yield* store.appendEvents(account.streamId, version, envelopes(account, [ring[version % RING]!]))).nextVersion
    }
    const latencies = new Float64Array(appends)
    const start = now()
    for (let i = 0; i < appends; i++) {
      const events = envelopes(account, [ring[version % RING]!])
      const t0 = now()
      version = (yield* store.appendEvents(account.streamId, version, events)).nextVersion
      latencies[i] = millisSince(t0)
    }
    const seconds = secondsSince(start)
    return { events: appends, seconds, eventsPerSecond: appends / seconds, latency: summarize(latencies) } satisfies AppendRun
  }).pipe(Effect.orDie)

export interface BatchedOptions {
  readonly appenders: number
  readonly warmupSeconds: number
  readonly seconds: number
  /** Ends the measurement early once this many events were counted (bounds the memory store). */
  readonly maxEvents: number
  readonly spans?: SpanStats
}

/**
 * Many concurrent appenders, each on its own stream, one event per append at the right expected
 * version, so a group-committing store batches them. Counts appends completed inside the window
 * after an uncounted warm-up; latencies are of appends both started and completed inside it. The
 * appenders move the window themselves: against the memory store they never wait on I/O, so a
 * timer (Effect.sleep) could starve behind them.
 */
export const batched = (options: BatchedOptions) =>
  Effect.gen(function*() {
    const store = yield* EventStore
    const at = DateTime.unsafeNow()
    const accounts = Arr.makeBy(options.appenders, newAccount)
    const rings = accounts.map((a) => tradeRing(a, RING, at))
    const startAt = now() + BigInt(Math.round(options.warmupSeconds * 1e9))
    const endAt = startAt + BigInt(Math.round(options.seconds * 1e9))
    const window = { measuring: false, stopped: false, start: 0n, end: 0n }
    let cpu = cpuMark()
    let usage = { machineBusy: Number.NaN, nodeCores: Number.NaN }
    const latencies: Array<number> = []
    let counted = 0
    const begin = (t: bigint) => {
      window.start = t
      window.measuring = true
      cpu = cpuMark()
      options.spans?.start()
    }
    const finish = (t: bigint) => {
      window.end = t
      window.stopped = true
      options.spans?.stop()
      usage = cpuSince(cpu)
    }

    const appender = (i: number) =>
      Effect.gen(function*() {
        const account = accounts[i]!
        const ring = rings[i]!
        let version = (yield* store.appendEvents(account.streamId, 0, envelopes(account, [opened(account, at)]))).nextVersion
        while (!window.stopped) {
          const events = envelopes(account, [ring[version % RING]!])
          const t0 = now()
          version = (yield* store.appendEvents(account.streamId, version, events)).nextVersion
          const t1 = now()
          if (!window.measuring) {
            if (t1 >= startAt) begin(t1)
          } else if (!window.stopped) {
            if (t1 > endAt) {
              finish(endAt)
            } else {
              counted += 1
              if (t0 >= window.start) latencies.push(Number(t1 - t0) / 1e6)
              if (counted >= options.maxEvents) finish(t1)
            }
          }
        }
      })

    yield* Effect.forEach(Arr.range(0, options.appenders - 1), appender, { concurrency: "unbounded", discard: true })
    const seconds = secondsSince(window.start, window.end)
    return {
      events: counted, seconds, eventsPerSecond: counted / seconds, latency: summarize(latencies), ...usage
    }
  }).pipe(Effect.orDie)

/** The whole global log, page by page. */
export const readAll = (pageSize: number) =>
  Effect.gen(function*() {
    const store = yield* EventStore
    const start = now()
    let events = 0
    let from = 1
    for (;;) {
      const page = yield* store.readAll({ fromPosition: from, limit: pageSize })
      events += page.length
      const last = page[page.length - 1]
      if (page.length < pageSize || last === undefined) break
      from = last.position + 1
    }
    const seconds = secondsSince(start)
    return { events, seconds, eventsPerSecond: events / seconds }
  }).pipe(Effect.orDie)

export interface LoadOptions {
  readonly events: number
  readonly accounts: number
  /** Events per append. */
  readonly chunk: number
  /** Accounts written concurrently. */
  readonly writers: number
}

/** Writes `events` as AccountOpened + fills over `accounts` streams, in multi-event appends. */
export const load = (options: LoadOptions, progress: (written: number) => void) =>
  Effect.gen(function*() {
    const store = yield* EventStore
    const at = DateTime.unsafeNow()
    const perAccount = Math.ceil(options.events / options.accounts)
    let written = 0
    let reported = 0
    const start = now()
    yield* Effect.forEach(Arr.range(1, options.accounts), () =>
      Effect.gen(function*() {
        const account = newAccount()
        let version = 0
        while (version < perAccount) {
          const n = Math.min(options.chunk, perAccount - version)
          const encoded = Arr.makeBy(n, (i) => version + i === 0 ? opened(account, at) : trade(account, version + i, at, false))
          version = (yield* store.appendEvents(account.streamId, version, envelopes(account, encoded))).nextVersion
          written += n
          if (written - reported >= 100_000) {
            reported = written
            progress(written)
          }
        }
      }), { concurrency: options.writers, discard: true })
    const seconds = secondsSince(start)
    return { events: written, seconds, eventsPerSecond: written / seconds }
  }).pipe(Effect.orDie)

export type ReplayFold = "account" | "portfolio"

/** Events decoded and folded between two turns of the event loop. */
const BREATHE_EVERY = 500

/**
 * One turn of the event loop (setImmediate runs after its I/O), so that the read of the next page
 * can start and its rows arrive while this page is decoded: a forked fiber runs, and a socket is
 * read, only once the decoding loop gives way, and a plain Effect yield gives way to microtasks
 * only. Without it, the next page was sent only once this one had been folded.
 */
const breathe = Effect.async<void>((resume) => {
  setImmediate(() => resume(Effect.void))
})

/** One event into an account's state: the decider's own evolve (what loading an aggregate does), or the portfolio read model's. */
const evolvers: Record<ReplayFold, { readonly initial: unknown; readonly evolve: (state: unknown, event: AccountEvent) => unknown }> = {
  account: { initial: TradingAccount.initialState, evolve: TradingAccount.evolve as (state: unknown, event: AccountEvent) => unknown },
  portfolio: { initial: Portfolio.empty, evolve: Portfolio.evolve as (state: unknown, event: AccountEvent) => unknown }
}

/**
 * readAll (one page read ahead while the current one is decoded and folded) + codec decode + fold
 * per account, from position 1 until the log ends or `limit` events. Each event is folded as soon
 * as it is decoded, as a streaming replay would: a page of decoded events kept until the fold
 * would survive the young generation and cost more in the garbage collector than the decoding.
 * Times each stage (decode and fold per event, with the clock read around each).
 */
export const replay = (options: { readonly pageSize: number; readonly fold: ReplayFold; readonly limit?: number }) =>
  Effect.gen(function*() {
    const store = yield* EventStore
    const states = new Map<string, unknown>()
    const { initial, evolve } = evolvers[options.fold]
    const limit = options.limit ?? Number.POSITIVE_INFINITY
    const fetch = (from: number) => Effect.fork(store.readAll({ fromPosition: from, limit: Math.min(options.pageSize, limit) }))
    let waitMillis = 0
    let decodeMillis = 0
    let foldMillis = 0
    let events = 0
    const start = now()
    let next = yield* fetch(1)
    for (;;) {
      const t0 = performance.now()
      const page: ReadonlyArray<RecordedEvent> = yield* Fiber.join(next)
      let clock = performance.now()
      waitMillis += clock - t0
      const last = page[page.length - 1]
      const more = last !== undefined && page.length === options.pageSize && events + page.length < limit
      if (more) next = yield* fetch(last.position + 1)
      for (let i = 0; i < page.length; i++) {
        if (i % BREATHE_EVERY === 0) {
          yield* breathe
          const resumed = performance.now()
          waitMillis += resumed - clock
          clock = resumed
        }
        const e = page[i]!
        const event = Accounts.codec.decode(e.type, e.schemaVersion, e.data)
        const decoded = performance.now()
        states.set(e.aggregateId, evolve(states.get(e.aggregateId) ?? initial, event))
        const folded = performance.now()
        decodeMillis += decoded - clock
        foldMillis += folded - decoded
        clock = folded
      }
      events += page.length
      if (!more) break
    }
    const seconds = secondsSince(start)
    const perEvent = (millis: number) => millis * 1e3 / Math.max(1, events)
    return {
      events, seconds, accounts: states.size, fold: options.fold,
      eventsPerMinute: events / seconds * 60,
      readWaitMicros: perEvent(waitMillis), decodeMicros: perEvent(decodeMillis), foldMicros: perEvent(foldMillis)
    }
  }).pipe(Effect.orDie)
