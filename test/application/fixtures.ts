import { DateTime, Deferred, Effect, Layer, Option } from "effect"
import * as Memory from "../../src/adapters/memory/index.js"
import { RiskLimits } from "../../src/domain/AccountEvents.js"
import { decimal } from "../../src/domain/Decimal.js"
import { Currency, CustomerId, Symbol } from "../../src/domain/Ids.js"
import { CommandHandlerConfig } from "../../src/application/CommandHandler.js"
import * as Markets from "../../src/application/Markets.js"
import { EventStore } from "../../src/application/ports/EventStore.js"
import * as TradingAccounts from "../../src/application/TradingAccounts.js"

export const ACME = Symbol.make("ACME")
export const USD = Currency.make("USD")

/** A fresh in-memory store per test. */
export const MemoryStores = Layer.merge(Memory.MemoryEventStore.layer, Memory.MemorySnapshotStore.layer)

export const openAccountWith = (initialBalance: string) =>
  Effect.map(
    TradingAccounts.openAccount({
      customerId: CustomerId.make("c-1"), accountType: "INDIVIDUAL", currency: USD, initialBalance: decimal(initialBalance)
    }),
    (r) => r.accountId
  )

export const openMarketAt = (symbol: Symbol, price: string) =>
  Effect.gen(function*() {
    yield* Markets.openMarket(symbol, { priceBand: decimal("0.5"), orderBand: decimal("0.2"), haltOnAnomaly: true })
    yield* Markets.updatePrice(symbol, decimal(price), yield* DateTime.now)
  })

export const limits = (fields: Partial<{ maxOrderNotional: string; maxPositionPerSymbol: string; maxGrossExposure: string; allowShort: boolean }>) =>
  new RiskLimits({
    maxOrderNotional: Option.map(Option.fromNullable(fields.maxOrderNotional), decimal),
    maxPositionPerSymbol: Option.map(Option.fromNullable(fields.maxPositionPerSymbol), decimal),
    maxGrossExposure: Option.map(Option.fromNullable(fields.maxGrossExposure), decimal),
    allowShort: fields.allowShort ?? false
  })

/** Appends to `blocked.stream` wait until `gate` opens: a command that keeps its place in the process. */
export const gatedAppends = (gate: Deferred.Deferred<void>, blocked: { stream: string }) =>
  Layer.effect(EventStore, Effect.map(EventStore, (store) => EventStore.of({
    ...store,
    appendEvents: (id, expected, events) =>
      id === blocked.stream ? Effect.zipRight(Deferred.await(gate), store.appendEvents(id, expected, events)) : store.appendEvents(id, expected, events)
  })))

/** At most one command in flight in the process (CommandHandlerConfig.maxQueuedCommands). */
export const oneAtATime = Effect.provideService(CommandHandlerConfig, { ...CommandHandlerConfig.defaultValue(), maxQueuedCommands: 1 })
