import { describe, expect, it } from "@effect/vitest"
import { Array as Arr, Chunk, DateTime, Effect, Either, Exit, type Layer, Option, Queue, type Scope, Stream } from "effect"
import {
  CommandSeen, ConcurrencyConflict, type EventMetadata, EventStore, type EventPage, type NewEvent, type RecordedEvent
} from "../../src/application/ports/EventStore.js"
import { type Snapshot, SnapshotStore } from "../../src/application/ports/SnapshotStore.js"
import { GENESIS, link } from "../../src/application/HashChain.js"

type Stores = EventStore | SnapshotStore

/** UUID-shaped (kind is one hex digit), so adapters that keep ids in uuid columns accept them. */
const uuid = (kind: "a" | "b" | "c" | "d" | "e", n: number) =>
  `${kind}0000000-0000-7000-8000-${n.toString(16).padStart(12, "0")}`

const T = (iso: string) => DateTime.unsafeMake(iso)
const T0 = "2025-03-03T09:30:00.125Z"

interface EventSpec {
  readonly type?: string
  readonly at?: string
  readonly commandId?: string
  readonly data?: Uint8Array
}

const bytes = (value: unknown) => new TextEncoder().encode(JSON.stringify(value))

let sequence = 0
/** A new event with a unique eventId; every field a store must keep is filled in. */
const event = (spec: EventSpec = {}): NewEvent => {
  const n = ++sequence
  return {
    eventId: uuid("e", n),
    type: spec.type ?? "ThingHappened",
    schemaVersion: 1,
    timestamp: T(spec.at ?? T0),
    data: spec.data ?? bytes({ n, label: `event ${n}` }),
    metadata: { userId: "user-1", correlationId: uuid("a", n), causationId: uuid("b", n), commandId: spec.commandId ?? uuid("c", n) }
  }
}
const events = (count: number, spec?: EventSpec) => Arr.makeBy(count, () => event(spec))

/** The stored form of `e`; its chain link is checked on its own (see "hash chain"). */
const recorded = (e: NewEvent, aggregateId: string, version: number, position: number): RecordedEvent =>
  ({ ...e, aggregateId, version, position, hash: expect.stringMatching(/^[0-9a-f]{64}$/) })

const ids = (es: ReadonlyArray<{ readonly eventId: string }>) => es.map((e) => e.eventId)
const versions = (es: ReadonlyArray<RecordedEvent>) => es.map((e) => e.version)
const positions = (es: ReadonlyArray<RecordedEvent>) => es.map((e) => e.position)
const oneTo = (n: number) => Arr.makeBy(n, (i) => i + 1)

/** Appends batches one after another, each at its stream's current version. */
const appendInOrder = (batches: ReadonlyArray<readonly [string, ReadonlyArray<NewEvent>]>) =>
  Effect.gen(function*() {
    const store = yield* EventStore
    for (const [aggregateId, batch] of batches) {
      const stream = yield* store.getEvents(aggregateId)
      yield* store.appendEvents(aggregateId, stream[stream.length - 1]?.version ?? 0, batch)
    }
  })

/** Every page of `type`, following the cursor until it is none. */
const allPagesOfType = (type: string, limit: number, window: { readonly fromTimestamp?: DateTime.Utc; readonly toTimestamp?: DateTime.Utc } = {}) =>
  Effect.gen(function*() {
    const store = yield* EventStore
    const pages: Array<ReadonlyArray<RecordedEvent>> = []
    let after: string | undefined = undefined
    for (let i = 0; i < 100; i++) {
      const page: EventPage = yield* store.getEventsByType(type, { ...window, limit, ...(after === undefined ? {} : { after }) })
      pages.push(page.events)
      if (Option.isNone(page.cursor)) return pages
      after = page.cursor.value
    }
    return yield* Effect.dieMessage(`getEventsByType(${type}) kept returning a cursor`)
  })

/** Subscribes from `fromPosition` into a queue, for as long as the test's scope is open. */
const subscribeInto = (fromPosition: number) =>
  Effect.gen(function*() {
    const store = yield* EventStore
    const received = yield* Queue.unbounded<RecordedEvent>()
    yield* store.subscribe(fromPosition).pipe(Stream.runForEach((e) => Queue.offer(received, e)), Effect.forkScoped)
    return received
  })

/** The next `n` delivered events; fails the test instead of hanging if they never come. */
const take = (received: Queue.Queue<RecordedEvent>, n: number) =>
  Queue.takeBetween(received, n, n).pipe(
    Effect.map(Chunk.toReadonlyArray),
    Effect.timeoutFail({ duration: "2 seconds", onTimeout: () => new Error(`fewer than ${n} events delivered in time`) })
  )

/** Nothing more arrives, so nothing was delivered twice. */
const expectNothingMore = (received: Queue.Queue<RecordedEvent>) =>
  Effect.gen(function*() {
    yield* Effect.sleep("50 millis")
    expect(yield* Queue.size(received)).toBe(0)
  })

const snapshot = (aggregateId: string, version: number, state: unknown = { version }): Snapshot =>
  ({ aggregateId, version, stateVersion: 1, state, takenAt: T("2025-03-03T10:00:00.500Z") })

/**
 * The EventStore and SnapshotStore conformance suite. Every adapter runs it unchanged;
 * `makeLayer` must give a fresh, empty store each time its layer is built (once per test).
 */
export const eventStoreContract = (
  name: string,
  makeLayer: () => Layer.Layer<EventStore | SnapshotStore, unknown>,
  options: { readonly appendIfNewCommand: boolean } = { appendIfNewCommand: true }
): void => {
  describe(name, () => {
    const run = <A, E>(body: Effect.Effect<A, E, Stores | Scope.Scope>) =>
      body.pipe(Effect.scoped, Effect.provide(makeLayer()))

    describe("appendEvents", () => {
      it.effect("appends to a new stream at expected version 0 as versions 1..n with increasing positions", () =>
        run(Effect.gen(function*() {
          const store = yield* EventStore
          const [a, b, c] = events(3)
          const first = yield* store.appendEvents("order-1", 0, [a!, b!, c!])
          expect(first).toEqual({
            nextVersion: 3,
            events: [recorded(a!, "order-1", 1, 1), recorded(b!, "order-1", 2, 2), recorded(c!, "order-1", 3, 3)]
          })
          const [d, e] = events(2)
          const second = yield* store.appendEvents("order-1", 3, [d!, e!])
          expect(second.nextVersion).toBe(5)
          expect(versions(second.events)).toEqual([4, 5])
          expect(positions(second.events)).toEqual([4, 5])
          expect(yield* store.getEvents("order-1")).toEqual([...first.events, ...second.events])
        })))

      it.effect("rejects a stale expected version with ConcurrencyConflict and writes nothing", () =>
        run(Effect.gen(function*() {
          const store = yield* EventStore
          yield* store.appendEvents("order-1", 0, events(2))
          const late = event({ type: "LateArrival", commandId: uuid("d", 1) })
          expect(yield* Effect.exit(store.appendEvents("order-1", 1, [late]))).toEqual(
            Exit.fail(new ConcurrencyConflict({ aggregateId: "order-1", expectedVersion: 1, actualVersion: 2 })))
          expect(yield* Effect.exit(store.appendEvents("order-1", 0, [late]))).toEqual(
            Exit.fail(new ConcurrencyConflict({ aggregateId: "order-1", expectedVersion: 0, actualVersion: 2 })))
          expect(versions(yield* store.getEvents("order-1"))).toEqual([1, 2])
          expect(positions(yield* store.readAll())).toEqual([1, 2])
          expect(yield* store.findByCommand("order-1", uuid("d", 1))).toEqual([])
          expect((yield* store.getEventsByType("LateArrival")).events).toEqual([])
        })))

      it.effect("rejects an expected version ahead of the stream", () =>
        run(Effect.gen(function*() {
          const store = yield* EventStore
          expect(yield* Effect.exit(store.appendEvents("order-1", 3, events(1)))).toEqual(
            Exit.fail(new ConcurrencyConflict({ aggregateId: "order-1", expectedVersion: 3, actualVersion: 0 })))
          expect(yield* store.getEvents("order-1")).toEqual([])
          expect(yield* store.readAll()).toEqual([])
        })))

      it.effect("appends a batch all or nothing", () =>
        run(Effect.gen(function*() {
          const store = yield* EventStore
          yield* store.appendEvents("order-1", 0, events(1))
          const batch = events(3, { type: "BatchPart", commandId: uuid("d", 1) })
          expect(yield* Effect.exit(store.appendEvents("order-1", 0, batch))).toEqual(
            Exit.fail(new ConcurrencyConflict({ aggregateId: "order-1", expectedVersion: 0, actualVersion: 1 })))
          expect(yield* store.readAll()).toHaveLength(1)
          expect((yield* store.getEventsByType("BatchPart")).events).toEqual([])
          expect(yield* store.findByCommand("order-1", uuid("d", 1))).toEqual([])
          // The same batch at the right version lands whole, right after the one event already there.
          const accepted = yield* store.appendEvents("order-1", 1, batch)
          expect(accepted.events).toEqual(batch.map((e, i) => recorded(e, "order-1", i + 2, i + 2)))
          expect(ids(yield* store.getEvents("order-1", { fromVersion: 2 }))).toEqual(ids(batch))
        })))

      it.effect("lets exactly one of many concurrent appenders at the same expected version win", () =>
        run(Effect.gen(function*() {
          const store = yield* EventStore
          const batches = Arr.makeBy(20, (i) => events(2, { commandId: uuid("d", i + 1) }))
          const results = yield* Effect.all(
            batches.map((batch) => Effect.either(store.appendEvents("order-1", 0, batch))),
            { concurrency: "unbounded" }
          )
          const [losses, wins] = Arr.partitionMap(results, (r) => r)
          expect(wins).toHaveLength(1)
          expect(losses).toEqual(Arr.replicate(
            new ConcurrencyConflict({ aggregateId: "order-1", expectedVersion: 0, actualVersion: 2 }), 19))
          const winner = batches[results.findIndex(Either.isRight)]!
          const stream = yield* store.getEvents("order-1")
          expect(ids(stream)).toEqual(ids(winner))
          expect(versions(stream)).toEqual([1, 2])
          expect(ids(yield* store.readAll())).toEqual(ids(winner))
        })))

      it.effect("lets concurrent appenders to different streams all succeed, each event at its own position", () =>
        run(Effect.gen(function*() {
          const store = yield* EventStore
          const streams = Arr.makeBy(20, (i) => [`order-${i + 1}`, events(3)] as const)
          const results = yield* Effect.all(
            streams.map(([aggregateId, batch]) => store.appendEvents(aggregateId, 0, batch)),
            { concurrency: "unbounded" }
          )
          expect(results.map((r) => r.nextVersion)).toEqual(Arr.replicate(3, 20))
          const log = yield* store.readAll()
          expect(log).toHaveLength(60)
          expect([...positions(log)].sort((x, y) => x - y)).toEqual(oneTo(60))
          for (const [aggregateId, batch] of streams) {
            const stream = yield* store.getEvents(aggregateId)
            expect(ids(stream)).toEqual(ids(batch))
            expect(versions(stream)).toEqual([1, 2, 3])
            // Commit order agrees with version order inside a stream.
            expect(ids(log.filter((e) => e.aggregateId === aggregateId))).toEqual(ids(batch))
          }
        })))
    })

    describe("getEvents", () => {
      it.effect("pages a stream with fromVersion and limit", () =>
        run(Effect.gen(function*() {
          const store = yield* EventStore
          const batch = events(5)
          yield* store.appendEvents("order-1", 0, batch)
          expect(versions(yield* store.getEvents("order-1"))).toEqual([1, 2, 3, 4, 5])
          expect(versions(yield* store.getEvents("order-1", { fromVersion: 2, limit: 2 }))).toEqual([2, 3])
          expect(versions(yield* store.getEvents("order-1", { fromVersion: 4, limit: 2 }))).toEqual([4, 5])
          expect(versions(yield* store.getEvents("order-1", { fromVersion: 4 }))).toEqual([4, 5])
          expect(ids(yield* store.getEvents("order-1", { limit: 1 }))).toEqual([batch[0]!.eventId])
          expect(yield* store.getEvents("order-1", { fromVersion: 6 })).toEqual([])
          expect(yield* store.getEvents("order-2")).toEqual([])
        })))

      it.effect("keeps each stream's events and versions to itself", () =>
        run(Effect.gen(function*() {
          const store = yield* EventStore
          const a = events(3)
          const b = events(2)
          yield* appendInOrder([["order-a", [a[0]!]], ["order-b", [b[0]!]], ["order-a", [a[1]!, a[2]!]], ["order-b", [b[1]!]]])
          const streamA = yield* store.getEvents("order-a")
          const streamB = yield* store.getEvents("order-b")
          expect(ids(streamA)).toEqual(ids(a))
          expect(versions(streamA)).toEqual([1, 2, 3])
          expect(streamA.every((e) => e.aggregateId === "order-a")).toBe(true)
          expect(ids(streamB)).toEqual(ids(b))
          expect(versions(streamB)).toEqual([1, 2])
          // A conflict on one stream leaves the other appendable at its own version.
          expect(Either.isLeft(yield* Effect.either(store.appendEvents("order-a", 2, events(1))))).toBe(true)
          expect((yield* store.appendEvents("order-b", 2, events(1))).nextVersion).toBe(3)
        })))
    })

    describe("readAll", () => {
      it.effect("returns every stream's events in one commit order, positions 1..n", () =>
        run(Effect.gen(function*() {
          const store = yield* EventStore
          expect(yield* store.readAll()).toEqual([])
          const [a1, a2, b1, a3, c1, c2, c3, b2, b3] = events(9)
          yield* appendInOrder([
            ["order-a", [a1!, a2!]], ["order-b", [b1!]], ["order-a", [a3!]], ["order-c", [c1!, c2!, c3!]], ["order-b", [b2!, b3!]]
          ])
          const log = yield* store.readAll()
          expect(ids(log)).toEqual(ids([a1!, a2!, b1!, a3!, c1!, c2!, c3!, b2!, b3!]))
          expect(positions(log)).toEqual(oneTo(9))
          expect(log.map((e) => `${e.aggregateId}@${e.version}`)).toEqual([
            "order-a@1", "order-a@2", "order-b@1", "order-a@3", "order-c@1", "order-c@2", "order-c@3", "order-b@2", "order-b@3"
          ])
        })))

      it.effect("pages the log with fromPosition and limit", () =>
        run(Effect.gen(function*() {
          const store = yield* EventStore
          yield* appendInOrder([["order-a", events(4)], ["order-b", events(3)]])
          const all = yield* store.readAll()
          expect(positions(yield* store.readAll({ fromPosition: 4, limit: 3 }))).toEqual([4, 5, 6])
          expect(positions(yield* store.readAll({ fromPosition: 6 }))).toEqual([6, 7])
          expect(positions(yield* store.readAll({ limit: 2 }))).toEqual([1, 2])
          expect(yield* store.readAll({ fromPosition: 8 })).toEqual([])
          const paged: Array<RecordedEvent> = []
          for (let from = 1; ; ) {
            const page = yield* store.readAll({ fromPosition: from, limit: 2 })
            paged.push(...page)
            if (page.length < 2) break
            from = page[page.length - 1]!.position + 1
          }
          expect(paged).toEqual(all)
        })))
    })

    describe("getEventsByType", () => {
      it.effect("returns only events of the type, in commit order", () =>
        run(Effect.gen(function*() {
          const store = yield* EventStore
          // Timestamps run against commit order here: the order must still be the commit order.
          const opened = event({ type: "Opened", at: "2025-03-03T12:00:00.000Z" })
          const deposited1 = event({ type: "Deposited", at: "2025-03-03T11:00:00.000Z" })
          const deposited2 = event({ type: "Deposited", at: "2025-03-03T10:00:00.000Z" })
          const withdrawn = event({ type: "Withdrawn", at: "2025-03-03T10:30:00.000Z" })
          const deposited3 = event({ type: "Deposited", at: "2025-03-03T09:00:00.000Z" })
          yield* appendInOrder([["acct-a", [opened, deposited1]], ["acct-b", [deposited2]], ["acct-a", [withdrawn, deposited3]]])
          const page: EventPage = yield* store.getEventsByType("Deposited")
          expect(ids(page.events)).toEqual(ids([deposited1, deposited2, deposited3]))
          expect(page.events.every((e) => e.type === "Deposited")).toBe(true)
          expect(page.cursor).toEqual(Option.none())
          expect(ids((yield* store.getEventsByType("Withdrawn")).events)).toEqual([withdrawn.eventId])
          expect(yield* store.getEventsByType("Closed")).toEqual({ events: [], cursor: Option.none() })
        })))

      it.effect("keeps events with fromTimestamp <= timestamp < toTimestamp", () =>
        run(Effect.gen(function*() {
          const store = yield* EventStore
          const at9 = event({ type: "Priced", at: "2025-03-03T09:00:00.000Z" })
          const at10 = event({ type: "Priced", at: "2025-03-03T10:00:00.000Z" })
          const at10Later = event({ type: "Priced", at: "2025-03-03T10:59:59.999Z" })
          const at11 = event({ type: "Priced", at: "2025-03-03T11:00:00.000Z" })
          const otherAt10 = event({ type: "Halted", at: "2025-03-03T10:30:00.000Z" })
          yield* appendInOrder([["market-1", [at9, at10, otherAt10, at10Later, at11]]])
          const window = { fromTimestamp: T("2025-03-03T10:00:00.000Z"), toTimestamp: T("2025-03-03T11:00:00.000Z") }
          expect(ids((yield* store.getEventsByType("Priced", window)).events)).toEqual(ids([at10, at10Later]))
          expect(ids((yield* store.getEventsByType("Priced", { fromTimestamp: window.toTimestamp })).events)).toEqual([at11.eventId])
          expect(ids((yield* store.getEventsByType("Priced", { toTimestamp: window.fromTimestamp })).events)).toEqual([at9.eventId])
          // Paging inside the window keeps to it.
          expect((yield* allPagesOfType("Priced", 1, window)).map(ids)).toEqual([[at10.eventId], [at10Later.eventId]])
        })))

      it.effect("pages with the after cursor until the cursor is none", () =>
        run(Effect.gen(function*() {
          const store = yield* EventStore
          const filled = events(7, { type: "OrderFilled" })
          yield* appendInOrder(filled.flatMap((e, i) => [[`order-${i % 3}`, [e, event({ type: "OrderPlaced" })]] as const]))
          const pages = yield* allPagesOfType("OrderFilled", 3)
          expect(pages.map((page) => page.length)).toEqual([3, 3, 1])
          expect(ids(pages.flat())).toEqual(ids(filled))
          const first = yield* store.getEventsByType("OrderFilled", { limit: 3 })
          expect(Option.isSome(first.cursor)).toBe(true)
          // A page that ends exactly at the last event is the last page.
          expect((yield* allPagesOfType("OrderFilled", 7)).map((page) => page.length)).toEqual([7])
        })))
    })

    describe("findByCommand", () => {
      it.effect("returns exactly the events one command appended to that aggregate", () =>
        run(Effect.gen(function*() {
          const store = yield* EventStore
          const [cmd1, cmd2] = [uuid("d", 1), uuid("d", 2)]
          const first = events(2, { commandId: cmd1 })
          const second = events(1, { commandId: cmd2 })
          const elsewhere = events(1, { commandId: cmd1 })
          yield* appendInOrder([["acct-a", first], ["acct-a", second], ["acct-b", elsewhere]])
          const found = yield* store.findByCommand("acct-a", cmd1)
          expect(ids(found)).toEqual(ids(first))
          expect(versions(found)).toEqual([1, 2])
          expect(ids(yield* store.findByCommand("acct-a", cmd2))).toEqual(ids(second))
          expect(ids(yield* store.findByCommand("acct-b", cmd1))).toEqual(ids(elsewhere))
          expect(yield* store.findByCommand("acct-b", cmd2)).toEqual([])
          expect(yield* store.findByCommand("acct-c", cmd1)).toEqual([])
          expect(yield* store.findByCommand("acct-a", uuid("d", 3))).toEqual([])
        })))

      it.effect("commandsSeen answers for many commands at once, in order, UUID-shaped or not", () =>
        run(Effect.gen(function*() {
          const store = yield* EventStore
          const [cmd1, cmd2, text] = [uuid("d", 1), uuid("d", 2), "trader-7/order-42"]
          yield* appendInOrder([
            ["acct-a", events(2, { commandId: cmd1 })],
            ["acct-a", events(1, { commandId: text })],
            ["acct-b", events(1, { commandId: cmd2 })]
          ])
          const keys = [
            ["acct-a", cmd1], ["acct-a", cmd2], ["acct-b", cmd2], ["acct-a", text], ["acct-b", text], ["acct-c", cmd1], ["acct-a", cmd1]
          ] as const
          expect(yield* store.commandsSeen(keys.map(([aggregateId, commandId]) => ({ aggregateId, commandId })))).toEqual(
            [true, false, true, true, false, false, true]
          )
          expect(yield* store.commandsSeen([])).toEqual([])
          // more keys than one statement takes
          const many = Arr.makeBy(450, (i) => ({ aggregateId: i % 2 === 0 ? "acct-a" : "acct-b", commandId: uuid("c", 9000 + i) }))
          const answers = yield* store.commandsSeen([...many, { aggregateId: "acct-b", commandId: cmd2 }])
          expect(answers.filter((seen) => seen)).toHaveLength(1)
          expect(answers[answers.length - 1]).toBe(true)
        })))
    })

    if (options.appendIfNewCommand) describe("appendIfNewCommand", () => {
      /** The store's checked append (the suite runs this part only where the store has one). */
      const checked = Effect.map(EventStore, (store) => {
        const append = store.appendIfNewCommand
        if (append === undefined) throw new Error(`${name} has no appendIfNewCommand`)
        return append
      })
      const head = Effect.flatMap(EventStore, (store) => store.head).pipe(Effect.map(Option.map((h) => h.position)))

      it.effect("appends a command's events once: a repeat on the same aggregate is refused with CommandSeen and writes nothing", () =>
        run(Effect.gen(function*() {
          const store = yield* EventStore
          const append = yield* checked
          const [cmd1, cmd2, text] = [uuid("d", 1), uuid("d", 2), "trader-7/order-42"]
          const first = yield* append("acct-a", 0, events(2, { commandId: cmd1 }))
          expect(first.nextVersion).toBe(2)
          expect(yield* Effect.flip(append("acct-a", 2, events(1, { commandId: cmd1 })))).toEqual(
            new CommandSeen({ aggregateId: "acct-a", commandId: cmd1 })
          )
          expect(versions(yield* store.getEvents("acct-a"))).toEqual([1, 2])
          expect(yield* head).toEqual(Option.some(2))
          // the same command on another aggregate is new there; a command id that is not a UUID is checked too
          expect((yield* append("acct-b", 0, events(1, { commandId: cmd1 }))).nextVersion).toBe(1)
          expect((yield* append("acct-a", 2, events(1, { commandId: text }))).nextVersion).toBe(3)
          expect(yield* Effect.flip(append("acct-a", 3, events(1, { commandId: text })))).toBeInstanceOf(CommandSeen)
          // a command appended without the check is seen by it
          yield* store.appendEvents("acct-c", 0, events(1, { commandId: cmd2 }))
          expect(yield* Effect.flip(append("acct-c", 1, events(1, { commandId: cmd2 })))).toBeInstanceOf(CommandSeen)
          // a new command at a stale version is a conflict, as for appendEvents
          expect(yield* Effect.flip(append("acct-c", 0, events(1, { commandId: uuid("d", 3) })))).toBeInstanceOf(ConcurrencyConflict)
          expect(yield* head).toEqual(Option.some(5))
          expect(positions(yield* store.readAll())).toEqual(oneTo(5))
        })))

      it.effect("appends sent together: each repeat is refused, every append beside it written, positions dense", () =>
        run(Effect.gen(function*() {
          const store = yield* EventStore
          const append = yield* checked
          yield* append("acct-0", 0, events(1, { commandId: uuid("d", 100) }))
          yield* append("acct-39", 0, events(1, { commandId: uuid("d", 139) }))
          // forty at once (group commit takes them in one or more batches, the later ones sent while
          // the first commits); the first and the last repeat a command their aggregate has
          const outcomes = yield* Effect.all(
            Arr.makeBy(40, (i) =>
              Effect.either(
                i % 3 === 0 && i !== 0 && i !== 39
                  ? store.appendEvents(`acct-${i}`, 0, events(2))
                  : append(`acct-${i}`, i === 0 || i === 39 ? 1 : 0, events(2, { commandId: uuid("d", 100 + i) }))
              )),
            { concurrency: "unbounded" }
          )
          expect(outcomes.flatMap((o, i) => Either.isLeft(o) ? [[i, o.left]] : [])).toEqual([
            [0, new CommandSeen({ aggregateId: "acct-0", commandId: uuid("d", 100) })],
            [39, new CommandSeen({ aggregateId: "acct-39", commandId: uuid("d", 139) })]
          ])
          expect(yield* head).toEqual(Option.some(2 + 38 * 2))
          expect(positions(yield* store.readAll({ limit: 1000 }))).toEqual(oneTo(78))
          expect(versions(yield* store.getEvents("acct-39"))).toEqual([1])
          expect(versions(yield* store.getEvents("acct-20"))).toEqual([1, 2])
        })))
    })

    describe("hash chain", () => {
      it.effect("links every event to the one at the previous position, from the genesis link", () =>
        run(Effect.gen(function*() {
          const store = yield* EventStore
          yield* appendInOrder([["acct-1", events(2)], ["acct-2", events(3)], ["acct-1", events(1)]])
          yield* Effect.all(Arr.makeBy(5, (i) => store.appendEvents(`par-${i}`, 0, events(2))), { concurrency: "unbounded" })
          const log = yield* store.readAll()
          expect(log).toHaveLength(16)
          let previous = GENESIS
          for (const e of log) {
            expect(e.hash).toBe(link(previous, e))
            previous = e.hash
          }
        })))
    })

    describe("envelope", () => {
      it.effect("round-trips every field through every read", () =>
        run(Effect.gen(function*() {
          const store = yield* EventStore
          const rich: NewEvent = {
            eventId: uuid("e", 0xfffff),
            type: "FundsDeposited",
            schemaVersion: 3,
            timestamp: T("2024-02-29T23:59:59.987Z"),
            data: new Uint8Array([0, 1, 2, 127, 128, 254, 255, ...bytes({
              amount: "1234.5600",
              ratio: 0.25,
              count: 42,
              flags: [true, false],
              note: "café ✓ \"quoted\" \\ back",
              nothing: null,
              nested: { deeper: { list: [{ id: 1 }, { id: 2, tags: [] }], empty: {} } }
            })]),
            metadata: { userId: "user-42", correlationId: uuid("a", 0xabc), causationId: uuid("b", 0xdef), commandId: uuid("c", 0x123) }
          }
          yield* store.appendEvents("acct-1", 0, events(1))
          const expected = recorded(rich, "acct-1", 2, 2)
          expect((yield* store.appendEvents("acct-1", 1, [rich])).events).toEqual([expected])
          expect(yield* store.getEvents("acct-1", { fromVersion: 2 })).toEqual([expected])
          expect(yield* store.readAll({ fromPosition: 2 })).toEqual([expected])
          expect((yield* store.getEventsByType("FundsDeposited")).events).toEqual([expected])
          expect(yield* store.findByCommand("acct-1", uuid("c", 0x123))).toEqual([expected])
          const [read] = yield* store.getEvents("acct-1", { fromVersion: 2 })
          expect(DateTime.toEpochMillis(read!.timestamp)).toBe(Date.UTC(2024, 1, 29, 23, 59, 59, 987))
        })))

      it.effect("keeps metadata exactly as given, whatever shape its ids have and whichever repeat the command id", () =>
        run(Effect.gen(function*() {
          const store = yield* EventStore
          const command = uuid("c", 7)
          const shapes: ReadonlyArray<EventMetadata> = [
            { userId: uuid("a", 1), correlationId: command, causationId: command, commandId: command },
            { userId: "alice", correlationId: uuid("a", 2), causationId: command, commandId: command },
            { userId: "alice", correlationId: command, causationId: uuid("b", 2), commandId: command },
            { userId: uuid("a", 3).toUpperCase(), correlationId: "", causationId: "", commandId: "alice/key-1" },
            { userId: "", correlationId: "alice/key-2", causationId: "alice/key-2", commandId: "alice/key-2" },
            { userId: `{${uuid("a", 4)}}`, correlationId: "corr", causationId: "cause", commandId: uuid("c", 8).toUpperCase() },
            { userId: "bob", correlationId: `fill-${uuid("d", 9)}`, causationId: uuid("e", 9), commandId: `fill-${uuid("d", 9)}` }
          ]
          const written = shapes.map((metadata) => ({ ...event(), metadata }))
          for (const [i, e] of written.entries()) yield* store.appendEvents("acct-m", i, [e])
          const expected = written.map((e, i) => recorded(e, "acct-m", i + 1, i + 1))
          expect(yield* store.getEvents("acct-m")).toEqual(expected)
          expect(yield* store.readAll()).toEqual(expected)
          for (const commandId of new Set(shapes.map((m) => m.commandId))) {
            expect(yield* store.findByCommand("acct-m", commandId), commandId)
              .toEqual(expected.filter((e) => e.metadata.commandId === commandId))
          }
          expect(yield* store.findByCommand("acct-m", command.toUpperCase())).toEqual([])
          expect(yield* store.findByCommand("acct-m", uuid("c", 8))).toEqual([])
        })))

      it.effect("keeps earlier results as they were when more events are appended", () =>
        run(Effect.gen(function*() {
          const store = yield* EventStore
          const command = uuid("d", 1)
          yield* store.appendEvents("acct-1", 0, events(1, { type: "Noted", commandId: command }))
          const stream = yield* store.getEvents("acct-1")
          const log = yield* store.readAll()
          const ofType = yield* store.getEventsByType("Noted")
          const byCommand = yield* store.findByCommand("acct-1", command)
          yield* store.appendEvents("acct-1", 1, events(1, { type: "Noted", commandId: command }))
          expect(stream).toHaveLength(1)
          expect(log).toHaveLength(1)
          expect(ofType.events).toHaveLength(1)
          expect(byCommand).toHaveLength(1)
          expect(yield* store.findByCommand("acct-1", command)).toHaveLength(2)
        })))
    })

    describe("at scale", () => {
      it.effect("pages through 100,000 events: the log, one stream, and one type", () =>
        run(Effect.gen(function*() {
          const store = yield* EventStore
          for (let s = 0; s < 100; s++) yield* store.appendEvents(`bulk-${s}`, 0, events(1000, { type: s % 2 === 0 ? "Even" : "Odd" }))
          let from = 1
          let seen = 0
          for (;;) {
            const page = yield* store.readAll({ fromPosition: from, limit: 1000 })
            if (page.length === 0) break
            expect(positions(page)).toEqual(Arr.makeBy(page.length, (i) => from + i))
            seen += page.length
            from += page.length
          }
          expect(seen).toBe(100_000)
          let version = 1
          for (;;) {
            const page = yield* store.getEvents("bulk-42", { fromVersion: version, limit: 300 })
            if (page.length === 0) break
            expect(versions(page)).toEqual(Arr.makeBy(page.length, (i) => version + i))
            version += page.length
          }
          expect(version - 1).toBe(1000)
          const odd = (yield* allPagesOfType("Odd", 5000)).flat()
          expect(odd).toHaveLength(50_000)
          expect(odd.every((e, i) => i === 0 || e.position > odd[i - 1]!.position)).toBe(true)
        })), 120_000)
    })

    describe("subscribe", () => {
      it.live("sees every position once and in order while many writers commit at the same time", () =>
        run(Effect.gen(function*() {
          const store = yield* EventStore
          const received = yield* subscribeInto(1)
          yield* Effect.all(Arr.makeBy(40, (w) =>
            Effect.forEach(Arr.makeBy(10, (i) => i), (i) => store.appendEvents(`writer-${w}`, i * 2, events(2)), { discard: true })
          ), { concurrency: "unbounded" })
          const delivered = yield* take(received, 800)
          expect(positions(delivered)).toEqual(oneTo(800))
          yield* expectNothingMore(received)
        })))

      it.live("delivers history, then live events, in order, with no gaps or duplicates", () =>
        run(Effect.gen(function*() {
          const store = yield* EventStore
          yield* appendInOrder([["order-a", events(2)], ["order-b", events(1)]])
          const received = yield* subscribeInto(1)
          const history = yield* take(received, 3)
          expect(history).toEqual(yield* store.readAll())
          yield* appendInOrder([["order-a", events(1)]])
          yield* appendInOrder([["order-b", events(2)], ["order-c", events(1)]])
          const live = yield* take(received, 4)
          expect(live).toEqual(yield* store.readAll({ fromPosition: 4 }))
          expect(positions([...history, ...live])).toEqual(oneTo(7))
          yield* expectNothingMore(received)
        })))

      it.live("starts at the given position, even one not yet written", () =>
        run(Effect.gen(function*() {
          const store = yield* EventStore
          yield* store.appendEvents("order-a", 0, events(5))
          const fromMiddle = yield* subscribeInto(3)
          const fromNext = yield* subscribeInto(6)
          expect(positions(yield* take(fromMiddle, 3))).toEqual([3, 4, 5])
          yield* store.appendEvents("order-a", 5, events(2))
          expect(positions(yield* take(fromMiddle, 2))).toEqual([6, 7])
          expect(positions(yield* take(fromNext, 2))).toEqual([6, 7])
          yield* expectNothingMore(fromMiddle)
          yield* expectNothingMore(fromNext)
        })))

      it.live("catches up on a history longer than one page", () =>
        run(Effect.gen(function*() {
          yield* appendInOrder(Arr.makeBy(21, (i) => [`order-${i % 4}`, events(50)] as const))
          const received = yield* subscribeInto(1)
          expect(positions(yield* take(received, 1050))).toEqual(oneTo(1050))
          yield* expectNothingMore(received)
        })))

      it.live("misses nothing appended while it is catching up", () =>
        run(Effect.gen(function*() {
          const store = yield* EventStore
          yield* appendInOrder([["order-0", events(10)]])
          const appenders = Effect.all(
            Arr.makeBy(30, (i) => store.appendEvents(`order-${i + 1}`, 0, events(2))),
            { concurrency: "unbounded" }
          )
          const [received] = yield* Effect.all([subscribeInto(1), appenders], { concurrency: "unbounded" })
          const delivered = yield* take(received, 70)
          expect(positions(delivered)).toEqual(oneTo(70))
          expect(delivered).toEqual(yield* store.readAll())
          yield* expectNothingMore(received)
        })))
    })

    describe("SnapshotStore", () => {
      it.effect("loads none for an aggregate never saved", () =>
        run(Effect.gen(function*() {
          const snapshots = yield* SnapshotStore
          expect(yield* snapshots.load("acct-1")).toEqual(Option.none())
        })))

      it.effect("loads what was saved, per aggregate", () =>
        run(Effect.gen(function*() {
          const snapshots = yield* SnapshotStore
          const saved: Snapshot = {
            aggregateId: "acct-1",
            version: 100,
            stateVersion: 2,
            state: { _tag: "Open", cash: "1500.25", positions: [{ symbol: "ACME", quantity: "10" }], limits: { allowShort: false } },
            takenAt: T("2025-03-03T10:00:00.500Z")
          }
          yield* snapshots.save(saved)
          yield* snapshots.save(snapshot("acct-2", 7))
          expect(yield* snapshots.load("acct-1")).toEqual(Option.some(saved))
          expect(yield* snapshots.load("acct-2")).toEqual(Option.some(snapshot("acct-2", 7)))
          expect(yield* snapshots.load("acct-3")).toEqual(Option.none())
        })))

      it.effect("keeps the newest snapshot: an older one does not replace it", () =>
        run(Effect.gen(function*() {
          const snapshots = yield* SnapshotStore
          yield* snapshots.save(snapshot("acct-1", 200))
          yield* snapshots.save(snapshot("acct-1", 100))
          expect(yield* snapshots.load("acct-1")).toEqual(Option.some(snapshot("acct-1", 200)))
          yield* snapshots.save(snapshot("acct-1", 300))
          expect(yield* snapshots.load("acct-1")).toEqual(Option.some(snapshot("acct-1", 300)))
        })))
    })
  })
}
