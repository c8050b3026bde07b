import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Layer, Logger, LogLevel, Queue, Schedule, Stream } from "effect"
import * as Memory from "../../src/adapters/memory/index.js"
import { EventStore, type RecordedEvent } from "../../src/application/ports/EventStore.js"
import { ReadModel } from "../../src/application/ports/ReadModel.js"
import { ReadModelStore } from "../../src/application/ports/ReadModelStore.js"
import { type FeedBatch, type FeedOptions, runProjectionsFromFeed } from "../../src/application/ProjectionsFromFeed.js"
import * as TradingAccounts from "../../src/application/TradingAccounts.js"
import { decimal } from "../../src/domain/Decimal.js"
import { openAccountWith } from "./fixtures.js"
import { dump, projectAll } from "./projectionSuite.js"

/** Ten events of one account: every one changes its cash, so one applied twice or skipped shows. */
const history = Effect.gen(function*() {
  const id = yield* openAccountWith("100.00")
  for (let i = 1; i <= 9; i++) yield* TradingAccounts.depositFunds(id, decimal(`${i}`))
  return { id, log: yield* Effect.flatMap(EventStore, (s) => s.readAll()) }
})

/** A feed the test delivers by hand, and the checkpoints the runner stored. */
const handFeed = Effect.gen(function*() {
  const queue = yield* Queue.unbounded<FeedBatch<never>>()
  const stored: Array<string> = []
  const deliver = (log: ReadonlyArray<RecordedEvent>, partition: string, positions: ReadonlyArray<number>, label: string) =>
    Queue.offer(queue, { partition, events: positions.map((p) => log[p - 1]!), checkpoint: Effect.sync(() => void stored.push(label)) })
  const run = (options: FeedOptions = {}) =>
    Effect.fork(runProjectionsFromFeed(Stream.fromQueue(queue), { gapWait: "1 hour", ...options }))
  return { deliver, run, stored }
})

const position = Effect.flatMap(ReadModel, (r) => r.position)
/** Lets the runner take what was delivered (before checking that something did not happen). */
const settle = Effect.sleep("60 millis")
/** Waits until every projection has applied `p` (at most 5 s). */
const reached = (p: number) =>
  position.pipe(
    Effect.repeat({ schedule: Schedule.spaced("5 millis"), until: (at) => at >= p }),
    Effect.timeoutFail({ duration: "5 seconds", onTimeout: () => new Error(`the read models did not reach ${p}`) })
  )

describe("projections from a partitioned feed", () => {
  it.live("applies in position order whatever the arrival order, and stores a partition's checkpoint only once applied past it", () =>
    Effect.gen(function*() {
      const { id, log } = yield* history
      const { deliver, run, stored } = yield* handFeed
      yield* run()
      yield* deliver(log, "B", [3, 4], "B1") // ahead of 1 and 2: held
      yield* settle
      expect([yield* position, stored]).toEqual([0, []])
      yield* deliver(log, "A", [1, 2], "A1")
      yield* reached(4)
      yield* settle // the checkpoints are stored just after the commits
      expect([...stored].sort()).toEqual(["A1", "B1"])
      yield* deliver(log, "A", [2, 5, 6], "A2") // 2 again (a redelivery): dropped
      yield* deliver(log, "B", [8], "B2") // 7 missing: held, B not checkpointed past it
      yield* settle
      expect([yield* position, stored.includes("B2")]).toEqual([6, false])
      yield* deliver(log, "A", [7, 9, 10], "A3")
      yield* reached(10)
      yield* settle // the checkpoints are stored just after the commits
      expect(stored.slice(-2).sort()).toEqual(["A3", "B2"])
      const fromFeed = yield* dump([id], [])
      const reference = yield* Layer.build(Memory.MemoryReadModel.layer)
      yield* Effect.provide(projectAll, reference)
      expect(fromFeed).toEqual(yield* Effect.provide(dump([id], []), reference))
      expect(fromFeed.accounts[0]!.portfolio).toEqual(expect.objectContaining({ _tag: "Some" }))
    }).pipe(Effect.provide(Memory.layer), Effect.scoped))

  it.live("a hole still open after gapWait is read from the event store; a rebuilt projection is brought back the same way", () =>
    Effect.gen(function*() {
      const { id, log } = yield* history
      const { deliver, run, stored } = yield* handFeed
      yield* run({ gapWait: "50 millis" })
      yield* deliver(log, "A", [1, 2], "A1")
      yield* deliver(log, "B", [5, 6], "B1") // 3 and 4 never come
      yield* reached(6)
      yield* settle // the checkpoints are stored just after the commits
      expect([...stored].sort()).toEqual(["A1", "B1"])

      const store = yield* ReadModelStore
      yield* store.reset("portfolio") // a rebuild empties one projection while the runner goes on
      yield* deliver(log, "A", [7], "A2")
      yield* reached(7) // the portfolio too, read again from position 1
      yield* deliver(log, "B", [8, 9, 10], "B2")
      yield* reached(10)
      const reference = yield* Layer.build(Memory.MemoryReadModel.layer)
      yield* Effect.provide(projectAll, reference)
      expect(yield* dump([id], [])).toEqual(yield* Effect.provide(dump([id], []), reference))
    }).pipe(Effect.provide(Memory.layer), Effect.scoped, Logger.withMinimumLogLevel(LogLevel.Warning)))

  it.live("a restart after a stop with events held re-reads them from the unstored checkpoints", () =>
    Effect.gen(function*() {
      const { id, log } = yield* history
      const first = yield* handFeed
      const runner = yield* first.run()
      yield* first.deliver(log, "A", [1, 2, 3], "A1")
      yield* first.deliver(log, "B", [5, 6], "B1") // held behind 4
      yield* settle
      yield* Fiber.interrupt(runner) // the process stops: B1 was never checkpointed, so B resumes before 5
      expect([yield* position, first.stored]).toEqual([3, ["A1"]])
      const second = yield* handFeed
      yield* second.run()
      yield* second.deliver(log, "B", [5, 6, 8], "B1") // read again
      yield* second.deliver(log, "A", [4, 7, 9, 10], "A2") // A resumes after its stored checkpoint
      yield* reached(10)
      const reference = yield* Layer.build(Memory.MemoryReadModel.layer)
      yield* Effect.provide(projectAll, reference)
      expect(yield* dump([id], [])).toEqual(yield* Effect.provide(dump([id], []), reference))
    }).pipe(Effect.provide(Memory.layer), Effect.scoped))
})
