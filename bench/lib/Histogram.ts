import * as hdr from "hdr-histogram-js"

/** Latency percentiles in milliseconds, read from an HDR histogram (3 significant digits). */
export interface Percentiles {
  readonly count: number
  readonly mean: number
  readonly p50: number
  readonly p90: number
  readonly p95: number
  readonly p99: number
  readonly p999: number
  readonly max: number
}

/**
 * An HDR histogram of latencies, kept in microseconds (1 µs to an hour, 3 significant digits, so a
 * percentile is within 0.1 % of the recorded value) and read back in milliseconds.
 */
export interface Latencies {
  readonly recordMillis: (ms: number) => void
  readonly count: () => number
  readonly summary: () => Percentiles
}

export const make = (): Latencies => {
  const h = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: 3 })
  return {
    recordMillis: (ms) => h.recordValue(Math.min(3_600_000_000, Math.max(1, Math.round(ms * 1000)))),
    count: () => h.totalCount,
    summary: () => {
      const n = h.totalCount
      const at = (p: number) => (n === 0 ? Number.NaN : h.getValueAtPercentile(p) / 1000)
      return {
        count: n, mean: n === 0 ? Number.NaN : h.mean / 1000,
        p50: at(50), p90: at(90), p95: at(95), p99: at(99), p999: at(99.9), max: n === 0 ? Number.NaN : h.maxValue / 1000
      }
    }
  }
}
