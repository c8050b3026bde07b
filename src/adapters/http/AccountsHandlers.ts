import { HttpApiBuilder } from "@effect/platform"
import { DateTime, Effect, Option, Schema } from "effect"
import { Accounts, decodeEvents, streamId } from "../../application/Aggregate.js"
import { EventStore } from "../../application/ports/EventStore.js"
import * as TradingAccounts from "../../application/TradingAccounts.js"
import { AccountEvent, RiskLimits } from "../../domain/AccountEvents.js"
import { CASH_SCALE, display, PRICE_SCALE, QUANTITY_SCALE } from "../../domain/Decimal.js"
import { AccountId, OrderId } from "../../domain/Ids.js"
import { availableCash } from "../../domain/TradingAccount.js"
import { Forbidden } from "./ApiErrors.js"
import { LedgerlineApi } from "./Api.js"
import { accessAccount, commandContext, lastPosition, requireRole, toApiError, uuidFor } from "./HttpSupport.js"

const cash = (x: Parameters<typeof display>[0]) => display(x, CASH_SCALE)
const optionalCash = (x: Option.Option<Parameters<typeof display>[0]>) => Option.getOrNull(Option.map(x, cash))
const encodeAccountEvent = Schema.encodeSync(AccountEvent)

export const layer = HttpApiBuilder.group(LedgerlineApi, "accounts", (handlers) =>
  handlers
    .handle("open", ({ headers, payload }) =>
      Effect.gen(function*() {
        const user = yield* requireRole("trader")
        if (!user.roles.includes("admin") && payload.customerId !== user.userId) {
          return yield* new Forbidden({ code: "FORBIDDEN", message: "a trader opens accounts only for their own customerId" })
        }
        const context = yield* commandContext(headers)
        // with an Idempotency-Key the account id is derived from it, so a repeat finds the first account
        const accountId = context.commandId === undefined ? undefined : AccountId.make(uuidFor(`account/${context.commandId}`))
        const result = yield* TradingAccounts.openAccount({ ...payload, ...(accountId === undefined ? {} : { accountId }) }, context)
          .pipe(Effect.mapError(toApiError))
        return { accountId: result.accountId, version: result.version, position: lastPosition(result.recorded) }
      }))
    .handle("get", ({ path }) =>
      Effect.gen(function*() {
        const { account, version } = yield* accessAccount(path.id, "read")
        const limits = account.limits
        return {
          accountId: account.accountId, customerId: account.customerId, accountType: account.accountType, currency: account.currency,
          status: "OPEN" as const, cash: cash(account.portfolio.cash), availableCash: cash(availableCash(account)),
          riskLimits: {
            maxOrderNotional: optionalCash(limits.maxOrderNotional),
            maxPositionPerSymbol: Option.getOrNull(Option.map(limits.maxPositionPerSymbol, (q) => display(q, QUANTITY_SCALE))),
            maxGrossExposure: optionalCash(limits.maxGrossExposure),
            allowShort: limits.allowShort
          },
          version
        }
      }))
    .handle("deposit", ({ headers, path, payload }) =>
      Effect.gen(function*() {
        yield* accessAccount(path.id, "trade")
        const result = yield* TradingAccounts.depositFunds(AccountId.make(path.id), payload.amount, yield* commandContext(headers))
          .pipe(Effect.mapError(toApiError))
        return { version: result.version, position: lastPosition(result.recorded) }
      }))
    .handle("withdraw", ({ headers, path, payload }) =>
      Effect.gen(function*() {
        yield* accessAccount(path.id, "trade")
        const result = yield* TradingAccounts.withdrawFunds(AccountId.make(path.id), payload.amount, yield* commandContext(headers))
          .pipe(Effect.mapError(toApiError))
        return { version: result.version, position: lastPosition(result.recorded) }
      }))
    .handle("setRiskLimits", ({ headers, path, payload }) =>
      Effect.gen(function*() {
        yield* requireRole("risk")
        yield* accessAccount(path.id, "read")
        const limits = new RiskLimits({
          maxOrderNotional: Option.fromNullable(payload.maxOrderNotional),
          maxPositionPerSymbol: Option.fromNullable(payload.maxPositionPerSymbol),
          maxGrossExposure: Option.fromNullable(payload.maxGrossExposure),
          allowShort: payload.allowShort ?? false
        })
        const result = yield* TradingAccounts.setRiskLimits(AccountId.make(path.id), limits, yield* commandContext(headers))
          .pipe(Effect.mapError(toApiError))
        return { version: result.version, position: lastPosition(result.recorded) }
      }))
    .handle("placeOrder", ({ headers, path, payload }) =>
      Effect.gen(function*() {
        yield* accessAccount(path.id, "trade")
        const result = yield* TradingAccounts.placeOrder(AccountId.make(path.id), {
          symbol: payload.symbol, side: payload.side, orderType: payload.type, quantity: payload.quantity,
          limitPrice: Option.fromNullable(payload.limitPrice)
        }, yield* commandContext(headers)).pipe(Effect.mapError(toApiError))
        const placed = result.events.find((e) => e._tag === "OrderPlaced")
        const trade = result.events.find((e) => e._tag === "TradeExecuted")
        return {
          orderId: placed?._tag === "OrderPlaced" ? placed.orderId : "",
          status: trade === undefined ? "OPEN" as const : "FILLED" as const,
          ...(trade?._tag === "TradeExecuted"
            ? {
              trade: {
                tradeId: trade.tradeId, quantity: display(trade.quantity, QUANTITY_SCALE), price: display(trade.price, PRICE_SCALE),
                executedAt: DateTime.formatIso(trade.executedAt)
              }
            }
            : {}),
          version: result.version,
          position: lastPosition(result.recorded)
        }
      }))
    .handle("cancelOrder", ({ headers, path }) =>
      Effect.gen(function*() {
        yield* accessAccount(path.id, "trade")
        const result = yield* TradingAccounts.cancelOrder(AccountId.make(path.id), OrderId.make(path.orderId), yield* commandContext(headers))
          .pipe(Effect.mapError(toApiError))
        return { orderId: path.orderId, version: result.version, position: lastPosition(result.recorded) }
      }))
    .handle("events", ({ path, urlParams }) =>
      Effect.gen(function*() {
        yield* accessAccount(path.id, "read")
        const store = yield* EventStore
        const limit = urlParams.limit ?? 100
        const page = yield* store.getEvents(streamId(Accounts, path.id), { fromVersion: urlParams.fromVersion ?? 1, limit: limit + 1 })
          .pipe(Effect.mapError(toApiError))
        const shown = page.slice(0, limit)
        const decoded = yield* decodeEvents(Accounts, shown)
        return {
          items: shown.map((e, i) => ({
            eventId: e.eventId, aggregateId: e.aggregateId, version: e.version, position: e.position,
            timestamp: DateTime.formatIso(e.timestamp), type: e.type, schemaVersion: e.schemaVersion,
            data: encodeAccountEvent(decoded[i]!), metadata: e.metadata, hash: e.hash
          })),
          nextFromVersion: page.length > limit ? shown[shown.length - 1]!.version + 1 : null
        }
      })))
