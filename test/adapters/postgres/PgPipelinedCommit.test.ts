import { SqlClient } from "@effect/sql"
import { PgClient } from "@effect/sql-pg"
import { describe, expect, it } from "@effect/vitest"
import { Context, DateTime, Deferred, Effect, Fiber, Layer, Option, type Redacted } from "effect"
import * as PgEventStore from "../../../src/adapters/postgres/PgEventStore.js"
import * as SqlStores from "../../../src/adapters/sql/SqlStores.js"
import { verifyChain } from "../../../src/application/ChainVerification.js"
import { GENESIS, link } from "../../../src/application/HashChain.js"
import { type ChainLink, EventStore, type NewEvent, type RecordedEvent } from "../../../src/application/ports/EventStore.js"
import { freshSchema, runPgSuites } from "./pgTest.js"

const at = DateTime.unsafeMake(1_767_225_600_000)
let ids = 0
const event = (note: string): NewEvent => ({
  eventId: `0190a000-0000-7000-8000-${String(++ids).padStart(12, "0")}`, type: "Noted", schemaVersion: 1, timestamp: at,
  data: new TextEncoder().encode(note), metadata: { userId: "u", correlationId: "c", causationId: "c", commandId: `cmd-${ids}` }
})

/** One event of an aggregate (a new one unless `version` says), linked after `after`: its row and the head it leaves. */
const rowAfter = (
  after: ChainLink,
  aggregateId: string,
  version = 1,
  commandId?: string
): { readonly row: RecordedEvent; readonly head: ChainLink } => {
  const made = event(aggregateId)
  const metadata = commandId === undefined ? made.metadata : { ...made.metadata, commandId }
  const stored = { ...made, metadata, aggregateId, version, position: after.position + 1 }
  const hash = link(after.hash, stored)
  return { row: { ...stored, hash }, head: { position: stored.position, hash } }
}

/** A client of its own on the schema: one connection, as another session would have. */
const session = (url: Redacted.Redacted) =>
  Layer.build(PgClient.layer({ url, maxConnections: 1 })).pipe(Effect.map(Context.get(SqlClient.SqlClient)))

/** The PostgreSQL dialect, counting one-statement commits that wrote while another was in flight. */
const counting = () => {
  const counts = { inFlight: 0, mostInFlight: 0, writtenOverlapping: 0, locked: 0, checked: [] as Array<number> }
  const insertIfUnchanged = PgEventStore.dialect.insertIfUnchanged!
  const dialect: typeof PgEventStore.dialect = {
    ...PgEventStore.dialect,
    insert: (sql, rows, head) => {
      counts.locked++
      return PgEventStore.dialect.insert(sql, rows, head)
    },
    insertIfUnchanged: (sql, rows, expected, head, checks, commands) =>
      Effect.suspend(() => {
        counts.checked.push(checks.length)
        const overlapping = ++counts.inFlight > 1
        counts.mostInFlight = Math.max(counts.mostInFlight, counts.inFlight)
        return insertIfUnchanged(sql, rows, expected, head, checks, commands).pipe(
          Effect.tap((written) => {
            if (written && overlapping) counts.writtenOverlapping++
          }),
          Effect.ensuring(Effect.sync(() => counts.inFlight--))
        )
      })
  }
  return { counts, dialect }
}

/** `streams` writers, each appending `appends` events one at a time to a stream of its own. */
const writers = (store: Context.Tag.Service<EventStore>, prefix: string, streams: number, appends: number) =>
  Effect.forEach(Array.from({ length: streams }, (_, i) => `${prefix}-${i}`), (stream) =>
    Effect.iterate(0, {
      while: (version) => version < appends,
      body: (version) => Effect.map(store.appendEvents(stream, version, [event(stream)]), (r) => r.nextVersion)
    }), { concurrency: "unbounded" })

describe.runIf(runPgSuites)("PostgreSQL: pipelined commits (docs/adr/0020)", () => {
  for (const outcome of ["commits", "rolls back"] as const) {
    it.live(`a commit chained on one in flight waits for it, then ${outcome === "commits" ? "writes as that one committed" : "writes nothing as that one rolled back"}`, () =>
      Effect.gen(function*() {
        const { url } = yield* freshSchema
        yield* Layer.build(PgEventStore.layer({ url, maxConnections: 1 })) // migrated
        const [first, second] = [yield* session(url), yield* session(url)]
        const genesis = { position: 0, hash: GENESIS }
        const a = rowAfter(genesis, "agg-a")
        const b = rowAfter(a.head, "agg-b")
        const insert = PgEventStore.dialect.insertIfUnchanged!
        const wrote = yield* Deferred.make<boolean>()
        const release = yield* Deferred.make<void>()
        const firstTx = yield* Effect.fork(first.withTransaction(Effect.gen(function*() {
          yield* Deferred.succeed(wrote, yield* insert(first, [a.row], genesis, a.head, [{ aggregateId: "agg-a", version: 0 }], []))
          yield* Deferred.await(release)
          if (outcome === "rolls back") return yield* Effect.fail("rolled back" as const)
        })))
        const chained = yield* Effect.gen(function*() {
          expect(yield* Deferred.await(wrote)).toBe(true)
          const chained = yield* Effect.fork(insert(second, [b.row], a.head, b.head, [{ aggregateId: "agg-b", version: 0 }], []))
          yield* Effect.sleep("300 millis")
          expect(Option.isNone(yield* Fiber.poll(chained)), "the chained commit waits while the first holds the head").toBe(true)
          return chained
        }).pipe(Effect.ensuring(Deferred.succeed(release, undefined))) // the first ends, whatever failed here
        yield* Fiber.await(firstTx)
        expect(yield* Fiber.join(chained)).toBe(outcome === "commits")
        const [head] = yield* second<{ position: string }>`SELECT position FROM event_head`
        expect(Number(head?.position)).toBe(outcome === "commits" ? 2 : 0)
        expect((yield* second<{ n: string }>`SELECT count(*) AS n FROM events`)[0]?.n).toBe(outcome === "commits" ? "2" : "0")
      }).pipe(Effect.scoped), 60_000)
  }

  it.live("a row whose aggregate and version are taken makes the one-statement commit write nothing, without a check", () =>
    Effect.gen(function*() {
      const { url } = yield* freshSchema
      yield* Layer.build(PgEventStore.layer({ url, maxConnections: 1 })) // migrated
      const sql = yield* session(url)
      const insert = PgEventStore.dialect.insertIfUnchanged!
      const genesis = { position: 0, hash: GENESIS }
      const a = rowAfter(genesis, "agg-a")
      expect(yield* insert(sql, [a.row], genesis, a.head, [], [])).toBe(true)
      // version 1 of agg-a again, chained on the head as it is: no check names it, the key refuses it
      const again = rowAfter(a.head, "agg-a")
      const fresh = rowAfter(again.head, "agg-c")
      expect(yield* insert(sql, [again.row, { ...fresh.row, position: again.row.position + 1 }], a.head, fresh.head, [], [])).toBe(false)
      const [head] = yield* sql<{ position: string }>`SELECT position FROM event_head`
      expect(Number(head?.position), "the head did not move").toBe(1)
      expect((yield* sql<{ n: string }>`SELECT count(*) AS n FROM events`)[0]?.n, "nothing of the batch went in").toBe("1")
    }).pipe(Effect.scoped), 60_000)

  it.live("a commit with new commands writes nothing if one of them has an event, as a commit in flight wrote it", () =>
    Effect.gen(function*() {
      const { url } = yield* freshSchema
      yield* Layer.build(PgEventStore.layer({ url, maxConnections: 1 })) // migrated
      const first = yield* session(url)
      const second = yield* session(url)
      const insert = PgEventStore.dialect.insertIfUnchanged!
      const genesis = { position: 0, hash: GENESIS }
      const a = rowAfter(genesis, "agg-a")
      const command = { aggregateId: "agg-a", commandId: a.row.metadata.commandId }
      // the same command again, at agg-a's next version, chained on the first commit's head
      const repeat = rowAfter(a.head, "agg-a", 2, command.commandId)
      const wrote = yield* Deferred.make<boolean>()
      const release = yield* Deferred.make<void>()
      const firstTx = yield* Effect.fork(first.withTransaction(Effect.gen(function*() {
        yield* Deferred.succeed(wrote, yield* insert(first, [a.row], genesis, a.head, [], [command]))
        yield* Deferred.await(release)
      })))
      const chained = yield* Effect.gen(function*() {
        expect(yield* Deferred.await(wrote), "new when it went in").toBe(true)
        const chained = yield* Effect.fork(insert(second, [repeat.row], a.head, repeat.head, [], [command]))
        yield* Effect.sleep("200 millis")
        expect(Option.isNone(yield* Fiber.poll(chained)), "the chained commit waits while the first holds the head").toBe(true)
        return chained
      }).pipe(Effect.ensuring(Deferred.succeed(release, undefined)))
      yield* Fiber.join(firstTx)
      expect(yield* Fiber.join(chained), "the repeat saw the command the first had just committed").toBe(false)
      expect((yield* second<{ n: string }>`SELECT count(*) AS n FROM events`)[0]?.n).toBe("1")
      // the same version with a command agg-a has not seen goes in
      const fresh = rowAfter(a.head, "agg-a", 2, "cmd-fresh")
      expect(yield* insert(second, [fresh.row], a.head, fresh.head, [], [{ aggregateId: "agg-a", commandId: "cmd-fresh" }])).toBe(true)
      expect((yield* second<{ n: string }>`SELECT count(*) AS n FROM events`)[0]?.n).toBe("2")
    }).pipe(Effect.scoped), 60_000)

  it.live("an append at the version this store last committed, which another process has moved on since, is a conflict and writes nothing", () =>
    Effect.gen(function*() {
      const { url } = yield* freshSchema
      const { counts, dialect } = counting()
      const mine = Context.get(
        yield* Layer.build(
          Layer.scopedContext(SqlStores.make({ ...PgEventStore.engine, dialect })).pipe(Layer.provide(PgClient.layer({ url, maxConnections: 2 })))
        ),
        EventStore
      )
      const other = Context.get(yield* Layer.build(PgEventStore.layer({ url, maxConnections: 2 })), EventStore)
      yield* mine.appendEvents("acct", 0, [event("mine 1")])
      yield* other.appendEvents("acct", 1, [event("theirs 2")])
      // this store learns the head the other one left (its attempt fails on the head, the locked path writes)
      yield* mine.appendEvents("elsewhere", 0, [event("mine elsewhere")])
      const attempts = counts.checked.length
      const refused = yield* Effect.flip(mine.appendEvents("acct", 1, [event("mine 2")]))
      expect(refused).toMatchObject({ _tag: "ConcurrencyConflict", aggregateId: "acct", expectedVersion: 1, actualVersion: 2 })
      expect(counts.checked.slice(attempts), "one attempt, its version not looked up: the primary key refused it").toEqual([0])
      expect((yield* mine.getEvents("acct")).map((e) => new TextDecoder().decode(e.data))).toEqual(["mine 1", "theirs 2"])
      // and at the version it now knows, it writes
      expect((yield* mine.appendEvents("acct", 2, [event("mine 3")])).nextVersion).toBe(3)
      expect(yield* verifyChain().pipe(Effect.provideService(EventStore, mine))).toMatchObject({ _tag: "Intact", events: 4 })
    }).pipe(Effect.scoped), 60_000)

  it.live("many writers: batches go out while the one before commits, and the log is as if they went one at a time, with another process writing too", () =>
    Effect.gen(function*() {
      const { url } = yield* freshSchema
      const { counts, dialect } = counting()
      const stores = (yield* Layer.build(
        Layer.scopedContext(SqlStores.make({ ...PgEventStore.engine, dialect })).pipe(Layer.provide(PgClient.layer({ url, maxConnections: 4 })))
      ))
      const store = Context.get(stores, EventStore)
      // alone first: chained batches write while the one before them commits
      yield* writers(store, "alone", 48, 20)
      expect(counts.mostInFlight).toBe(2)
      expect(counts.writtenOverlapping, "a chained batch wrote while the one before was in flight").toBeGreaterThan(0)
      // then with a second store on the same schema (another process) moving the head under it
      const other = Context.get(yield* Layer.build(PgEventStore.layer({ url, maxConnections: 2 })), EventStore)
      const lockedBefore = counts.locked
      yield* Effect.all([writers(store, "mine", 48, 20), writers(other, "theirs", 8, 40)], { concurrency: 2 })
      expect(counts.locked, "some batches found the head moved and took the locked path").toBeGreaterThan(lockedBefore)
      const log = yield* store.readAll({ limit: 10_000 })
      expect(log.map((e) => e.position)).toEqual(Array.from({ length: 48 * 20 * 2 + 8 * 40 }, (_, i) => i + 1))
      const versions = new Map<string, Array<number>>()
      for (const e of log) versions.set(e.aggregateId, [...(versions.get(e.aggregateId) ?? []), e.version])
      expect(versions.size).toBe(48 * 2 + 8)
      for (const [stream, seen] of versions) {
        expect(seen, stream).toEqual(Array.from({ length: stream.startsWith("theirs") ? 40 : 20 }, (_, i) => i + 1))
      }
      expect(yield* verifyChain().pipe(Effect.provideService(EventStore, store))).toMatchObject({ _tag: "Intact", events: log.length })
    }).pipe(Effect.scoped), 120_000)
})
