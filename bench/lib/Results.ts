import type { Percentiles } from "./Histogram.js"

/** The figures of a run, by dotted key (`store.append.postgres.events_per_s`); numbers, with a few notes and arrays. */
export type Results = Record<string, unknown>

export const num = (results: Results, key: string): number | undefined => {
  const v = results[key]
  return typeof v === "number" && Number.isFinite(v) ? v : undefined
}

/** `<prefix>.p50_ms` … `<prefix>.max_ms` from a histogram's percentiles. */
export const putLatency = (results: Results, prefix: string, l: Percentiles) => {
  results[`${prefix}.p50_ms`] = l.p50
  results[`${prefix}.p95_ms`] = l.p95
  results[`${prefix}.p99_ms`] = l.p99
  results[`${prefix}.p999_ms`] = l.p999
  results[`${prefix}.max_ms`] = l.max
}
