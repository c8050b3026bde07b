/**
 * A second process for the two-writer tests: appends `count` events to one aggregate through the
 * given durable store, retrying on conflicts, and prints how many it appended and how many conflicts it met.
 * Usage: appender.ts <sqlite|postgres> <filename|url> <aggregateId> <count> <tag>
 */
import { DateTime, Effect, Layer, Redacted } from "effect"
import * as PgEventStore from "../../src/adapters/postgres/PgEventStore.js"
import * as SqliteEventStore from "../../src/adapters/sqlite/SqliteEventStore.js"
import { EventStore, type NewEvent } from "../../src/application/ports/EventStore.js"

export const appendMany = (aggregateId: string, count: number, tag: string) =>
  Effect.gen(function*() {
    const store = yield* EventStore
    let version = 0
    let conflicts = 0
    for (let i = 0; i < count; i++) {
      const id = `${tag}-${i}`
      const event: NewEvent = {
        eventId: `00000000-0000-7000-8000-${(tag === "child" ? 0x100000 + i : i).toString(16).padStart(12, "0")}`,
        type: "Counted",
        schemaVersion: 1,
        timestamp: DateTime.unsafeMake(Date.now()),
        data: new TextEncoder().encode(id),
        metadata: { userId: tag, correlationId: id, causationId: id, commandId: id }
      }
      for (;;) {
        const result = yield* Effect.either(store.appendEvents(aggregateId, version, [event]))
        if (result._tag === "Right") {
          version = result.right.nextVersion
          break
        }
        if (result.left._tag !== "ConcurrencyConflict") return yield* Effect.fail(result.left)
        conflicts++
        version = result.left.actualVersion
      }
    }
    return { appended: count, conflicts }
  })

const main = () => {
  const [kind, target, aggregateId, count, tag] = process.argv.slice(2)
  const store: Layer.Layer<EventStore, unknown> = kind === "postgres"
    ? PgEventStore.layer({ url: Redacted.make(target!), maxConnections: 2 })
    : SqliteEventStore.layer({ filename: target! })
  return appendMany(aggregateId!, Number(count), tag!).pipe(
    Effect.provide(store),
    Effect.tap((summary) => Effect.sync(() => console.log(JSON.stringify(summary)))),
    Effect.runPromise
  )
}

if (process.argv[1]?.endsWith("appender.ts")) {
  main().catch((error: unknown) => {
    console.error(error)
    process.exit(1)
  })
}
