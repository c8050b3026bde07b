import { Effect } from "effect"
import * as OpenLoop from "./OpenLoop.js"
import * as Progress from "./Progress.js"
import { putLatency, type Results } from "./Results.js"
import { cpuMark, cpuSince } from "./Stats.js"

const { f } = Progress

/** The latency bound of the service-level figures: the highest offered rate whose P99 stays under it. */
export const P99_BOUND_MS = 10

export interface StepOptions {
  readonly label: string
  readonly rates: ReadonlyArray<number>
  readonly refine: number
  readonly warmupSeconds: number
  readonly seconds: number
  readonly maxInFlight: number
  readonly drainSeconds: number
}

export interface Measured extends OpenLoop.Step {
  readonly machineBusy: number
  readonly nodeCores: number
}

export const describe = (r: OpenLoop.OpenLoopResult) =>
  `${f(r.achievedRate)}/s achieved, p50 ${f(r.latency.p50, 2)} ms, p99 ${f(r.latency.p99, 2)} ms, p99.9 ${f(r.latency.p999, 2)} ms, ` +
  `max ${f(r.latency.max, 1)} ms` +
  (r.failed + r.dropped + r.unfinished > 0 ? `; ${f(r.failed)} failed, ${f(r.dropped)} dropped, ${f(r.unfinished)} unfinished` : "") +
  `; generator lag p99 ${f(r.sendLagP99, 2)} ms`

/**
 * Open-loop steps at rising offered rates, on while the system keeps up (for its capacity), then a
 * few rates between the highest pass and the first miss above it; the figure is the highest rate
 * whose step met the SLO (P99 under 10 ms, ≤ 0.1 % errors, ≥ 95 % of the offered rate achieved).
 * A pause between steps (a second in the full run) lets a missed step's backlog drain.
 */
export const findRate = (options: StepOptions, send: (i: number) => Promise<boolean>) =>
  Effect.promise(async () => {
    const usage = new Map<number, ReturnType<typeof cpuSince>>()
    // the process's own warm-up (JIT, and the garbage of the set-up collected), not counted: the
    // first step would otherwise pay for it
    const warmupRate = options.rates[0]!
    Progress.status(`${options.label}: warming up at ${f(warmupRate)}/s for ${f(options.warmupSeconds * 3, 1)} s (not counted)`)
    await OpenLoop.run({
      rate: warmupRate, warmupSeconds: options.warmupSeconds * 3, seconds: 0, maxInFlight: options.maxInFlight, drainSeconds: options.drainSeconds
    }, send)
    const search = await OpenLoop.search({
      rates: options.rates,
      refine: options.refine,
      passes: OpenLoop.slo(P99_BOUND_MS),
      keepsUp: OpenLoop.keepsUp,
      settleSeconds: options.drainSeconds * 3,
      onStep: (step) => Progress.line(`${options.label} @ ${f(step.offeredRate)}/s offered: ${step.pass ? "PASS" : "MISS"}, ${describe(step)}` +
        `; machine CPU ${f((usage.get(step.offeredRate)?.machineBusy ?? Number.NaN) * 100)}%`)
    }, async (rate) => {
      await new Promise((resolve) => setTimeout(resolve, Math.min(1000, options.drainSeconds * 500)))
      Progress.status(`${options.label} @ ${f(rate)}/s offered: warming up`)
      const mark = cpuMark()
      const result = await OpenLoop.run({
        rate, warmupSeconds: options.warmupSeconds, seconds: options.seconds, maxInFlight: options.maxInFlight,
        drainSeconds: options.drainSeconds,
        onProgress: (p) => Progress.status(`${options.label} @ ${f(rate)}/s offered: ${f(p.elapsedSeconds, 1)}/${f(p.totalSeconds, 1)} s, ` +
          `sent ${f(p.sent)}, ok ${f(p.ok)}, failed ${f(p.failed)}, in flight ${f(p.inFlight)}, p99 so far ${f(p.p99, 2)} ms`)
      }, send)
      usage.set(rate, cpuSince(mark))
      return result
    })
    const steps: Array<Measured> = search.steps.map((s) => ({ ...s, ...usage.get(s.offeredRate)! }))
    const best = search.best === undefined ? undefined : steps.find((s) => s.offeredRate === search.best!.offeredRate)
    return { best, steps }
  })

/**
 * `<prefix>.<rateKey>` and its percentiles: the highest passing step, or, when none passed, the
 * step that achieved most (with `<prefix>.slo_met` 0, so the figure is never taken for a pass).
 */
export const put = (results: Results, prefix: string, rateKey: string, found: { best: Measured | undefined; steps: ReadonlyArray<Measured> }) => {
  const shown = found.best ?? [...found.steps].sort((a, b) => b.achievedRate - a.achievedRate)[0]
  if (shown === undefined) return
  results[`${prefix}.${rateKey}`] = shown.achievedRate
  putLatency(results, prefix, shown.latency)
  results[`${prefix}.offered_per_s`] = shown.offeredRate
  results[`${prefix}.slo_met`] = found.best === undefined ? 0 : 1
  results[`${prefix}.machine_cpu_busy`] = shown.machineBusy
  // throughput whatever the latency: the most any step completed per second
  const most = [...found.steps].sort((a, b) => b.achievedRate - a.achievedRate)[0]!
  results[`${prefix}.capacity_per_s`] = most.achievedRate
  results[`${prefix}.capacity_p99_ms`] = most.latency.p99
  results[`${prefix}.capacity_machine_cpu_busy`] = most.machineBusy
  results[`${prefix}.steps`] = found.steps.map((s) => ({
    offered_per_s: s.offeredRate, achieved_per_s: s.achievedRate, pass: s.pass, p50_ms: s.latency.p50, p99_ms: s.latency.p99,
    p999_ms: s.latency.p999, max_ms: s.latency.max, failed: s.failed, dropped: s.dropped, unfinished: s.unfinished,
    generator_lag_p99_ms: s.sendLagP99, machine_cpu_busy: s.machineBusy
  }))
}
