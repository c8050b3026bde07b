import { type AttributeValue, ScanCommand, type ScanCommandOutput } from "@aws-sdk/client-dynamodb"
import { describe, expect, it } from "@effect/vitest"
import { Context, DateTime, Deferred, Effect, Either, Exit, Fiber, Layer, Logger, LogLevel, Option, Schedule } from "effect"
import { spawn } from "node:child_process"
import { randomUUID } from "node:crypto"
import { fileURLToPath } from "node:url"
import { DynamoDb, type DynamoApi, DynamoError } from "../../../src/adapters/dynamodb/DynamoClient.js"
import { verifyChain } from "../../../src/application/ChainVerification.js"
import { ConcurrencyConflict, EventStore, type NewEvent, type RecordedEvent } from "../../../src/application/ports/EventStore.js"
import { eventStoreContract } from "../contract.js"
import { clientLayer, freshStore, freshTables, runDynamoSuite, storeLayer, useDynamoLocal } from "./dynamoTest.js"
import { movesHead } from "./relayChild.js"

let sequence = 0
const event = (spec: { readonly type?: string; readonly commandId?: string; readonly bytes?: number } = {}): NewEvent => {
  const n = ++sequence
  return {
    eventId: randomUUID(),
    type: spec.type ?? "Noted",
    schemaVersion: 1,
    timestamp: DateTime.unsafeMake(Date.UTC(2025, 2, 3, 9, 30, 0, n % 1000)),
    data: spec.bytes === undefined ? new TextEncoder().encode(`event ${n}`) : new Uint8Array(spec.bytes).fill(n % 251),
    metadata: { userId: "user-1", correlationId: randomUUID(), causationId: randomUUID(), commandId: spec.commandId ?? randomUUID() }
  }
}
const events = (count: number, spec?: Parameters<typeof event>[0]) => Array.from({ length: count }, () => event(spec))
const oneTo = (n: number) => Array.from({ length: n }, (_, i) => i + 1)
const ids = (es: ReadonlyArray<{ readonly eventId: string }>) => es.map((e) => e.eventId)

/** Every item of a table (consistent scan), for looking behind the adapter's back. */
const scan = (table: string) =>
  Effect.gen(function*() {
    const dynamo = yield* DynamoDb
    const items: Array<Record<string, AttributeValue>> = []
    let start: Record<string, AttributeValue> | undefined = undefined
    do {
      const page: ScanCommandOutput = yield* Effect.promise(() =>
        dynamo.sdk.send(new ScanCommand({ TableName: table, ConsistentRead: true, ...(start === undefined ? {} : { ExclusiveStartKey: start }) })))
      items.push(...(page.Items ?? []))
      start = page.LastEvaluatedKey
    } while (start !== undefined)
    return items
  })

/** The log table's items of one kind (`outbox`, `stage`, `log`, `type`, `seq`, `head`). */
const logItems = (prefix: string, kind: string) =>
  Effect.map(scan(`${prefix}log`), (items) => items.filter((i) => i.PK?.S?.split("#")[0] === kind))

/** The whole log, page after page. */
const wholeLog = Effect.gen(function*() {
  const store = yield* EventStore
  const log: Array<RecordedEvent> = []
  for (;;) {
    const page = yield* store.readAll({ fromPosition: log.length + 1, limit: 1000 })
    log.push(...page)
    if (page.length < 1000) return log
  }
})

/** The EventStore of a layer built in the current scope (so one test can hold several stores). */
const storeOf = (layer: Layer.Layer<EventStore, unknown>) => Effect.map(Layer.build(layer), (context) => Context.get(context, EventStore))

/** Fails every sequencing transaction: appends commit, nothing reaches the log. */
const noSequencing = (api: DynamoApi): DynamoApi => ({
  ...api,
  transactWriteItems: (input) =>
    movesHead(input) ? Effect.fail(new DynamoError({ operation: "TransactWriteItems", code: "Injected", message: "sequencing switched off" })) : api.transactWriteItems(input)
})

describe.runIf(runDynamoSuite("DynamoEventStore"))("DynamoDB", () => {
  const local = useDynamoLocal()

  eventStoreContract("DynamoEventStore", () => freshStore(local.endpoint), { appendIfNewCommand: false })

  describe("DynamoEventStore past DynamoDB's per-transaction limit (100 items)", () => {
    it.live("lands an append of 250 events whole: its first event item commits with it, the rest come from its chunks", () =>
      Effect.gen(function*() {
        const prefix = yield* freshTables(local.endpoint)
        let staged = 0
        const counting = (api: DynamoApi): DynamoApi => ({
          ...api,
          putItem: (input) => Effect.zipRight(Effect.sync(() => input.Item?.PK?.S?.startsWith("stage#") && staged++), api.putItem(input))
        })
        const store = yield* storeOf(storeLayer(local.endpoint, prefix, {}, counting))
        const first = yield* store.appendEvents("big-1", 0, events(3))
        const command = randomUUID()
        // 2 KB each: the 249 events after the first take three chunks, staged beforehand
        const batch = events(250, { type: "Bulk", commandId: command, bytes: 2000 })
        const result = yield* store.appendEvents("big-1", 3, batch)
        expect(result.nextVersion).toBe(253)
        expect(result.events.map((e) => e.version)).toEqual(oneTo(253).slice(3))
        expect(result.events.map((e) => e.position)).toEqual(oneTo(253).slice(3))
        expect(ids(result.events)).toEqual(ids(batch))
        expect(staged).toBe(3)
        const all = [...first.events, ...result.events]
        expect(yield* store.getEvents("big-1", { limit: 1000 })).toEqual(all)
        expect(yield* wholeLog.pipe(Effect.provideService(EventStore, store))).toEqual(all)
        expect((yield* store.getEventsByType("Bulk")).events).toEqual(result.events)
        expect(yield* store.findByCommand("big-1", command)).toEqual(result.events)
        const items = yield* scan(`${prefix}events`)
        expect(items.map((i) => Number(i.Version?.N)).sort((a, b) => a - b)).toEqual(oneTo(253))
        expect(items.filter((i) => Number(i.Version?.N) > 3).every((i) => i.AppendEnd?.N === "253")).toBe(true)
        expect(yield* logItems(prefix, "outbox")).toEqual([])
        expect(yield* logItems(prefix, "stage")).toEqual([])
        expect(yield* verifyChain().pipe(Effect.provideService(EventStore, store))).toMatchObject({ _tag: "Intact", events: 253 })
      }).pipe(Effect.provide(clientLayer(local.endpoint)), Effect.scoped), 60_000)

    it.live("of two large appends racing for the same versions, one lands whole and the other leaves nothing behind", () =>
      Effect.gen(function*() {
        const prefix = yield* freshTables(local.endpoint)
        const store = yield* storeOf(storeLayer(local.endpoint, prefix))
        const batches = [events(250, { bytes: 2000 }), events(250, { bytes: 2000 })] as const
        const results = yield* Effect.all(batches.map((b) => Effect.either(store.appendEvents("big-2", 0, b))), { concurrency: 2 })
        const winner = results.findIndex(Either.isRight)
        expect(winner).toBeGreaterThanOrEqual(0)
        expect(results[1 - winner]).toEqual(Either.left(new ConcurrencyConflict({ aggregateId: "big-2", expectedVersion: 0, actualVersion: 250 })))
        const log = yield* wholeLog.pipe(Effect.provideService(EventStore, store))
        expect(ids(log)).toEqual(ids(batches[winner]!))
        expect(log.map((e) => e.position)).toEqual(oneTo(250))
        const items = yield* scan(`${prefix}events`)
        expect(new Set(items.map((i) => i.EventId?.S))).toEqual(new Set(ids(batches[winner]!)))
        expect(yield* logItems(prefix, "outbox")).toEqual([])
        expect(yield* logItems(prefix, "stage")).toEqual([]) // the loser removed its staged chunk
      }).pipe(Effect.provide(clientLayer(local.endpoint)), Effect.scoped), 60_000)

    it.live("refuses an append too large to sequence in one transaction before writing anything", () =>
      Effect.gen(function*() {
        const prefix = yield* freshTables(local.endpoint)
        const store = yield* storeOf(storeLayer(local.endpoint, prefix))
        const refusals = [
          [[event({ bytes: 400_000 })], /event 0 takes \d+ bytes; at most 307200$/], // one event over the 400 KB item limit
          [events(700, { bytes: 2500 }), /700 events take \d+ bytes; at most 1500000 per append$/], // its log and type copies would pass 4 MB
          [events(6400, { bytes: 1 }), /6400 events would take \d+ bytes to sequence; at most 3500000$/], // 1.48 MB, but its links push it past
          [Array.from({ length: 120 }, (_, i) => event({ type: `Type${i}` })), /120 events of 120 types would take \d+ items to sequence; at most 100$/]
        ] as const
        for (const [batch, reason] of refusals) {
          const refused = yield* Effect.flip(store.appendEvents("huge-1", 0, batch))
          expect(refused).toMatchObject({ _tag: "EventStoreUnavailable", reason: expect.stringMatching(/^append refused before writing anything: /) })
          expect(refused).toMatchObject({ reason: expect.stringMatching(reason) })
        }
        expect(yield* store.getEvents("huge-1")).toEqual([])
        expect(yield* store.readAll()).toEqual([])
        expect(yield* scan(`${prefix}events`)).toEqual([])
        expect(yield* scan(`${prefix}log`)).toEqual([])
        // just under the limit: 1.47 MB in six chunks
        const accepted = yield* store.appendEvents("huge-1", 0, events(540, { bytes: 2500 }))
        expect(accepted.events.map((e) => e.position)).toEqual(oneTo(540))
      }).pipe(Effect.provide(clientLayer(local.endpoint)), Effect.scoped), 60_000)
  })

  describe("DynamoEventStore concurrency", () => {
    it.live("refuses an expected version inside an append, or past the stream, with the stream's version", () =>
      Effect.gen(function*() {
        const store = yield* EventStore
        yield* store.appendEvents("c-1", 0, events(150))
        for (const expectedVersion of [0, 1, 98, 99, 149, 151, 400]) {
          expect(yield* Effect.exit(store.appendEvents("c-1", expectedVersion, events(2)))).toEqual(
            Exit.fail(new ConcurrencyConflict({ aggregateId: "c-1", expectedVersion, actualVersion: 150 })))
        }
        expect((yield* store.appendEvents("c-1", 150, events(2))).nextVersion).toBe(152)
        expect((yield* store.getEvents("c-1", { limit: 500 })).map((e) => e.version)).toEqual(oneTo(152))
      }).pipe(Effect.provide(freshStore(local.endpoint))), 60_000)

    it.live("counts an append once it commits: a conflict names its version before it is sequenced, and a later sequencer logs it once", () =>
      Effect.gen(function*() {
        const prefix = yield* freshTables(local.endpoint)
        const stalled = yield* Effect.scoped(Effect.gen(function*() {
          // its sequencer's warnings (every 50 ms) are the point of the test, not worth printing
          const store = yield* storeOf(storeLayer(local.endpoint, prefix, { sequencingTimeout: "1 second", pollInterval: "50 millis" }, noSequencing)).pipe(
            Logger.withMinimumLogLevel(LogLevel.Error))
          const batch = events(3)
          const unsequenced = yield* Effect.flip(store.appendEvents("u-1", 0, batch))
          expect(unsequenced).toMatchObject({ _tag: "EventStoreUnavailable", reason: expect.stringMatching(/not sequenced in time/) })
          expect(yield* Effect.exit(store.appendEvents("u-1", 0, events(1)))).toEqual(
            Exit.fail(new ConcurrencyConflict({ aggregateId: "u-1", expectedVersion: 0, actualVersion: 3 })))
          // readers see an append once it is in the log
          expect(yield* store.getEvents("u-1")).toEqual([])
          expect(yield* store.readAll()).toEqual([])
          expect(yield* store.head).toEqual(Option.none())
          return batch
        }))
        const store = yield* storeOf(storeLayer(local.endpoint, prefix))
        const stream = yield* store.getEvents("u-1")
        expect(ids(stream)).toEqual(ids(stalled))
        expect(stream.map((e) => e.position)).toEqual([1, 2, 3])
        expect((yield* store.appendEvents("u-1", 3, events(1))).events.map((e) => e.position)).toEqual([4])
        expect((yield* wholeLog.pipe(Effect.provideService(EventStore, store))).map((e) => e.version)).toEqual([1, 2, 3, 4])
        expect(yield* verifyChain().pipe(Effect.provideService(EventStore, store))).toMatchObject({ _tag: "Intact", events: 4 })
      }).pipe(Effect.scoped), 60_000)
    it.live("never forks the chain: of two sequencers extending the same head, the loser's transaction fails whole and it goes again", () =>
      Effect.gen(function*() {
        const prefix = yield* freshTables(local.endpoint)
        const reached = yield* Deferred.make<void>()
        const gate = yield* Deferred.make<void>()
        // A's sequencing transactions wait at the gate until it opens
        const held = (api: DynamoApi): DynamoApi => ({
          ...api,
          transactWriteItems: (input) =>
            movesHead(input)
              ? Deferred.succeed(reached, undefined).pipe(Effect.zipRight(Deferred.await(gate)), Effect.zipRight(api.transactWriteItems(input)))
              : api.transactWriteItems(input)
        })
        // no polls: each sequencer only sequences what it is told about, so the interleaving is the test's
        const quiet = { pollInterval: "1 hour" } as const
        const b = yield* storeOf(storeLayer(local.endpoint, prefix, quiet))
        yield* b.appendEvents("b", 0, events(1))
        const a = yield* storeOf(storeLayer(local.endpoint, prefix, quiet, held))
        const x = events(2)
        const appendingX = yield* Effect.fork(a.appendEvents("x", 0, x))
        yield* Deferred.await(reached) // A read head 1 and means to put x at 2..3
        const y = yield* b.appendEvents("y", 0, events(1)) // B, on its fast path from head 1, puts y at 2
        expect(y.events.map((e) => e.position)).toEqual([2])
        yield* Deferred.succeed(gate, undefined)
        const xs = yield* Fiber.join(appendingX)
        expect(xs.events.map((e) => e.position)).toEqual([3, 4])
        expect(ids(xs.events)).toEqual(ids(x))
        const log = yield* wholeLog.pipe(Effect.provideService(EventStore, a))
        expect(log.map((e) => `${e.aggregateId}@${e.position}`)).toEqual(["b@1", "y@2", "x@3", "x@4"])
        expect(yield* verifyChain().pipe(Effect.provideService(EventStore, a))).toMatchObject({ _tag: "Intact", events: 4 })
      }).pipe(Effect.scoped), 60_000)
  })

  describe("DynamoEventStore log partitions", () => {
    it.live("keeps each log chunk inside its bucket of positions and reads across buckets", () =>
      Effect.gen(function*() {
        const prefix = yield* freshTables(local.endpoint)
        const store = yield* storeOf(storeLayer(local.endpoint, prefix, { logBucketSize: 7 }))
        for (let i = 0; i < 5; i++) yield* store.appendEvents(`b-${i % 2}`, 4 * Math.floor(i / 2), events(4))
        const log = yield* store.readAll()
        expect(log.map((e) => e.position)).toEqual(oneTo(20))
        for (let from = 1; from <= 21; from++) {
          for (const limit of [1, 3, 7, 20]) {
            expect(yield* store.readAll({ fromPosition: from, limit })).toEqual(log.slice(from - 1, from - 1 + limit))
          }
        }
        for (const chunk of yield* logItems(prefix, "log")) {
          const bucket = Number(chunk.PK!.S!.split("#")[1])
          expect([Number(chunk.First!.N), Number(chunk.SK!.S)].map((p) => Math.floor((p - 1) / 7))).toEqual([bucket, bucket])
        }
        expect(yield* verifyChain().pipe(Effect.provideService(EventStore, store))).toMatchObject({ _tag: "Intact", events: 20 })
      }).pipe(Effect.provide(clientLayer(local.endpoint)), Effect.scoped), 60_000)
  })

  describe("DynamoEventStore when the relay is killed mid-flight", () => {
    const script = fileURLToPath(new URL("./relayChild.ts", import.meta.url))

    it.live("every committed event reaches the log exactly once, positions dense, the chain intact, even with two sequencers recovering", () =>
      Effect.gen(function*() {
        const prefix = yield* freshTables(local.endpoint)
        const acknowledged: Array<{ aggregateId: string; versions: [number, number]; positions: [number, number] }> = []
        let output = ""
        const child = spawn(process.execPath, ["--import", "tsx", script, local.endpoint, prefix, "6"], { stdio: ["ignore", "pipe", "pipe"] })
        const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()))
        yield* Effect.addFinalizer(() => Effect.sync(() => child.kill("SIGKILL")))
        child.stdout.on("data", (chunk) => {
          output += String(chunk)
          const lines = output.split("\n")
          output = lines.pop()!
          for (const line of lines) if (line.startsWith("{")) acknowledged.push(JSON.parse(line))
        })
        let errors = ""
        child.stderr.on("data", (chunk) => (errors += String(chunk)))
        const outbox = Effect.map(logItems(prefix, "outbox"), (items) => items.length)
        // wait for a good number of acknowledged appends, large ones among them, and a non-empty outbox; then SIGKILL
        yield* Effect.gen(function*() {
          const large = acknowledged.filter((a) => a.versions[1] - a.versions[0] >= 100).length
          return acknowledged.length >= 40 && large >= 3 && (yield* outbox) > 0
        }).pipe(
          Effect.repeat({ schedule: Schedule.spaced("20 millis"), until: (ready) => ready }),
          Effect.timeoutFail({ duration: "60 seconds", onTimeout: () => new Error(`the child never got going: ${errors}`) })
        )
        child.kill("SIGKILL")
        yield* Effect.promise(() => exited)
        yield* Effect.sleep("300 millis") // a request already sent may still land
        const stranded = yield* outbox
        expect(stranded, "the kill left committed appends in the outbox").toBeGreaterThan(0)

        // two sequencers (independent stores) recover at once while a third writer appends
        const [a, b] = [yield* storeOf(storeLayer(local.endpoint, prefix)), yield* storeOf(storeLayer(local.endpoint, prefix))]
        yield* Effect.forEach(oneTo(20), (i) => b.appendEvents("after-kill", i - 1, events(1)), { discard: true })
        yield* outbox.pipe(
          Effect.repeat({ schedule: Schedule.spaced("50 millis"), until: (n) => n === 0 }),
          Effect.timeoutFail({ duration: "30 seconds", onTimeout: () => new Error("the outbox was not drained") })
        )

        // committed = every event item; each is in the log exactly once, at dense positions
        const committed = yield* scan(`${prefix}events`)
        const log = yield* wholeLog.pipe(Effect.provideService(EventStore, a))
        expect(log.map((e) => e.position)).toEqual(oneTo(committed.length))
        expect(new Set(ids(log)).size).toBe(log.length)
        expect(new Set(ids(log))).toEqual(new Set(committed.map((i) => i.EventId!.S!)))
        const byAggregate = new Map<string, Array<number>>()
        for (const e of log) byAggregate.set(e.aggregateId, [...(byAggregate.get(e.aggregateId) ?? []), e.version])
        for (const [aggregateId, versions] of byAggregate) expect(versions, aggregateId).toEqual(oneTo(versions.length))
        expect(byAggregate.get("after-kill")).toEqual(oneTo(20))
        // what the child was told stands
        const at = new Map(log.map((e) => [`${e.aggregateId}@${e.version}`, e.position]))
        for (const ack of acknowledged) {
          expect([at.get(`${ack.aggregateId}@${ack.versions[0]}`), at.get(`${ack.aggregateId}@${ack.versions[1]}`)]).toEqual(ack.positions)
        }
        expect(yield* verifyChain().pipe(Effect.provideService(EventStore, b))).toMatchObject({ _tag: "Intact", events: log.length })
        expect(yield* a.head).toEqual(Option.some({ position: log.length, hash: log[log.length - 1]!.hash }))
      }).pipe(Effect.provide(clientLayer(local.endpoint)), Effect.scoped), 120_000)
  })
})
