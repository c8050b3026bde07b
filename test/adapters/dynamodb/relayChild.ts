/**
 * The process the kill test SIGKILLs: `writers` fibers append without end to aggregates of their
 * own through the DynamoDB store (every fourth append 150 events, past one transaction's 100 items),
 * while its sequencer pauses before every sequencing transaction, so appends pile up in the outbox.
 * Prints one JSON line per acknowledged append: aggregate, first and last version, first and last position.
 * Usage: relayChild.ts <endpoint> <prefix> <writers>
 */
import { DateTime, Effect } from "effect"
import { randomUUID } from "node:crypto"
import type { DynamoApi } from "../../../src/adapters/dynamodb/DynamoClient.js"
import { EventStore, type NewEvent } from "../../../src/application/ports/EventStore.js"
import { storeLayer } from "./dynamoLocal.js"

/** True for the sequencer's transactions: they are the only ones that write the chain head. */
export const movesHead = (input: Parameters<DynamoApi["transactWriteItems"]>[0]) =>
  (input.TransactItems ?? []).some((item) => item.Update?.Key?.PK?.S === "head" || item.Put?.Item?.PK?.S === "head")

const slowSequencing = (api: DynamoApi): DynamoApi => ({
  ...api,
  transactWriteItems: (input) =>
    movesHead(input) ? Effect.zipRight(Effect.sleep("150 millis"), api.transactWriteItems(input)) : api.transactWriteItems(input)
})

const event = (writer: number, n: number): NewEvent => ({
  eventId: randomUUID(),
  type: n % 2 === 0 ? "Counted" : "Tallied",
  schemaVersion: 1,
  timestamp: DateTime.unsafeMake(Date.now()),
  data: new TextEncoder().encode(`writer ${writer} event ${n}`),
  metadata: { userId: "child", correlationId: randomUUID(), causationId: randomUUID(), commandId: randomUUID() }
})

const writer = (w: number) =>
  Effect.gen(function*() {
    const store = yield* EventStore
    let version = 0
    for (let i = 0; ; i++) {
      const count = i % 4 === 3 ? 150 : 1 + (i % 3)
      const { events } = yield* store.appendEvents(`writer-${w}`, version, Array.from({ length: count }, (_, k) => event(w, version + k + 1)))
      const first = events[0]!
      const last = events[events.length - 1]!
      version = last.version
      console.log(JSON.stringify({ aggregateId: first.aggregateId, versions: [first.version, last.version], positions: [first.position, last.position] }))
    }
  })

if (process.argv[1]?.endsWith("relayChild.ts")) {
  const [endpoint, prefix, writers] = process.argv.slice(2)
  Effect.all(Array.from({ length: Number(writers) }, (_, w) => writer(w)), { concurrency: "unbounded" }).pipe(
    Effect.provide(storeLayer(endpoint!, prefix!, {}, slowSequencing)),
    Effect.runPromise
  ).catch((error: unknown) => {
    console.error(error)
    process.exit(1)
  })
}
