import { describe, expect, it } from "@effect/vitest"
import { BigDecimal, DateTime, Duration, Effect, Exit, Fiber, Layer, Option, TestClock } from "effect"
import { Accounts } from "../../src/application/Aggregate.js"
import * as AggregateLocks from "../../src/application/AggregateLocks.js"
import { CommandHandlerConfig } from "../../src/application/CommandHandler.js"
import { EventStore } from "../../src/application/ports/EventStore.js"
import { SnapshotStore } from "../../src/application/ports/SnapshotStore.js"
import * as Markets from "../../src/application/Markets.js"
import * as TradingAccounts from "../../src/application/TradingAccounts.js"
import { InsufficientFunds, InsufficientPosition } from "../../src/domain/AccountRejections.js"
import { decimal } from "../../src/domain/Decimal.js"
import { ConcurrencyConflict } from "../../src/application/ports/EventStore.js"
import { ACME, MemoryStores, openAccountWith, openMarketAt } from "./fixtures.js"

const cashOf = (accountId: Parameters<typeof TradingAccounts.getAccount>[0]) =>
  Effect.map(TradingAccounts.getAccount(accountId), ({ state }) => {
    if (state._tag !== "Opened") throw new Error("account not open")
    return state.portfolio.cash
  })

/** Holds every read until both racers have read, so both decide on the same version. */
const racingStore = Layer.effect(
  EventStore,
  Effect.gen(function*() {
    const store = yield* EventStore
    return EventStore.of({
      ...store,
      getEvents: (id, options) => Effect.zipLeft(store.getEvents(id, options), Effect.yieldNow())
    })
  })
)

describe("command handler", () => {
  it.effect("appends the decided events at the loaded version and reports version and position", () =>
    Effect.gen(function*() {
      const accountId = yield* openAccountWith("100.00")
      const result = yield* TradingAccounts.depositFunds(accountId, decimal("50"))
      expect(result.version).toBe(2)
      expect(result.duplicate).toBe(false)
      expect(result.recorded.map((e) => [e.type, e.version, e.position])).toEqual([["FundsDeposited", 2, 2]])
      expect(result.recorded[0]!.metadata.commandId).toBe(result.recorded[0]!.metadata.correlationId)
      expect(yield* cashOf(accountId)).toEqual(decimal("150"))
    }).pipe(Effect.provide(MemoryStores)))

  it.effect("a repeated commandId returns the first result and appends nothing", () =>
    Effect.gen(function*() {
      const accountId = yield* openAccountWith("100.00")
      const first = yield* TradingAccounts.depositFunds(accountId, decimal("10"), { commandId: "deposit-1" })
      const again = yield* TradingAccounts.depositFunds(accountId, decimal("10"), { commandId: "deposit-1" })
      expect(again.duplicate).toBe(true)
      expect(again.version).toBe(first.version)
      expect(again.recorded.map((e) => e.eventId)).toEqual(first.recorded.map((e) => e.eventId))
      expect(yield* cashOf(accountId)).toEqual(decimal("110"))
      const store = yield* EventStore
      expect((yield* store.getEvents(`account-${accountId}`)).length).toBe(2)
    }).pipe(Effect.provide(MemoryStores)))

  it.effect("a refused order is recorded once as OrderRejected and a repeat answers the same refusal", () =>
    Effect.gen(function*() {
      yield* openMarketAt(ACME, "10")
      const accountId = yield* openAccountWith("100.00")
      const order = { symbol: ACME, side: "SELL", orderType: "MARKET", quantity: decimal("5"), limitPrice: Option.none() } as const
      const first = yield* Effect.exit(TradingAccounts.placeOrder(accountId, order, { commandId: "sell-1" }))
      const again = yield* Effect.exit(TradingAccounts.placeOrder(accountId, order, { commandId: "sell-1" }))
      const refusal = new InsufficientPosition({ symbol: ACME, requested: decimal("5"), available: decimal("0") })
      expect(first).toEqual(Exit.fail(refusal))
      expect(again).toEqual(Exit.fail(refusal))
      const store = yield* EventStore
      const events = yield* store.getEvents(`account-${accountId}`)
      expect(events.map((e) => e.type)).toEqual(["AccountOpened", "OrderRejected"])
      const recorded = Accounts.codec.decode(events[1]!.type, events[1]!.schemaVersion, events[1]!.data)
      expect(recorded._tag === "OrderRejected" && recorded.reason).toEqual(refusal)
    }).pipe(Effect.provide(MemoryStores)))

  it.effect("a rejection that is not a fact appends nothing", () =>
    Effect.gen(function*() {
      const accountId = yield* openAccountWith("10.00")
      const exit = yield* Effect.exit(TradingAccounts.withdrawFunds(accountId, decimal("10.01")))
      expect(exit).toEqual(Exit.fail(new InsufficientFunds({ requested: decimal("10.01"), available: decimal("10.00") })))
      const store = yield* EventStore
      expect((yield* store.getEvents(`account-${accountId}`)).length).toBe(1)
    }).pipe(Effect.provide(MemoryStores)))

  it.live("two commands racing on one account both succeed through a retry: no lost update", () =>
    Effect.gen(function*() {
      const accountId = yield* openAccountWith("0.00")
      const results = yield* Effect.all([
        TradingAccounts.depositFunds(accountId, decimal("1.10")),
        TradingAccounts.depositFunds(accountId, decimal("2.20"))
      ], { concurrency: 2 })
      expect(results.map((r) => r.version).sort()).toEqual([2, 3])
      expect(yield* cashOf(accountId)).toEqual(decimal("3.30"))
    }).pipe(Effect.provide(racingStore.pipe(Layer.provideMerge(MemoryStores)))))

  it.live("without retries the loser of a race (two processes: no shared cache) gets a ConcurrencyConflict and nothing of it is written", () =>
    Effect.gen(function*() {
      const accountId = yield* openAccountWith("0.00")
      const exits = yield* Effect.all([
        Effect.exit(TradingAccounts.depositFunds(accountId, decimal("1"))),
        Effect.exit(TradingAccounts.depositFunds(accountId, decimal("2")))
      ], { concurrency: 2 })
      const failures = exits.filter(Exit.isFailure)
      expect(failures).toHaveLength(1)
      expect(failures[0]).toEqual(Exit.fail(new ConcurrencyConflict({ aggregateId: `account-${accountId}`, expectedVersion: 1, actualVersion: 2 })))
      expect(BigDecimal.equals(yield* cashOf(accountId), decimal("1")) || BigDecimal.equals(yield* cashOf(accountId), decimal("2"))).toBe(true)
    }).pipe(
      Effect.provide(racingStore.pipe(Layer.provideMerge(MemoryStores))),
      Effect.provideService(CommandHandlerConfig, {
        ...CommandHandlerConfig.defaultValue(), snapshotEvery: 100, maxRetries: 0, retryBase: Duration.millis(1), cacheCapacity: 0
      })
    ))

  it.effect("the same commandId racing itself appends once", () =>
    Effect.gen(function*() {
      const accountId = yield* openAccountWith("0.00")
      const results = yield* Effect.all([
        TradingAccounts.depositFunds(accountId, decimal("5"), { commandId: "same" }),
        TradingAccounts.depositFunds(accountId, decimal("5"), { commandId: "same" })
      ], { concurrency: 2 })
      expect(results.map((r) => r.duplicate).sort()).toEqual([false, true])
      expect(yield* cashOf(accountId)).toEqual(decimal("5"))
    }).pipe(
      Effect.provide(racingStore.pipe(Layer.provideMerge(MemoryStores))),
      Effect.provideService(CommandHandlerConfig, { ...CommandHandlerConfig.defaultValue(), snapshotEvery: 100, maxRetries: 3, retryBase: Duration.zero })
    ))

  it.effect("snapshots every N events and loads snapshot + tail to the same state as a full fold", () =>
    Effect.gen(function*() {
      const accountId = yield* openAccountWith("0.00")
      for (let i = 1; i <= 7; i++) yield* TradingAccounts.depositFunds(accountId, decimal(`${i}.01`))
      const snapshots = yield* SnapshotStore
      const snapshot = yield* snapshots.load(`account-${accountId}`)
      expect(Option.map(snapshot, (s) => s.version)).toEqual(Option.some(6))
      const fromSnapshot = yield* TradingAccounts.getAccount(accountId)
      const fullFold = yield* TradingAccounts.getAccount(accountId).pipe(
        Effect.provide(Layer.succeed(SnapshotStore, SnapshotStore.of({ load: () => Effect.succeed(Option.none()), save: () => Effect.void })))
      )
      expect(fromSnapshot.version).toBe(8)
      expect(fromSnapshot).toEqual(fullFold)
      expect(yield* cashOf(accountId)).toEqual(decimal("28.07"))
    }).pipe(
      Effect.provide(MemoryStores),
      Effect.provideService(CommandHandlerConfig, { ...CommandHandlerConfig.defaultValue(), snapshotEvery: 3, maxRetries: 3, retryBase: Duration.millis(1) })
    ))

  it.effect("answers what the account held at an earlier instant with the same fold", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.parse("2026-03-02T14:00:00Z"))
      const accountId = yield* openAccountWith("100.00")
      yield* TestClock.adjust("33 minutes")
      yield* TradingAccounts.withdrawFunds(accountId, decimal("40"))
      const past = yield* TradingAccounts.getAccountAsOf(accountId, DateTime.unsafeMake("2026-03-02T14:32:00Z"))
      expect(past.version).toBe(1)
      expect(past.state._tag === "Opened" && past.state.portfolio.cash).toEqual(decimal("100.00"))
      const before = yield* TradingAccounts.getAccountAsOf(accountId, DateTime.unsafeMake("2026-03-02T13:59:59Z"))
      expect(before.state._tag).toBe("Unopened")
      expect(yield* cashOf(accountId)).toEqual(decimal("60"))
    }).pipe(Effect.provide(MemoryStores)))
})

/** Counts the reads the command path makes of the store. */
/** Counts reads; an idempotency check counts as `findByCommand` whether alone or in a batch (`commandsSeen`). */
const countingStore = (counts: { getEvents: number; findByCommand: number }) =>
  Layer.effect(EventStore, Effect.map(EventStore, (store) => EventStore.of({
    ...store,
    getEvents: (id, options) => Effect.suspend(() => (counts.getEvents += 1, store.getEvents(id, options))),
    findByCommand: (id, commandId) => Effect.suspend(() => (counts.findByCommand += 1, store.findByCommand(id, commandId))),
    commandsSeen: (keys) => Effect.suspend(() => (counts.findByCommand += keys.length, store.commandsSeen(keys))),
    // the check a commit makes counts as a lookup too
    appendIfNewCommand: (id, expected, events) =>
      Effect.suspend(() => (counts.findByCommand += 1, store.appendIfNewCommand!(id, expected, events)))
  })))

/** The last price an order placed now would see. */
const priceSeen = Effect.map(Markets.marketView(ACME), (view) => Option.getOrElse(Option.map(view.lastPrice, BigDecimal.format), () => "none"))

/** As another process would: through the same store, without this process's aggregate cache. */
const elsewhere = Effect.provideService(CommandHandlerConfig, { ...CommandHandlerConfig.defaultValue(), cacheCapacity: 0 })

describe("aggregate cache", () => {
  it.effect("decides the next command on the state the last one left, reading nothing from the store", () => {
    const counts = { getEvents: 0, findByCommand: 0 }
    return Effect.gen(function*() {
      const accountId = yield* openAccountWith("100.00")
      counts.getEvents = 0
      counts.findByCommand = 0
      yield* TradingAccounts.depositFunds(accountId, decimal("1"))
      const result = yield* TradingAccounts.withdrawFunds(accountId, decimal("101"))
      expect(counts).toEqual({ getEvents: 0, findByCommand: 0 })
      expect(result.version).toBe(3)
      expect(yield* cashOf(accountId)).toEqual(decimal("0"))
    }).pipe(Effect.provide(countingStore(counts).pipe(Layer.provideMerge(MemoryStores))))
  })

  it.effect("a command with a caller's commandId still looks it up, and a repeat returns the first result", () => {
    const counts = { getEvents: 0, findByCommand: 0 }
    return Effect.gen(function*() {
      const accountId = yield* openAccountWith("100.00")
      const first = yield* TradingAccounts.depositFunds(accountId, decimal("5"), { commandId: "deposit-1" })
      expect(counts.findByCommand).toBe(1)
      // the repeat is refused by the commit's check, and answered by the full handler, which reads its events
      const again = yield* TradingAccounts.depositFunds(accountId, decimal("5"), { commandId: "deposit-1" })
      expect(counts.findByCommand).toBe(3)
      expect([first.duplicate, again.duplicate]).toEqual([false, true])
      expect(again.recorded).toEqual(first.recorded)
      expect(yield* cashOf(accountId)).toEqual(decimal("105"))
    }).pipe(Effect.provide(countingStore(counts).pipe(Layer.provideMerge(MemoryStores))))
  })

  it.effect("a change another process made is caught by the append: the command reloads and decides on the fresh state", () =>
    Effect.gen(function*() {
      const accountId = yield* openAccountWith("10.00")
      yield* TradingAccounts.depositFunds(accountId, decimal("90")).pipe(elsewhere)
      // the cache still says 10.00: only the reload after the conflict lets this withdrawal pass
      const result = yield* TradingAccounts.withdrawFunds(accountId, decimal("60"))
      expect(result.version).toBe(3)
      expect(yield* cashOf(accountId)).toEqual(decimal("40"))
      const refused = yield* Effect.flip(TradingAccounts.withdrawFunds(accountId, decimal("41")))
      expect(refused).toBeInstanceOf(InsufficientFunds)
    }).pipe(Effect.provide(MemoryStores)))

  it.effect("a market view is at most readStaleness behind a change another process made, and exact for this one's", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.parse("2026-03-02T14:00:00Z"))
      yield* openMarketAt(ACME, "100")
      expect(yield* priceSeen).toBe("100")
      yield* TestClock.adjust("1 millis")
      yield* Markets.updatePrice(ACME, decimal("101"), yield* DateTime.now).pipe(elsewhere)
      expect(yield* priceSeen).toBe("100")
      yield* TestClock.adjust(Duration.sum(CommandHandlerConfig.defaultValue().readStaleness, Duration.millis(1)))
      expect(yield* priceSeen).toBe("101")
      yield* TestClock.adjust("1 millis")
      yield* Markets.updatePrice(ACME, decimal("102"), yield* DateTime.now)
      expect(yield* priceSeen).toBe("102")
    }).pipe(Effect.provide(MemoryStores)))
})

describe("market views refreshed ahead", () => {
  it.effect("past half of readStaleness a reader gets the cached view at once and the view is caught up behind it", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.parse("2026-03-02T14:00:00Z"))
      yield* openMarketAt(ACME, "100")
      yield* TestClock.adjust("1 millis")
      yield* Markets.updatePrice(ACME, decimal("101"), yield* DateTime.now).pipe(elsewhere)
      const half = Duration.toMillis(CommandHandlerConfig.defaultValue().readStaleness) / 2
      yield* TestClock.adjust(Duration.millis(half - 2))
      // not past half: nothing is read
      expect(yield* priceSeen).toBe("100")
      yield* TestClock.adjust("2 millis")
      // past half, within the bound: the cached view now, the fresh one read in the background
      expect(yield* priceSeen).toBe("100")
      for (let i = 0; i < 10; i++) yield* Effect.yieldNow()
      expect(yield* priceSeen).toBe("101")
    }).pipe(Effect.provide(MemoryStores)))
})

/** Fails every append with a conflict it counts; the command path must then never append twice at once. */
const appendCounter = (counts: { appends: number; concurrent: number; most: number }) =>
  Layer.effect(EventStore, Effect.map(EventStore, (store) => EventStore.of({
    ...store,
    appendEvents: (id, expected, events) =>
      Effect.acquireUseRelease(
        Effect.sync(() => {
          counts.appends += 1
          counts.concurrent += 1
          counts.most = Math.max(counts.most, counts.concurrent)
        }),
        () => Effect.zipRight(Effect.sleep("1 millis"), store.appendEvents(id, expected, events)),
        () => Effect.sync(() => { counts.concurrent -= 1 })
      )
  })))

describe("one writer per aggregate in a process", () => {
  it.live("concurrent commands on one account run one after another: none conflicts, even with no retries", () => {
    const counts = { appends: 0, concurrent: 0, most: 0 }
    return Effect.gen(function*() {
      const accountId = yield* openAccountWith("0.00")
      counts.appends = 0
      const results = yield* Effect.forEach(Array.from({ length: 20 }, (_, i) => i + 1), (i) =>
        TradingAccounts.depositFunds(accountId, decimal(`${i}.00`)), { concurrency: "unbounded" })
      expect(results.map((r) => r.version).sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i + 2))
      expect(counts).toMatchObject({ appends: 20, most: 1 })
      expect(yield* cashOf(accountId)).toEqual(decimal("210.00"))
    }).pipe(
      Effect.provide(appendCounter(counts).pipe(Layer.provideMerge(MemoryStores))),
      Effect.provideService(CommandHandlerConfig, { ...CommandHandlerConfig.defaultValue(), maxRetries: 0 })
    )
  })

  it.live("different accounts are not held up by each other", () => {
    const counts = { appends: 0, concurrent: 0, most: 0 }
    return Effect.gen(function*() {
      const accounts = yield* Effect.forEach([1, 2, 3, 4], () => openAccountWith("0.00"))
      counts.most = 0
      yield* Effect.forEach(accounts, (id) => TradingAccounts.depositFunds(id, decimal("1")), { concurrency: "unbounded" })
      expect(counts.most).toBe(4)
    }).pipe(Effect.provide(appendCounter(counts).pipe(Layer.provideMerge(MemoryStores))))
  })

  it.live("a command interrupted while it waits its turn leaves the line, and the next one still runs", () =>
    Effect.gen(function*() {
      const accountId = yield* openAccountWith("0.00")
      const slow = yield* Effect.fork(TradingAccounts.depositFunds(accountId, decimal("1")))
      const waiting = yield* Effect.fork(TradingAccounts.depositFunds(accountId, decimal("2")))
      yield* Effect.yieldNow()
      yield* Fiber.interrupt(waiting)
      yield* Fiber.join(slow)
      const after = yield* TradingAccounts.depositFunds(accountId, decimal("4")).pipe(Effect.timeout("5 seconds"))
      expect(after.version).toBe(3)
      expect(yield* cashOf(accountId)).toEqual(decimal("5.00"))
      expect(AggregateLocks.held(yield* EventStore)).toBe(0)
    }).pipe(Effect.provide(appendCounter({ appends: 0, concurrent: 0, most: 0 }).pipe(Layer.provideMerge(MemoryStores)))))

  it.effect("orders that find the market view too old at the same moment share one read of the market", () => {
    const counts = { getEvents: 0, findByCommand: 0 }
    return Effect.gen(function*() {
      yield* TestClock.setTime(Date.parse("2026-03-02T14:00:00Z"))
      yield* openMarketAt(ACME, "100")
      expect(yield* priceSeen).toBe("100")
      yield* TestClock.adjust("1 millis")
      yield* Markets.updatePrice(ACME, decimal("101"), yield* DateTime.now).pipe(elsewhere)
      yield* TestClock.adjust(Duration.sum(CommandHandlerConfig.defaultValue().readStaleness, Duration.millis(1)))
      counts.getEvents = 0
      const seen = yield* Effect.all(Array.from({ length: 10 }, () => priceSeen), { concurrency: "unbounded" })
      expect(seen).toEqual(Array.from({ length: 10 }, () => "101"))
      expect(counts.getEvents).toBe(1)
    }).pipe(Effect.provide(countingStore(counts).pipe(Layer.provideMerge(racingStore), Layer.provideMerge(MemoryStores))))
  })
})
