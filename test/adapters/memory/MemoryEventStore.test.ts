import { describe, expect, it } from "@effect/vitest"
import { DateTime, Effect, Exit, Layer, Option } from "effect"
import * as Memory from "../../../src/adapters/memory/index.js"
import { MemoryEventStore, MemorySnapshotStore } from "../../../src/adapters/memory/index.js"
import { ConcurrencyConflict, EventStore, type NewEvent } from "../../../src/application/ports/EventStore.js"
import { SnapshotStore } from "../../../src/application/ports/SnapshotStore.js"
import { eventStoreContract } from "../contract.js"

eventStoreContract("MemoryEventStore + MemorySnapshotStore", () => Layer.merge(MemoryEventStore.layer, MemorySnapshotStore.layer))

const opened: NewEvent = {
  eventId: "e0000000-0000-7000-8000-000000000001",
  type: "AccountOpened",
  schemaVersion: 1,
  timestamp: DateTime.unsafeMake("2025-03-03T09:30:00.000Z"),
  data: new TextEncoder().encode(JSON.stringify({ currency: "USD" })),
  metadata: {
    userId: "user-1",
    correlationId: "a0000000-0000-7000-8000-000000000001",
    causationId: "b0000000-0000-7000-8000-000000000001",
    commandId: "c0000000-0000-7000-8000-000000000001"
  }
}

describe("memory adapters", () => {
  it.effect("give a fresh, empty store each time the layer is built", () =>
    Effect.gen(function*() {
      const appended = yield* Effect.flatMap(EventStore, (store) => store.appendEvents("acct-1", 0, [opened])).pipe(
        Effect.provide(MemoryEventStore.layer))
      expect(appended.nextVersion).toBe(1)
      const [log, stream] = yield* Effect.flatMap(EventStore, (store) =>
        Effect.all([store.readAll(), store.getEvents("acct-1")])).pipe(Effect.provide(MemoryEventStore.layer))
      expect(log).toEqual([])
      expect(stream).toEqual([])
    }))

  it.effect("an empty append checks the expected version and records nothing", () =>
    Effect.gen(function*() {
      const store = yield* EventStore
      expect(yield* store.appendEvents("acct-1", 0, [])).toEqual({ nextVersion: 0, events: [] })
      yield* store.appendEvents("acct-1", 0, [opened])
      expect(yield* store.appendEvents("acct-1", 1, [])).toEqual({ nextVersion: 1, events: [] })
      expect(yield* Effect.exit(store.appendEvents("acct-1", 0, []))).toEqual(
        Exit.fail(new ConcurrencyConflict({ aggregateId: "acct-1", expectedVersion: 0, actualVersion: 1 })))
      expect(yield* store.readAll()).toHaveLength(1)
    }).pipe(Effect.provide(MemoryEventStore.layer)))

  it.effect("the index layer provides both stores", () =>
    Effect.gen(function*() {
      const store = yield* EventStore
      const snapshots = yield* SnapshotStore
      expect((yield* store.appendEvents("acct-1", 0, [opened])).nextVersion).toBe(1)
      expect(yield* snapshots.load("acct-1")).toEqual(Option.none())
    }).pipe(Effect.provide(Memory.layer)))
})
