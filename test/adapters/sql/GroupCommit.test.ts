import { describe, expect, it } from "@effect/vitest"
import { Deferred, Duration, Effect, Either, Exit, Fiber, Scope } from "effect"
import * as GroupCommit from "../../../src/adapters/sql/GroupCommit.js"
import { EventStoreUnavailable } from "../../../src/application/ports/EventStore.js"

const request = (aggregateId: string): GroupCommit.AppendRequest => ({ aggregateId, expectedVersion: 0, events: [] })

/**
 * A commit that records the batches it was given and finishes each one when the test says: with
 * a gate per batch, in the order they were taken.
 */
const gated = Effect.sync(() => {
  const batches: Array<ReadonlyArray<string>> = []
  const gates: Array<Deferred.Deferred<boolean>> = []
  const commit: GroupCommit.Commit = (batch) =>
    Effect.gen(function*() {
      const gate = yield* Deferred.make<boolean>()
      batches.push(batch.map((r) => r.aggregateId))
      gates.push(gate)
      const ok = yield* Deferred.await(gate)
      if (!ok) return yield* new EventStoreUnavailable({ reason: "test: this batch failed" })
      return batch.map(() => Either.right({ nextVersion: 1, events: [] }))
    })
  const open = (i: number, ok = true) =>
    Effect.gen(function*() {
      while (gates.length <= i) yield* Effect.sleep(Duration.millis(1))
      yield* Deferred.succeed(gates[i]!, ok)
    })
  return { batches, commit, open }
})

describe("GroupCommit", () => {
  it.live("one in flight: the next batch is taken only once the one before has finished, with every append that waited", () =>
    Effect.gen(function*() {
      const { batches, commit, open } = yield* gated
      const append = yield* GroupCommit.make(commit, GroupCommit.defaultGroupCommit, 1)
      const first = yield* Effect.fork(append(request("a")))
      while (batches.length < 1) yield* Effect.sleep(Duration.millis(1))
      const rest = yield* Effect.fork(Effect.all(["b", "c", "d"].map((id) => append(request(id))), { concurrency: "unbounded" }))
      yield* Effect.sleep(Duration.millis(50))
      expect(batches).toEqual([["a"]])
      yield* open(0)
      yield* Fiber.join(first)
      yield* open(1)
      yield* Fiber.join(rest)
      expect(batches).toEqual([["a"], ["b", "c", "d"]])
    }).pipe(Effect.scoped))

  it.live("two in flight: the next batch goes while the first commits, with every append that waits, and settles after the first", () =>
    Effect.gen(function*() {
      const { batches, commit, open } = yield* gated
      const append = yield* GroupCommit.make(commit, GroupCommit.defaultGroupCommit, 2)
      const settled: Array<string> = []
      const tracked = (id: string) => Effect.tap(append(request(id)), () => Effect.sync(() => settled.push(id)))
      const first = yield* Effect.fork(tracked("a"))
      while (batches.length < 1) yield* Effect.sleep(Duration.millis(1))
      // the first batch holds a slot; the four that wait go out together in the second
      const rest = yield* Effect.fork(Effect.all(["b", "c", "d", "e"].map(tracked), { concurrency: "unbounded" }))
      while (batches.length < 2) yield* Effect.sleep(Duration.millis(1))
      expect(batches).toEqual([["a"], ["b", "c", "d", "e"]])
      // the second finishes first, but its appends settle only after the first batch's
      yield* open(1)
      yield* Effect.sleep(Duration.millis(50))
      expect(settled).toEqual([])
      yield* open(0)
      yield* Fiber.join(first)
      yield* Fiber.join(rest)
      expect(settled).toEqual(["a", "b", "c", "d", "e"])
    }).pipe(Effect.scoped))

  it.live("with both slots free, a batch takes its share of what waits and the rest go in the next at once", () =>
    Effect.gen(function*() {
      const { batches, commit, open } = yield* gated
      const append = yield* GroupCommit.make(commit, GroupCommit.defaultGroupCommit, 2)
      // four appends offered together: the writer wakes with all four waiting and two slots free
      const all = yield* Effect.fork(Effect.all(["a", "b", "c", "d"].map((id) => append(request(id))), { concurrency: "unbounded" }))
      while (batches.length < 2) yield* Effect.sleep(Duration.millis(1))
      yield* open(0)
      yield* open(1)
      yield* Fiber.join(all)
      expect(batches).toEqual([["a", "b"], ["c", "d"]])
    }).pipe(Effect.scoped))

  it.live("a failed batch fails its own appends only; the batch after it still commits", () =>
    Effect.gen(function*() {
      const { batches, commit, open } = yield* gated
      const append = yield* GroupCommit.make(commit, GroupCommit.defaultGroupCommit, 2)
      const first = yield* Effect.fork(Effect.exit(append(request("a"))))
      while (batches.length < 1) yield* Effect.sleep(Duration.millis(1))
      const second = yield* Effect.fork(Effect.exit(append(request("b"))))
      yield* open(0, false)
      yield* open(1)
      const [a, b] = [yield* Fiber.join(first), yield* Fiber.join(second)]
      expect(Exit.isFailure(a) && a.cause._tag === "Fail" && a.cause.error._tag).toBe("EventStoreUnavailable")
      expect(Exit.isSuccess(b)).toBe(true)
    }).pipe(Effect.scoped))

  it.live("closing waits for the commit in flight, which settles its callers, and fails the appends still waiting", () =>
    Effect.gen(function*() {
      const { batches, commit, open } = yield* gated
      const scope = yield* Scope.make()
      const append = yield* Scope.extend(GroupCommit.make(commit, GroupCommit.defaultGroupCommit, 1), scope)
      const first = yield* Effect.fork(Effect.exit(append(request("a"))))
      while (batches.length < 1) yield* Effect.sleep(Duration.millis(1))
      const waiting = yield* Effect.fork(Effect.exit(append(request("b"))))
      yield* Effect.sleep(Duration.millis(20))
      const closing = yield* Effect.fork(Scope.close(scope, Exit.void))
      const b = yield* Fiber.join(waiting)
      expect(Exit.isFailure(b) && b.cause._tag === "Fail" && b.cause.error._tag === "EventStoreUnavailable" && b.cause.error.reason)
        .toBe("the store is closed")
      // the scope stays open until the batch in flight has finished
      yield* Effect.sleep(Duration.millis(20))
      expect(closing.unsafePoll()).toBeNull()
      yield* open(0)
      yield* Fiber.join(closing)
      expect(Exit.isSuccess(yield* Fiber.join(first))).toBe(true)
      const late = yield* Effect.exit(append(request("c")))
      expect(Exit.isFailure(late)).toBe(true)
      expect(batches).toEqual([["a"]])
    }))

  it.live("with maxWait, the first append of a batch waits for company: what arrives meanwhile goes with it", () =>
    Effect.gen(function*() {
      const { batches, commit, open } = yield* gated
      const append = yield* GroupCommit.make(commit, { maxBatch: 512, maxWait: Duration.millis(40) }, 1)
      const first = yield* Effect.fork(append(request("a")))
      yield* Effect.sleep(Duration.millis(10))
      const second = yield* Effect.fork(append(request("b")))
      while (batches.length < 1) yield* Effect.sleep(Duration.millis(1))
      yield* open(0)
      yield* Fiber.join(first)
      yield* Fiber.join(second)
      expect(batches).toEqual([["a", "b"]])
    }).pipe(Effect.scoped))
})
