import { describe, expect, it } from "@effect/vitest"
import { Array as Arr, Effect, Exit, Layer, Option } from "effect"
import * as AggregateLocks from "../../src/application/AggregateLocks.js"
import { CommandHandlerConfig, CommandsOverloaded } from "../../src/application/CommandHandler.js"
import { laneCounts, MOST_PER_BATCH } from "../../src/application/DecisionBatch.js"
import { EventStore, EventStoreUnavailable } from "../../src/application/ports/EventStore.js"
import { SnapshotStore } from "../../src/application/ports/SnapshotStore.js"
import * as TradingAccounts from "../../src/application/TradingAccounts.js"
import { InsufficientFunds } from "../../src/domain/AccountRejections.js"
import { decimal } from "../../src/domain/Decimal.js"
import type { AccountId } from "../../src/domain/Ids.js"
import { ACME, MemoryStores, openAccountWith, openMarketAt } from "./fixtures.js"

const buy = (quantity: string) =>
  ({ symbol: ACME, side: "BUY", orderType: "MARKET", quantity: decimal(quantity), limitPrice: Option.none() }) as const

const cashOf = (accountId: AccountId) =>
  Effect.map(TradingAccounts.getAccount(accountId), ({ state }) => state._tag === "Opened" ? state.portfolio.cash : undefined)

const typesOf = (accountId: AccountId) =>
  Effect.flatMap(EventStore, (store) => Effect.map(store.getEvents(`account-${accountId}`), (events) => events.map((e) => [e.type, e.version])))

const lane = Effect.map(EventStore, (store) => ({ ...laneCounts(store) }))

/** As another process would: through the same store, without this process's aggregate cache. */
const elsewhere = Effect.provideService(CommandHandlerConfig, { ...CommandHandlerConfig.defaultValue(), cacheCapacity: 0 })

/** Fails the next `n` appends as if the database had gone away. */
const failingAppends = (left: { n: number }) =>
  Layer.effect(EventStore, Effect.map(EventStore, (store) => {
    const failing = Effect.suspend(() => (left.n -= 1, Effect.fail(new EventStoreUnavailable({ reason: "connection lost" }))))
    return EventStore.of({
      ...store,
      appendEvents: (id, expected, events) => left.n > 0 ? failing : store.appendEvents(id, expected, events),
      appendIfNewCommand: (id, expected, events) => left.n > 0 ? failing : store.appendIfNewCommand!(id, expected, events)
    })
  }))

type Counts = { commandsSeen: number; keys: number; findByCommand: number; checkedAppends: number }

/** Counts the idempotency reads and the appends checked by their commit. */
const lookups = (counts: Counts) =>
  Layer.effect(EventStore, Effect.map(EventStore, ({ appendIfNewCommand, ...store }) => {
    const counted: EventStore["Type"] = {
      ...store,
      commandsSeen: (keys) => Effect.suspend(() => (counts.commandsSeen += 1, counts.keys += keys.length, store.commandsSeen(keys))),
      findByCommand: (id, commandId) => Effect.suspend(() => (counts.findByCommand += 1, store.findByCommand(id, commandId)))
    }
    return appendIfNewCommand === undefined ? counted : {
      ...counted,
      appendIfNewCommand: (id, expected, events) => Effect.suspend(() => (counts.checkedAppends += 1, appendIfNewCommand(id, expected, events)))
    }
  }))

/** A store that cannot check a command in its commit (as the DynamoDB one). */
const withoutCheckedAppends = Layer.effect(EventStore, Effect.map(EventStore, ({ appendIfNewCommand: _, ...store }) => EventStore.of(store)))

/** Ten funded accounts, each sent one order with its caller's commandId, all at once; the counts from before the orders. */
const keyedOrders = (counts: Counts) =>
  Effect.gen(function*() {
    yield* openMarketAt(ACME, "10")
    const accounts = yield* Effect.forEach(Arr.range(1, 10), () => openAccountWith("1000.00"))
    const before = { ...counts }
    const first = yield* Effect.forEach(accounts, (id, i) => TradingAccounts.placeOrder(id, buy("1"), { commandId: `desk/order-${i}` }), {
      concurrency: "unbounded"
    })
    return { accounts, before, first }
  })

/** A repeat of the fourth order: answered with the first result, nothing appended. */
const repeatAnswersFirst = (accounts: ReadonlyArray<AccountId>, first: ReadonlyArray<{ readonly recorded: ReadonlyArray<unknown> }>) =>
  Effect.gen(function*() {
    const again = yield* TradingAccounts.placeOrder(accounts[3]!, buy("1"), { commandId: "desk/order-3" })
    expect(again.duplicate).toBe(true)
    expect(again.recorded).toEqual(first[3]!.recorded)
    expect(yield* typesOf(accounts[3]!)).toEqual([["AccountOpened", 1], ["OrderPlaced", 2], ["TradeExecuted", 3]])
    expect(yield* cashOf(accounts[3]!)).toEqual(decimal("990.00"))
  })

describe("the batched decision lane", () => {
  it.effect("the callers' commandIds are checked by the commit, with no read before it; a repeat returns the first result and appends nothing", () => {
    const counts: Counts = { commandsSeen: 0, keys: 0, findByCommand: 0, checkedAppends: 0 }
    return Effect.gen(function*() {
      const { accounts, before, first } = yield* keyedOrders(counts)
      expect(counts.commandsSeen).toBe(before.commandsSeen)
      expect(counts.checkedAppends - before.checkedAppends).toBe(10)
      expect(counts.findByCommand).toBe(before.findByCommand)
      expect(first.map((r) => r.duplicate)).toEqual(Arr.replicate(false, 10))
      // the repeat is decided, refused by the commit's check, and answered by the full handler
      yield* repeatAnswersFirst(accounts, first)
      // and the account goes on from where the first left it
      expect((yield* TradingAccounts.placeOrder(accounts[3]!, buy("1"), { commandId: "desk/order-3b" })).version).toBe(5)
    }).pipe(Effect.provide(lookups(counts).pipe(Layer.provideMerge(MemoryStores))))
  })

  it.effect("on a store without the commit's check, the callers' commandIds of a batch are looked up in one read; a repeat returns the first result", () => {
    const counts: Counts = { commandsSeen: 0, keys: 0, findByCommand: 0, checkedAppends: 0 }
    return Effect.gen(function*() {
      const { accounts, before, first } = yield* keyedOrders(counts)
      expect(counts.commandsSeen - before.commandsSeen).toBe(1)
      expect(counts.keys - before.keys).toBe(10)
      expect(counts.findByCommand).toBe(before.findByCommand)
      expect(first.map((r) => r.duplicate)).toEqual(Arr.replicate(false, 10))
      yield* repeatAnswersFirst(accounts, first)
    }).pipe(Effect.provide(lookups(counts).pipe(Layer.provideMerge(withoutCheckedAppends), Layer.provideMerge(MemoryStores))))
  })

  it.effect("orders sent together on cached accounts are decided in one batch, each appended at its own version", () =>
    Effect.gen(function*() {
      yield* openMarketAt(ACME, "10")
      const accounts = yield* Effect.forEach(Arr.range(1, 20), () => openAccountWith("1000.00"))
      const before = yield* lane
      const results = yield* Effect.forEach(accounts, (id) => TradingAccounts.placeOrder(id, buy("3")), { concurrency: "unbounded" })
      const after = yield* lane
      expect(after.batches - before.batches).toBe(1)
      expect(after.appended - before.appended).toBe(20)
      for (const [i, r] of results.entries()) {
        expect(r.duplicate).toBe(false)
        expect(r.version).toBe(3)
        expect(r.events.map((e) => e._tag)).toEqual(["OrderPlaced", "TradeExecuted"])
        expect(r.recorded.map((e) => [e.aggregateId, e.version])).toEqual([[`account-${accounts[i]}`, 2], [`account-${accounts[i]}`, 3]])
        expect(yield* cashOf(accounts[i]!)).toEqual(decimal("970.00"))
      }
    }).pipe(Effect.provide(MemoryStores)))

  it.effect("an order that crosses a snapshot boundary has its snapshot saved by the time it is answered", () =>
    Effect.gen(function*() {
      yield* openMarketAt(ACME, "10")
      const accounts = yield* Effect.forEach(Arr.range(1, 5), () => openAccountWith("1000.00"))
      const before = yield* lane
      // version 1 to 3 crosses 3, the snapshot interval
      yield* Effect.forEach(accounts, (id) => TradingAccounts.placeOrder(id, buy("2")), { concurrency: "unbounded" })
      const after = yield* lane
      expect(after.appended - before.appended).toBe(5)
      const snapshots = yield* SnapshotStore
      for (const id of accounts) {
        const saved = yield* snapshots.load(`account-${id}`)
        expect(Option.map(saved, (s) => s.version)).toEqual(Option.some(3))
      }
      // and the state it holds is the one the next command decides on
      const next = yield* TradingAccounts.placeOrder(accounts[0]!, buy("1"))
      expect(next.version).toBe(5)
      expect(yield* cashOf(accounts[0]!)).toEqual(decimal("970.00"))
    }).pipe(
      Effect.provide(MemoryStores),
      Effect.provideService(CommandHandlerConfig, { ...CommandHandlerConfig.defaultValue(), snapshotEvery: 3 })
    ))

  it.effect("more commands than one batch decides go in the batches after it, every one appended", () =>
    Effect.gen(function*() {
      yield* openMarketAt(ACME, "10")
      const n = MOST_PER_BATCH + 44
      const accounts = yield* Effect.forEach(Arr.range(1, n), () => openAccountWith("1000.00"))
      const before = yield* lane
      const results = yield* Effect.forEach(accounts, (id) => TradingAccounts.placeOrder(id, buy("1")), { concurrency: "unbounded" })
      const after = yield* lane
      expect(after.batches - before.batches).toBe(2)
      expect(after.appended - before.appended).toBe(n)
      expect(results.every((r) => r.version === 3)).toBe(true)
    }).pipe(Effect.provide(MemoryStores)))

  it.effect("two orders on one account sent together: the second waits for the first and decides on what it left", () =>
    Effect.gen(function*() {
      yield* openMarketAt(ACME, "10")
      const accountId = yield* openAccountWith("100.00")
      const [first, second] = yield* Effect.all([
        Effect.exit(TradingAccounts.placeOrder(accountId, buy("6"))),
        Effect.exit(TradingAccounts.placeOrder(accountId, buy("6")))
      ], { concurrency: "unbounded" })
      expect(Exit.isSuccess(first)).toBe(true)
      expect(second).toEqual(Exit.fail(new InsufficientFunds({ requested: decimal("60"), available: decimal("40") })))
      expect(yield* typesOf(accountId)).toEqual([["AccountOpened", 1], ["OrderPlaced", 2], ["TradeExecuted", 3], ["OrderRejected", 4]])
      expect(AggregateLocks.held(yield* EventStore)).toBe(0)
    }).pipe(Effect.provide(MemoryStores)))

  it.effect("a refusal decided on the cached state is confirmed on the store's and recorded once", () =>
    Effect.gen(function*() {
      yield* openMarketAt(ACME, "10")
      const accountId = yield* openAccountWith("100.00")
      yield* TradingAccounts.depositFunds(accountId, decimal("50")).pipe(elsewhere)
      // the cache says 100.00, the store 150.00: the lane would refuse 12 shares, the store's state allows them
      const result = yield* TradingAccounts.placeOrder(accountId, buy("12"))
      expect(result.version).toBe(4)
      expect(yield* cashOf(accountId)).toEqual(decimal("30.00"))
      const refused = yield* Effect.flip(TradingAccounts.placeOrder(accountId, buy("4")))
      expect(refused).toEqual(new InsufficientFunds({ requested: decimal("40"), available: decimal("30.00") }))
      expect((yield* typesOf(accountId)).map(([type]) => type)).toEqual(
        ["AccountOpened", "FundsDeposited", "OrderPlaced", "TradeExecuted", "OrderRejected"]
      )
    }).pipe(Effect.provide(MemoryStores)))

  it.effect("an append another process beat is retried by the full handler on the store's state", () =>
    Effect.gen(function*() {
      yield* openMarketAt(ACME, "10")
      const accountId = yield* openAccountWith("100.00")
      yield* TradingAccounts.depositFunds(accountId, decimal("5")).pipe(elsewhere)
      const before = yield* lane
      // the cache is at version 1: the lane decides and appends there, and the store refuses it
      const result = yield* TradingAccounts.placeOrder(accountId, buy("2"))
      expect((yield* lane).appended - before.appended).toBe(0)
      expect(result.recorded.map((e) => e.version)).toEqual([3, 4])
      expect(yield* cashOf(accountId)).toEqual(decimal("85.00"))
    }).pipe(Effect.provide(MemoryStores)))

  it.effect("a store that fails: the caller gets the failure, the account's turn is given back and its cache entry forgotten", () => {
    const left = { n: 0 }
    return Effect.gen(function*() {
      yield* openMarketAt(ACME, "10")
      const accountId = yield* openAccountWith("100.00")
      left.n = 1
      const failed = yield* Effect.flip(TradingAccounts.placeOrder(accountId, buy("1")))
      expect(failed).toEqual(new EventStoreUnavailable({ reason: "connection lost" }))
      expect(AggregateLocks.held(yield* EventStore)).toBe(0)
      const result = yield* TradingAccounts.placeOrder(accountId, buy("1"))
      expect(result.recorded.map((e) => e.version)).toEqual([2, 3])
      expect(yield* cashOf(accountId)).toEqual(decimal("90.00"))
    }).pipe(Effect.provide(failingAppends(left).pipe(Layer.provideMerge(MemoryStores))))
  })

  it.effect("off (batchDecisions false), every command runs the full handler", () =>
    Effect.gen(function*() {
      yield* openMarketAt(ACME, "10")
      const accountId = yield* openAccountWith("100.00")
      const before = yield* lane
      const result = yield* TradingAccounts.placeOrder(accountId, buy("1")).pipe(
        Effect.provideService(CommandHandlerConfig, { ...CommandHandlerConfig.defaultValue(), batchDecisions: false })
      )
      expect(result.version).toBe(3)
      expect(yield* lane).toEqual(before)
      // on by default: the same order again goes through the lane
      yield* TradingAccounts.placeOrder(accountId, buy("1"))
      expect((yield* lane).appended).toBe(before.appended + 1)
    }).pipe(Effect.provide(MemoryStores)))
})

describe("admission", () => {
  it.effect("beyond maxQueuedCommands in flight, a command is refused at once with CommandsOverloaded and nothing of it is written", () =>
    Effect.gen(function*() {
      yield* openMarketAt(ACME, "10")
      const accounts = yield* Effect.forEach(Arr.range(1, 5), () => openAccountWith("1000.00"))
      const exits = yield* Effect.forEach(accounts, (id) => Effect.exit(TradingAccounts.placeOrder(id, buy("1"))), {
        concurrency: "unbounded"
      }).pipe(Effect.provideService(CommandHandlerConfig, { ...CommandHandlerConfig.defaultValue(), maxQueuedCommands: 3 }))
      expect(exits.slice(0, 3).every(Exit.isSuccess)).toBe(true)
      expect(exits.slice(3)).toEqual(Arr.replicate(Exit.fail(new CommandsOverloaded({ inFlight: 3, limit: 3 })), 2))
      for (const id of accounts.slice(3)) expect(yield* typesOf(id)).toEqual([["AccountOpened", 1]])
      // the queue drained: the same orders now go through
      const again = yield* Effect.forEach(accounts.slice(3), (id) => TradingAccounts.placeOrder(id, buy("1")), { concurrency: "unbounded" })
      expect(again.map((r) => r.version)).toEqual([3, 3])
    }).pipe(Effect.provide(MemoryStores)))
})
