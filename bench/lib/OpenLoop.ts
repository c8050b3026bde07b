import * as Histogram from "./Histogram.js"

/**
 * Open-loop load: arrival `i` is due at `t0 + i / rate` whatever happened to the earlier ones, and
 * its latency runs from that due time, not from when it was sent. A system that falls behind
 * therefore shows its queue in the latencies instead of slowing the generator down (no coordinated
 * omission); a generator that falls behind (a busy event loop) is charged to the system too.
 *
 * The generator sleeps on timers. A timer wakes to the millisecond at best, so an arrival may go
 * out up to EARLY_MS before it is due, and its latency then runs from when it went out. Spinning on
 * `setImmediate` up to the due time instead cost the process a tenth of a core at 100 arrivals/s,
 * and 170 KB of garbage an arrival: scavenges that the system under test paid for in its tail
 * when it shares the process (the in-process command scenario) and CPU when it shares the machine.
 */
export interface OpenLoopOptions {
  /** Arrivals per second. */
  readonly rate: number
  /** Arrivals in this first stretch are sent but not counted. */
  readonly warmupSeconds: number
  /** The measured window, after the warm-up. */
  readonly seconds: number
  /** Arrivals beyond this many outstanding requests are dropped and counted as such. */
  readonly maxInFlight: number
  /** How long to wait after the last arrival for the counted ones still outstanding (default 10 s). */
  readonly drainSeconds?: number
  /** Called about once a second while it runs. */
  readonly onProgress?: (progress: Progress) => void
}

export interface Progress {
  readonly rate: number
  readonly elapsedSeconds: number
  readonly totalSeconds: number
  readonly sent: number
  readonly ok: number
  readonly failed: number
  readonly dropped: number
  readonly inFlight: number
  /** Of the counted arrivals completed so far. */
  readonly p99: number
}

export interface OpenLoopResult {
  readonly offeredRate: number
  /** Successful completions inside the window, per second of the window. */
  readonly achievedRate: number
  /** Arrivals due inside the window (the counted ones). */
  readonly arrivals: number
  readonly ok: number
  readonly failed: number
  readonly dropped: number
  /** Counted arrivals still outstanding when the drain ran out; their latency so far is recorded. */
  readonly unfinished: number
  /** From the due time to the successful completion, counted arrivals only. */
  readonly latency: Histogram.Percentiles
  /** How late the generator sent counted arrivals (ms, P99): its own share of the latency. */
  readonly sendLagP99: number
  readonly seconds: number
  /** Resolves once nothing this run sent is outstanding any more (counted or not). */
  readonly settled: Promise<void>
}

/** How long before its due time an arrival may go out (see above). */
export const EARLY_MS = 1

/**
 * Sends arrivals on schedule. `send(i)` resolves true for a success, false (or rejects) for a
 * failure; failures are counted, not timed.
 */
export const run = (options: OpenLoopOptions, send: (i: number) => Promise<boolean>): Promise<OpenLoopResult> =>
  new Promise((resolve) => {
    const interval = 1000 / options.rate
    const warmup = Math.round(options.warmupSeconds * options.rate)
    const total = warmup + Math.max(1, Math.round(options.seconds * options.rate))
    const t0 = performance.now() + 2
    const due = (i: number) => t0 + i * interval
    const windowStart = due(warmup)
    const windowEnd = due(total)
    const latency = Histogram.make()
    const lag = Histogram.make()
    const outstanding = new Map<number, number>()
    let next = 0
    let inFlight = 0
    let ok = 0
    let failed = 0
    let dropped = 0
    let okInWindow = 0
    let finished = false
    let timer: ReturnType<typeof setTimeout> | undefined
    let drain: ReturnType<typeof setTimeout> | undefined
    let idle: () => void = () => {}
    const settled = new Promise<void>((resolve) => {
      idle = resolve
    })

    const progress = options.onProgress === undefined ? undefined : setInterval(() => {
      options.onProgress!({
        rate: options.rate, elapsedSeconds: (performance.now() - t0) / 1000, totalSeconds: (windowEnd - t0) / 1000,
        sent: next, ok, failed, dropped, inFlight, p99: latency.summary().p99
      })
    }, 1000)

    const finish = () => {
      if (finished) return
      finished = true
      if (progress !== undefined) clearInterval(progress)
      if (timer !== undefined) clearTimeout(timer)
      if (drain !== undefined) clearTimeout(drain)
      const now = performance.now()
      for (const at of outstanding.values()) latency.recordMillis(now - at)
      const seconds = (windowEnd - windowStart) / 1000
      if (inFlight === 0) idle()
      resolve({
        offeredRate: options.rate, achievedRate: okInWindow / seconds, arrivals: total - warmup, ok, failed, dropped,
        unfinished: outstanding.size, latency: latency.summary(), sendLagP99: lag.summary().p99, seconds, settled
      })
    }

    const complete = (i: number, at: number, counted: boolean, good: boolean) => {
      inFlight -= 1
      if (finished) {
        if (inFlight === 0) idle()
        return
      }
      const now = performance.now()
      if (good && now >= windowStart && now < windowEnd) okInWindow += 1
      if (!counted) return
      outstanding.delete(i)
      if (good) {
        ok += 1
        latency.recordMillis(now - at)
      } else {
        failed += 1
      }
      if (next >= total && outstanding.size === 0) finish()
    }

    const launch = (i: number) => {
      const now = performance.now()
      // from the due time, or from now for an arrival that goes out early
      const at = Math.max(due(i), now)
      const counted = i >= warmup
      if (inFlight >= options.maxInFlight) {
        if (counted) dropped += 1
        return
      }
      inFlight += 1
      if (counted) {
        lag.recordMillis(Math.max(0, now - due(i)))
        outstanding.set(i, at)
      }
      let sent: Promise<boolean>
      try {
        sent = send(i)
      } catch (e) {
        sent = Promise.reject(e)
      }
      sent.then((good) => complete(i, at, counted, good), () => complete(i, at, counted, false))
    }

    const tick = () => {
      timer = undefined
      const now = performance.now()
      while (next < total && due(next) <= now + EARLY_MS) launch(next++)
      if (next >= total) {
        if (outstanding.size === 0) finish()
        else drain = setTimeout(finish, (options.drainSeconds ?? 10) * 1000)
        return
      }
      // asleep until the next arrival may go out (a timer of 0 waits about a millisecond)
      timer = setTimeout(tick, Math.max(0, due(next) - EARLY_MS - performance.now()))
    }
    tick()
  })

export interface Step extends OpenLoopResult {
  readonly pass: boolean
}

export interface SearchOptions {
  /** Offered rates, rising; the search stops at the first that fails. */
  readonly rates: ReadonlyArray<number>
  /** Rates tried between the last pass and the first failure, halving the gap each time. */
  readonly refine: number
  readonly passes: (result: OpenLoopResult) => boolean
  /**
   * After the first miss, go on stepping up while this holds (the system still keeps up, only
   * slower than the bound), so the steps also show its capacity.
   */
  readonly keepsUp?: (result: OpenLoopResult) => boolean
  readonly onStep?: (step: Step) => void
  readonly settleSeconds: number
}

/** Waits until a run has nothing outstanding, at most `seconds`. */
export const settle = (result: OpenLoopResult | undefined, seconds: number) =>
  result === undefined
    ? Promise.resolve()
    : Promise.race([result.settled, new Promise<void>((resolve) => setTimeout(resolve, seconds * 1000).unref())])

/**
 * The highest offered rate that passes, stepping up from the lowest and refining near the edge.
 * A miss does not end the steps while the system still keeps up (so they also show its capacity),
 * and a pass above a miss counts: the figure is the highest rate whose step met the SLO, and every
 * step, missed or not, is returned. The refinement tries rates between that pass and the first
 * miss above it. Each step starts once the previous one has nothing outstanding (at most
 * `settleSeconds`), and so does whatever follows the search.
 */
export const search = async (options: SearchOptions, runAt: (rate: number) => Promise<OpenLoopResult>) => {
  const steps: Array<Step> = []
  const attempt = async (rate: number) => {
    await settle(steps[steps.length - 1], options.settleSeconds)
    const result = await runAt(rate)
    const step = { ...result, pass: options.passes(result) }
    steps.push(step)
    options.onStep?.(step)
    return step
  }
  let best: Step | undefined
  for (const rate of options.rates) {
    const step = await attempt(rate)
    if (step.pass) best = step
    else if (!(options.keepsUp?.(step) ?? false)) break
  }
  const missAbove = (rate: number) => Math.min(...steps.filter((s) => !s.pass && s.offeredRate > rate).map((s) => s.offeredRate))
  let failedAt = best === undefined ? Number.POSITIVE_INFINITY : missAbove(best.offeredRate)
  for (let i = 0; i < options.refine && best !== undefined && Number.isFinite(failedAt); i++) {
    const rate = Math.round((best.offeredRate + failedAt) / 2)
    if (rate <= best.offeredRate || rate >= failedAt) break
    const step = await attempt(rate)
    if (step.pass) best = step
    else failedAt = rate
  }
  await settle(steps[steps.length - 1], options.settleSeconds)
  return { best, steps }
}

/** Keeping up: at most 0.1 % of the counted arrivals failed, dropped or unfinished, and ≥ 95 % of the offered rate achieved. */
export const keepsUp = (r: OpenLoopResult) =>
  r.failed + r.dropped + r.unfinished <= 0.001 * r.arrivals && r.achievedRate >= 0.95 * r.offeredRate

/**
 * The common pass rule: P99 under the bound, at most 0.1 % of the counted arrivals failed, dropped
 * or unfinished, and at least 95 % of the offered rate completed inside the window.
 */
export const slo = (p99Millis: number) => (r: OpenLoopResult) => r.latency.p99 < p99Millis && keepsUp(r)
