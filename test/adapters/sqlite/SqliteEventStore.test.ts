import { describe, expect, it } from "@effect/vitest"
import { Context, DateTime, Effect, Layer, Queue, Stream } from "effect"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import * as SqliteEventStore from "../../../src/adapters/sqlite/SqliteEventStore.js"
import { EventStore, type NewEvent, type RecordedEvent } from "../../../src/application/ports/EventStore.js"
import { eventStoreContract } from "../contract.js"
import { twoProcessesOnOneAggregate } from "../twoProcesses.js"

/** A store on a new file in a temporary folder, removed with the layer. */
export const freshSqlite = <A, E, R>(f: (filename: string) => Layer.Layer<A, E, R>) =>
  Layer.unwrapScoped(Effect.map(
    Effect.acquireRelease(
      Effect.sync(() => mkdtempSync(join(tmpdir(), "ledgerline-"))),
      (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
    ),
    (dir) => f(join(dir, "events.db"))
  ))

eventStoreContract("SqliteEventStore", () => freshSqlite((filename) => SqliteEventStore.layer({ filename })))

describe("SqliteEventStore across processes", () => {
  it.live("two processes appending to one aggregate: each append lands once, versions dense, chain intact", () =>
    Effect.gen(function*() {
      const dir = yield* Effect.acquireRelease(
        Effect.sync(() => mkdtempSync(join(tmpdir(), "ledgerline-"))),
        (d) => Effect.sync(() => rmSync(d, { recursive: true, force: true }))
      )
      const filename = join(dir, "events.db")
      yield* twoProcessesOnOneAggregate("sqlite", filename).pipe(Effect.provide(SqliteEventStore.layer({ filename })))
    }).pipe(Effect.scoped), 60_000)
})

describe("SqliteEventStore subscribers in this process", () => {
  const newEvents = (n: number, user: string): Array<NewEvent> => Array.from({ length: n }, (_, i) => ({
    eventId: `${user}-${Date.now()}-${i}-${Math.random()}`, type: "Noted", schemaVersion: 1, timestamp: DateTime.unsafeMake(1_700_000_000_000 + i),
    data: new Uint8Array([i, 1, 2]), metadata: { userId: user, correlationId: "c", causationId: "c", commandId: `${user}-cmd` }
  }))

  it.live("get this store's commits from memory and another store's from the table: every position once, in order, as the table has them", () =>
    Effect.gen(function*() {
      const dir = yield* Effect.acquireRelease(
        Effect.sync(() => mkdtempSync(join(tmpdir(), "ledgerline-"))),
        (d) => Effect.sync(() => rmSync(d, { recursive: true, force: true }))
      )
      const filename = join(dir, "events.db")
      // two stores on one file, as two processes would have: each remembers only its own commits
      const mine = yield* Layer.build(SqliteEventStore.layer({ filename })).pipe(Effect.map(Context.get(EventStore)))
      const theirs = yield* Layer.build(SqliteEventStore.layer({ filename })).pipe(Effect.map(Context.get(EventStore)))
      const received = yield* Queue.unbounded<RecordedEvent>()
      yield* mine.subscribe(1).pipe(Stream.runForEach((e) => Queue.offer(received, e)), Effect.forkScoped)
      let versions = { mine: 0, theirs: 0 }
      for (let round = 0; round < 20; round++) {
        versions = { ...versions, mine: (yield* mine.appendEvents("stream-mine", versions.mine, newEvents(1 + (round % 3), "mine"))).nextVersion }
        if (round % 2 === 0) {
          versions = { ...versions, theirs: (yield* theirs.appendEvents("stream-theirs", versions.theirs, newEvents(2, "theirs"))).nextVersion }
        }
      }
      const total = versions.mine + versions.theirs
      const delivered: Array<RecordedEvent> = []
      while (delivered.length < total) delivered.push(yield* Queue.take(received).pipe(Effect.timeoutFail({ duration: "10 seconds", onTimeout: () => new Error(`only ${delivered.length} of ${total} delivered`) })))
      expect(delivered.map((e) => e.position)).toEqual(Array.from({ length: total }, (_, i) => i + 1))
      // what a subscriber got from memory is exactly what the table gives back
      const table = yield* theirs.readAll({ limit: total })
      expect(delivered.map((e) => ({ ...e, data: Array.from(e.data) }))).toEqual(table.map((e) => ({ ...e, data: Array.from(e.data) })))
      expect(delivered.filter((e) => e.metadata.userId === "theirs")).toHaveLength(versions.theirs)
    }).pipe(Effect.scoped), 60_000)
})
