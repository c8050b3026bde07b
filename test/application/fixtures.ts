import { DateTime, Effect, Layer, Option } from "effect"
import * as Memory from "../../src/adapters/memory/index.js"
import { RiskLimits } from "../../src/domain/AccountEvents.js"
import { decimal } from "../../src/domain/Decimal.js"
import { Currency, CustomerId, Symbol } from "../../src/domain/Ids.js"
import * as Markets from "../../src/application/Markets.js"
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
