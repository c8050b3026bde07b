import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Option, Ref } from "effect"
import { CommandHandlerConfig } from "../../src/application/CommandHandler.js"
import { EventStore } from "../../src/application/ports/EventStore.js"
import * as TradingAccounts from "../../src/application/TradingAccounts.js"
import { AccountId, CustomerId } from "../../src/domain/Ids.js"
import { decimal } from "../../src/domain/Decimal.js"
import { MemoryStores, openAccountWith, USD } from "./fixtures.js"

class Reads extends Effect.Service<Reads>()("test/Reads", { effect: Ref.make(0) }) {}

/** The memory store, counting the stream reads made through it. */
const CountingStores = Layer.effect(
  EventStore,
  Effect.gen(function*() {
    const store = yield* EventStore
    const reads = yield* Reads
    return EventStore.of({ ...store, getEvents: (id, options) => Effect.zipRight(Ref.update(reads, (n) => n + 1), store.getEvents(id, options)) })
  })
).pipe(Layer.provideMerge(MemoryStores), Layer.provideMerge(Reads.Default))

const readsSoFar = Effect.flatMap(Reads, Ref.get)
const noCache = Effect.provideService(CommandHandlerConfig, { ...CommandHandlerConfig.defaultValue(), cacheCapacity: 0 })

describe("account owner", () => {
  it.effect("an account this process opened is known without a read", () =>
    Effect.gen(function*() {
      const accountId = yield* openAccountWith("10")
      const before = yield* readsSoFar
      expect(yield* TradingAccounts.accountOwner(accountId)).toEqual(Option.some(CustomerId.make("c-1")))
      expect(yield* readsSoFar).toBe(before)
    }).pipe(Effect.provide(CountingStores)))

  it.effect("read once from the store, then remembered (the command path's cache off)", () =>
    Effect.gen(function*() {
      const accountId = yield* openAccountWith("10")
      const before = yield* readsSoFar
      expect(yield* TradingAccounts.accountOwner(accountId)).toEqual(Option.some(CustomerId.make("c-1")))
      const afterFirst = yield* readsSoFar
      expect(afterFirst).toBeGreaterThan(before)
      expect(yield* TradingAccounts.accountOwner(accountId)).toEqual(Option.some(CustomerId.make("c-1")))
      expect(yield* readsSoFar).toBe(afterFirst)
    }).pipe(noCache, Effect.provide(CountingStores)))

  it.effect("an unknown account is none, read every time, and found once it is opened", () =>
    Effect.gen(function*() {
      const accountId = AccountId.make("0194f7c2-0000-7000-8000-0000000000aa")
      expect(yield* TradingAccounts.accountOwner(accountId)).toEqual(Option.none())
      const afterFirst = yield* readsSoFar
      expect(yield* TradingAccounts.accountOwner(accountId)).toEqual(Option.none())
      expect(yield* readsSoFar).toBeGreaterThan(afterFirst)
      yield* TradingAccounts.openAccount({
        accountId, customerId: CustomerId.make("c-2"), accountType: "INDIVIDUAL", currency: USD, initialBalance: decimal("1")
      }).pipe(noCache)
      expect(yield* TradingAccounts.accountOwner(accountId)).toEqual(Option.some(CustomerId.make("c-2")))
    }).pipe(Effect.provide(CountingStores)))

  it.effect("what one store's owners are is not remembered for another (each test's new store starts cold)", () =>
    Effect.gen(function*() {
      const accountId = yield* Effect.gen(function*() {
        const id = yield* openAccountWith("10")
        expect(yield* TradingAccounts.accountOwner(id)).toEqual(Option.some(CustomerId.make("c-1")))
        return id
      }).pipe(Effect.provide(MemoryStores))
      expect(yield* TradingAccounts.accountOwner(accountId).pipe(Effect.provide(MemoryStores))).toEqual(Option.none())
    }))
})
