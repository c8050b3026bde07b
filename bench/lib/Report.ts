import { f } from "./Progress.js"
import { num, type Results } from "./Results.js"
import { table } from "./Stats.js"

/** A target of the issue, judged on a run's figures: undefined `pass` when the figures are missing. */
export interface Verdict {
  readonly target: string
  readonly value: string
  readonly pass: boolean | undefined
}

const judge = (target: string, values: ReadonlyArray<number | undefined>, show: (...v: Array<number>) => string, ok: (...v: Array<number>) => boolean): Verdict => {
  if (values.some((v) => v === undefined)) return { target, value: "not measured", pass: undefined }
  const v = values as Array<number>
  return { target, value: show(...v), pass: ok(...v) }
}

export const verdicts = (r: Results): ReadonlyArray<Verdict> => [
  judge("command.postgres.trades_per_s ≥ 50,000", [num(r, "command.postgres.trades_per_s"), num(r, "command.postgres.slo_met")],
    (x, met) => `${f(x)}/s${met === 1 ? "" : " (no rate met the P99 bound)"}`, (x, met) => met === 1 && x >= 50_000),
  judge("command.postgres.p99_ms < 10 at that rate", [num(r, "command.postgres.p99_ms")], (x) => `${f(x, 2)} ms`, (x) => x < 10),
  judge("command.postgres.trades_per_s ≥ 0.5 × store.raw_pg_batch.events_per_s",
    [num(r, "command.postgres.trades_per_s"), num(r, "store.raw_pg_batch.events_per_s"), num(r, "command.postgres.slo_met")],
    (c, raw) => `${f(c / raw, 3)} × (${f(c)} / ${f(raw)})`, (c, raw, met) => met === 1 && c >= 0.5 * raw),
  judge("store.append.postgres ≥ 10 × peer.emmett_pg (events/s)",
    [num(r, "store.append.postgres.events_per_s"), num(r, "peer.emmett_pg.events_per_s")],
    (a, p) => `${f(a / p, 2)} × (${f(a)} / ${f(p)})`, (a, p) => a >= 10 * p),
  judge("replay.events_per_min ≥ 10,000,000", [num(r, "replay.events_per_min")], (x) => `${f(x)}/min`, (x) => x >= 10_000_000),
  judge("query.portfolio.p95_ms < 5", [num(r, "query.portfolio.p95_ms")],
    (x) => `${f(x, 2)} ms (cache: ${String(r["query.portfolio.cache"] ?? "?")})`, (x) => x < 5),
  judge("event.bytes_avg < 300", [num(r, "event.bytes_avg")], (x) => `${f(x, 1)} B`, (x) => x < 300),
  judge("http.orders.trades_per_s ≥ 10,000", [num(r, "http.orders.trades_per_s"), num(r, "http.orders.slo_met")],
    (x, met) => `${f(x)}/s${met === 1 ? "" : " (no rate met the P99 bound)"}`, (x, met) => met === 1 && x >= 10_000),
  judge("http.orders.p99_ms < 10 at that rate", [num(r, "http.orders.p99_ms")], (x) => `${f(x, 2)} ms`, (x) => x < 10)
]

const verdictText = (pass: boolean | undefined) => (pass === undefined ? "-" : pass ? "PASS" : "FAIL")

const ms = (x: number | undefined) => (x === undefined ? "-" : f(x, 2))

/** One row per figure: value, unit, latency percentiles where it has them, the machine's CPU while measured. */
const figureRows = (r: Results): ReadonlyArray<ReadonlyArray<string>> => {
  const row = (figure: string, key: string, unit: string, prefix?: string, cpuKey = `${key.split(".").slice(0, -1).join(".")}.machine_cpu_busy`) => {
    const value = num(r, key)
    if (value === undefined) return undefined
    const p = (q: string) => ms(prefix === undefined ? undefined : num(r, `${prefix}.${q}_ms`))
    const cpu = num(r, cpuKey)
    return [
      figure, f(value, unit.startsWith("ms") ? 2 : unit.startsWith("B") ? 1 : 0), unit,
      p("p50"), p("p95"), p("p99"), p("p999"), p("max"), cpu === undefined ? "-" : `${f(cpu * 100)}%`
    ]
  }
  const at = (prefix: string) => {
    const offered = num(r, `${prefix}.offered_per_s`)
    return `${prefix} @ ${offered === undefined ? "?" : f(offered)}/s offered${num(r, `${prefix}.slo_met`) === 0 ? " (P99 bound missed)" : ""}`
  }
  return [
    row("store.append.memory", "store.append.memory.events_per_s", "events/s", "store.append.memory"),
    row("store.append.sqlite", "store.append.sqlite.events_per_s", "events/s", "store.append.sqlite"),
    row("store.append.postgres", "store.append.postgres.events_per_s", "events/s", "store.append.postgres"),
    row("store.raw_pg_batch (latency per batch)", "store.raw_pg_batch.events_per_s", "events/s", "store.raw_pg_batch.batch"),
    row("peer.emmett_pg", "peer.emmett_pg.events_per_s", "events/s", "peer.emmett_pg"),
    row(at("command.sqlite"), "command.sqlite.trades_per_s", "trades/s", "command.sqlite"),
    row("command.sqlite capacity (any latency)", "command.sqlite.capacity_per_s", "trades/s", undefined, "command.sqlite.capacity_machine_cpu_busy"),
    row(at("command.postgres"), "command.postgres.trades_per_s", "trades/s", "command.postgres"),
    row("command.postgres capacity (any latency)", "command.postgres.capacity_per_s", "trades/s", undefined, "command.postgres.capacity_machine_cpu_busy"),
    row(at("http.orders"), "http.orders.trades_per_s", "trades/s", "http.orders"),
    row("http.orders capacity (any latency)", "http.orders.capacity_per_s", "trades/s", undefined, "http.orders.capacity_machine_cpu_busy"),
    row("http.health", "http.health.requests_per_s", "requests/s", "http.health"),
    row("query.portfolio.read_model (GET, no cache)", "query.portfolio.read_model.p95_ms", "ms (p95)", "query.portfolio.read_model"),
    row("query.portfolio.redis (GET, Redis cache)", "query.portfolio.redis.p95_ms", "ms (p95)", "query.portfolio.redis"),
    row("replay.events_per_min (readAll + fold)", "replay.events_per_min", "events/min"),
    row("event.bytes_avg", "event.bytes_avg", "B/event"),
    row("event.bytes_avg_with_indexes", "event.bytes_avg_with_indexes", "B/event")
  ].filter((x): x is NonNullable<typeof x> => x !== undefined)
}

const FIGURE_HEADERS = ["figure", "value", "unit", "p50 ms", "p95 ms", "p99 ms", "p99.9 ms", "max ms", "machine CPU"]
const TARGET_HEADERS = ["target", "measured", "result"]
const verdictRows = (r: Results) => verdicts(r).map((v) => [v.target, v.value, verdictText(v.pass)])

/** The figures and the targets as plain-text tables. */
export const text = (r: Results): string =>
  `${table(FIGURE_HEADERS, figureRows(r))}\n\n${table(TARGET_HEADERS, verdictRows(r))}`

/** `left`: the columns of words, aligned left; the figures are aligned right. */
const markdownTable = (headers: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string>>, left: ReadonlyArray<number>) =>
  [headers, headers.map((_, i) => (left.includes(i) ? "---" : "---:")), ...rows].map((cells) => `| ${cells.join(" | ")} |`).join("\n")

/** The same tables in Markdown, for docs/benchmarks.md. */
export const markdown = (r: Results): string =>
  `${markdownTable(FIGURE_HEADERS, figureRows(r), [0, 2])}\n\n${markdownTable(TARGET_HEADERS, verdictRows(r), [0, 2])}`
