import { cpus } from "node:os"

export interface Latency {
  readonly count: number
  readonly p50: number
  readonly p99: number
  readonly max: number
}

/** Nearest-rank percentiles of latencies in milliseconds. */
export const summarize = (millis: ArrayLike<number>): Latency => {
  const sorted = Float64Array.from(millis).sort()
  const n = sorted.length
  const at = (p: number) => n === 0 ? Number.NaN : sorted[Math.min(n - 1, Math.max(0, Math.ceil(p * n) - 1))]!
  return { count: n, p50: at(0.5), p99: at(0.99), max: n === 0 ? Number.NaN : sorted[n - 1]! }
}

export const now = () => process.hrtime.bigint()
export const secondsSince = (start: bigint, end: bigint = now()) => Number(end - start) / 1e9
export const millisSince = (start: bigint, end: bigint = now()) => Number(end - start) / 1e6

interface CpuMark {
  readonly at: bigint
  readonly busy: number
  readonly total: number
  readonly process: NodeJS.CpuUsage
}

const machineTimes = () =>
  cpus().reduce((acc, c) => {
    const { user, nice, sys, irq, idle } = c.times
    return { busy: acc.busy + user + nice + sys + irq, total: acc.total + user + nice + sys + irq + idle }
  }, { busy: 0, total: 0 })

export const cpuMark = (): CpuMark => ({ at: now(), ...machineTimes(), process: process.cpuUsage() })

/** Since a mark: the machine's busy share of all cores, and how many cores this process kept busy. */
export const cpuSince = (mark: CpuMark) => {
  const m = machineTimes()
  const used = process.cpuUsage(mark.process)
  const wall = secondsSince(mark.at)
  return {
    machineBusy: (m.busy - mark.busy) / Math.max(1, m.total - mark.total),
    nodeCores: (used.user + used.system) / 1e6 / wall
  }
}

const cell = (v: unknown, digits = 0) =>
  typeof v === "number" ? (Number.isFinite(v) ? v.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits }) : "-") : String(v ?? "-")

/** A plain-text table; numbers right-aligned with `digits[i]` decimals. */
export const table = (headers: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<unknown>>, digits: ReadonlyArray<number> = []) => {
  const text = rows.map((r) => r.map((v, i) => cell(v, digits[i] ?? 0)))
  const widths = headers.map((h, i) => Math.max(h.length, ...text.map((r) => r[i]?.length ?? 0)))
  const line = (cells: ReadonlyArray<string>) =>
    cells.map((c, i) => i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)).join("  ")
  return [line(headers), widths.map((w) => "-".repeat(w)).join("  "), ...text.map(line)].join("\n")
}
