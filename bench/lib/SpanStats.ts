import { Effect, Tracer } from "effect"

interface Totals {
  count: number
  nanos: bigint
}

/**
 * Where a SQL store's group commit spends its time, from the spans @effect/sql already makes: one
 * `sql.transaction` per batch (with a commit event) and one `sql.execute` per statement. It wraps
 * the current tracer, so the adapters run unchanged; only spans started while `recording` count.
 */
export const make = Effect.map(Effect.tracer, (base) => {
  const totals = new Map<string, Totals>()
  let recording = false
  const add = (key: string, nanos: bigint) => {
    const t = totals.get(key) ?? { count: 0, nanos: 0n }
    t.count += 1
    t.nanos += nanos
    totals.set(key, t)
  }
  const statement = (text: unknown) => String(text ?? "?").replace(/\s+/g, " ").trim().slice(0, 48)
  /** A short name for the results file: the append transaction's statements by role, others by their first words. */
  const id = (key: string) => {
    const k = key.trim()
    if (k.startsWith("transaction")) return "batch"
    if (k.startsWith("COMMIT")) return "commit"
    if (k.startsWith("UPDATE event_head SET position = position")) return "lock_head"
    if (k.startsWith("UPDATE event_head")) return "update_head"
    if (k.startsWith("SELECT aggregate_id, MAX(version)")) return "version_check"
    if (k.startsWith("INSERT INTO events")) return "insert"
    return k.toLowerCase().replace(/[^a-z0-9]+/g, "_").split("_").filter((w) => w.length > 0).slice(0, 4).join("_")
  }

  const tracer = Tracer.make({
    context: (f, fiber) => base.context(f, fiber),
    span: (name, parent, context, links, startTime, kind, options) => {
      const span = base.span(name, parent, context, links, startTime, kind, options)
      if (!recording || (name !== "sql.transaction" && name !== "sql.execute")) return span
      const end = span.end.bind(span)
      const event = span.event.bind(span)
      let commitAt: bigint | undefined
      span.event = (eventName, time, attributes) => {
        if (eventName === "db.transaction.commit") commitAt = time
        event(eventName, time, attributes)
      }
      span.end = (endTime, exit) => {
        if (name === "sql.transaction") {
          add("transaction (whole batch)", endTime - startTime)
          if (commitAt !== undefined) add("  COMMIT (incl. WAL flush)", endTime - commitAt)
        } else {
          add(`  ${statement(span.attributes.get("db.query.text"))}`, endTime - startTime)
        }
        end(endTime, exit)
      }
      return span
    }
  })

  return {
    tracer,
    start: () => {
      totals.clear()
      recording = true
    },
    stop: () => {
      recording = false
    },
    /** Per span kind: a display key, a short id, how many, mean milliseconds and total seconds. */
    report: () =>
      [...totals.entries()].map(([key, t]) => ({
        key, id: id(key), count: t.count, meanMs: Number(t.nanos) / 1e6 / t.count, totalSeconds: Number(t.nanos) / 1e9
      }))
  }
})

export type SpanStats = Effect.Effect.Success<typeof make>
