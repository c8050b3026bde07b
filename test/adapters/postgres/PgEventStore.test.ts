import { describe, expect, it } from "@effect/vitest"
import { Context, DateTime, Effect, Layer, Redacted } from "effect"
import pg from "pg"
import * as PgEventStore from "../../../src/adapters/postgres/PgEventStore.js"
import { EventStore } from "../../../src/application/ports/EventStore.js"
import { eventStoreContract } from "../contract.js"
import { twoProcessesOnOneAggregate } from "../twoProcesses.js"
import { freshSchema, runPgSuites, withSchema } from "./pgTest.js"

describe.runIf(runPgSuites)("PostgreSQL", () => {
  eventStoreContract("PgEventStore", () => withSchema((url) => PgEventStore.layer({ url, maxConnections: 4 })))

  it.live("two processes appending to one aggregate: each append lands once, versions dense, chain intact", () =>
    Effect.gen(function*() {
      const { url } = yield* freshSchema
      yield* twoProcessesOnOneAggregate("postgres", Redacted.value(url)).pipe(Effect.provide(PgEventStore.layer({ url, maxConnections: 2 })))
    }).pipe(Effect.scoped), 60_000)

  it.live("reads the same events when the process parses int8 as bigint (as emmett-postgresql sets it, process-wide)", () =>
    Effect.gen(function*() {
      const { url } = yield* freshSchema
      const store = yield* Layer.build(PgEventStore.layer({ url, maxConnections: 2 })).pipe(Effect.map(Context.get(EventStore)))
      const at = DateTime.unsafeMake(1_767_225_600_123)
      yield* store.appendEvents("stream-int8", 0, [1, 2].map((i) => ({
        eventId: `0190a000-0000-7000-8000-00000000000${i}`, type: "Noted", schemaVersion: 1, timestamp: at, data: new Uint8Array([i]),
        metadata: { userId: "u", correlationId: "c", causationId: "c", commandId: "cmd" }
      })))
      const asText = yield* store.readAll()
      const previous = pg.types.getTypeParser(20, "text")
      yield* Effect.acquireRelease(
        Effect.sync(() => pg.types.setTypeParser(20, (v) => BigInt(v))),
        () => Effect.sync(() => pg.types.setTypeParser(20, previous))
      )
      const asBigInt = yield* store.readAll()
      expect(asBigInt.map((e) => [e.position, e.version, e.timestamp.epochMillis])).toEqual([[1, 1, at.epochMillis], [2, 2, at.epochMillis]])
      expect(asBigInt.map((e) => e.hash)).toEqual(asText.map((e) => e.hash))
      expect((yield* store.getEvents("stream-int8")).map((e) => e.timestamp.epochMillis)).toEqual([at.epochMillis, at.epochMillis])
    }).pipe(Effect.scoped), 60_000)
})
