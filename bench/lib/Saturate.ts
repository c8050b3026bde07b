import { Array as Arr, Effect } from "effect"
import * as Histogram from "./Histogram.js"
import { cpuMark, cpuSince } from "./Stats.js"

/**
 * Closed-loop saturation, for ceilings (how many events a writer set can push): `workers` loops,
 * each starting its next operation when the previous one returns. The same driver runs our store,
 * the raw batched INSERT and the peer, so they differ only in what one operation does.
 */
export interface SaturateOptions {
  readonly workers: number
  readonly warmupSeconds: number
  readonly seconds: number
  /** Ends the window early once this many events were counted (bounds the memory store). */
  readonly maxEvents?: number
  /** Called about once a second with the events counted so far and the seconds measured. */
  readonly onProgress?: (events: number, seconds: number) => void
}

export interface SaturateResult {
  readonly events: number
  readonly operations: number
  readonly seconds: number
  readonly eventsPerSecond: number
  /** Of the operations completed inside the window (closed loop: each one's time under that load). */
  readonly latency: Histogram.Percentiles
  /** The machine's busy share of all cores over the window, and how many cores this process kept busy. */
  readonly machineBusy: number
  readonly nodeCores: number
}

/**
 * `worker(i)` prepares worker `i` (uncounted) and returns its operation, which resolves to the
 * number of events it wrote. Operations completed inside the window after the warm-up count. The
 * workers move the window themselves: against the memory store they never wait on I/O, so a timer
 * could starve behind them.
 */
export const saturate = <E, R>(
  options: SaturateOptions,
  worker: (i: number) => Effect.Effect<Effect.Effect<number, E, R>, E, R>
): Effect.Effect<SaturateResult, E, R> =>
  Effect.gen(function*() {
    const operations = yield* Effect.forEach(Arr.range(0, options.workers - 1), worker, { concurrency: 16 })
    const latency = Histogram.make()
    const startAt = performance.now() + options.warmupSeconds * 1000
    const endAt = startAt + options.seconds * 1000
    const maxEvents = options.maxEvents ?? Number.POSITIVE_INFINITY
    const window = { measuring: false, stopped: false, start: 0, end: 0 }
    let cpu = cpuMark()
    let usage = { machineBusy: Number.NaN, nodeCores: Number.NaN }
    let events = 0
    let ops = 0
    let reported = startAt

    const finish = (t: number) => {
      window.end = t
      window.stopped = true
      usage = cpuSince(cpu)
    }
    const loop = (operation: Effect.Effect<number, E, R>) =>
      Effect.gen(function*() {
        while (!window.stopped) {
          const t0 = performance.now()
          const n = yield* operation
          const t1 = performance.now()
          if (!window.measuring) {
            if (t1 >= startAt) {
              window.start = t1
              window.measuring = true
              cpu = cpuMark()
            }
          } else if (!window.stopped) {
            if (t1 > endAt) {
              finish(endAt)
            } else {
              events += n
              ops += 1
              latency.recordMillis(t1 - t0)
              if (events >= maxEvents) finish(t1)
              if (t1 - reported >= 1000) {
                reported = t1
                options.onProgress?.(events, (t1 - window.start) / 1000)
              }
            }
          }
        }
      })
    yield* Effect.forEach(operations, loop, { concurrency: "unbounded", discard: true })
    const seconds = (window.end - window.start) / 1000
    return { events, operations: ops, seconds, eventsPerSecond: events / seconds, latency: latency.summary(), ...usage }
  })
