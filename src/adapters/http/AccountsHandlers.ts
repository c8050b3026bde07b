import { HttpApiBuilder } from "@effect/platform"
import { type BigDecimal, DateTime, Effect, Option, Schema } from "effect"
import type { CommandContext } from "../../application/CommandHandler.js"
import { Accounts, decodeEvents, streamId } from "../../application/Aggregate.js"
import { EventStore } from "../../application/ports/EventStore.js"
import * as TradingAccounts from "../../application/TradingAccounts.js"
import { AccountEvent, RiskLimits } from "../../domain/AccountEvents.js"
import { CASH_SCALE, display, PRICE_SCALE, QUANTITY_SCALE } from "../../domain/Decimal.js"
import { AccountId, OrderId } from "../../domain/Ids.js"
import { availableCash } from "../../domain/TradingAccount.js"
import { accountSummary } from "../../application/AccountSummary.js"
import { portfolioAsOf } from "../../application/AsOf.js"
import { ReadModel } from "../../application/ports/ReadModel.js"
import { waitFor } from "../../application/Projections.js"
import { decodeTradeCursor } from "../../application/projections/ReadModelRows.js"
import type * as Portfolio from "../../domain/Portfolio.js"
import { BadRequest, Forbidden, NotFound, Unavailable } from "./ApiErrors.js"
import { LedgerlineApi } from "./Api.js"
import { accessAccount, type CommandHeaders, commandContext, lastPosition, readAccount, requireRole, toApiError, uuidFor } from "./HttpSupport.js"

const cash = (x: Parameters<typeof display>[0]) => display(x, CASH_SCALE)
const optionalCash = (x: Option.Option<Parameters<typeof display>[0]>) => Option.getOrNull(Option.map(x, cash))
const encodeAccountEvent = Schema.encodeSync(AccountEvent)

const readModelDown = () => new Unavailable({ code: "UNAVAILABLE", message: "the read model is unavailable; retry" })
const notProjectedYet = new Unavailable({ code: "NOT_YET_PROJECTED", message: "the read model has not caught up yet; retry" })

/** Read-your-writes: with `minPosition`, wait (up to 2 s) until the read model has projected it, else 503. */
const readYourWrites = (minPosition: number | undefined) =>
  minPosition === undefined
    ? Effect.void
    : waitFor(minPosition, "2 seconds").pipe(
      Effect.asVoid,
      Effect.catchTags({
        ProjectionTimeout: (e) => new Unavailable({ code: "NOT_YET_PROJECTED", message: e.message, details: { position: e.position, reached: e.reached } }),
        ReadModelUnavailable: readModelDown
      })
    )

/** A deposit or a withdrawal, by the account's owner. */
const moveCash = <E extends Parameters<typeof toApiError>[0], R>(
  useCase: (accountId: AccountId, amount: BigDecimal.BigDecimal, context: Partial<CommandContext>) =>
    Effect.Effect<{ readonly version: number; readonly recorded: ReadonlyArray<{ readonly position: number }> }, E, R>,
  { headers, path, payload }: { readonly headers: CommandHeaders; readonly path: { readonly id: string }; readonly payload: { readonly amount: BigDecimal.BigDecimal } }
) =>
  Effect.gen(function*() {
    yield* accessAccount(path.id, "trade")
    const result = yield* useCase(AccountId.make(path.id), payload.amount, yield* commandContext(headers)).pipe(Effect.mapError(toApiError))
    return { version: result.version, position: lastPosition(result.recorded) }
  })

const portfolioBody = (accountId: string, asOf: DateTime.Utc, v: Portfolio.Valuation) => ({
  accountId, asOf: DateTime.formatIso(asOf), cash: cash(v.cash), equity: cash(v.equity),
  positions: v.positions.map((p) => ({
    symbol: p.symbol, quantity: display(p.quantity, QUANTITY_SCALE), avgCost: display(p.averageCost, PRICE_SCALE),
    marketPrice: Option.getOrNull(Option.map(p.marketPrice, (x) => display(x, PRICE_SCALE))),
    marketValue: optionalCash(p.marketValue), unrealizedPnl: optionalCash(p.unrealizedPnl), realizedPnl: cash(p.realizedPnl)
  }))
})

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
        const { account, version } = yield* readAccount(path.id)
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
    .handle("deposit", (request) => moveCash(TradingAccounts.depositFunds, request))
    .handle("withdraw", (request) => moveCash(TradingAccounts.withdrawFunds, request))
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
    .handle("portfolio", ({ path, urlParams }) =>
      Effect.gen(function*() {
        yield* accessAccount(path.id, "read")
        if (urlParams.at !== undefined) {
          const past = yield* portfolioAsOf(AccountId.make(path.id), urlParams.at).pipe(Effect.mapError(toApiError))
          if (Option.isNone(past)) {
            return yield* new NotFound({ code: "NOT_FOUND", message: `account ${path.id} did not exist at ${DateTime.formatIso(urlParams.at)}` })
          }
          return portfolioBody(path.id, urlParams.at, past.value.valuation)
        }
        yield* readYourWrites(urlParams.minPosition)
        const readModel = yield* ReadModel
        const row = yield* readModel.portfolio(path.id).pipe(Effect.mapError(readModelDown))
        if (Option.isNone(row)) return yield* notProjectedYet
        const p = row.value
        return {
          accountId: path.id, asOf: DateTime.formatIso(p.lastUpdated), cash: cash(p.cash), equity: cash(p.equity),
          positions: p.positions.map((x) => ({
            symbol: x.symbol, quantity: display(x.quantity, QUANTITY_SCALE), avgCost: display(x.avgCost, PRICE_SCALE),
            marketPrice: Option.getOrNull(Option.map(x.marketPrice, (v) => display(v, PRICE_SCALE))),
            marketValue: optionalCash(x.marketValue), unrealizedPnl: optionalCash(x.unrealizedPnl), realizedPnl: cash(x.realizedPnl)
          }))
        }
      }))
    .handle("summary", ({ path, urlParams }) =>
      Effect.gen(function*() {
        yield* accessAccount(path.id, "read")
        yield* readYourWrites(urlParams.minPosition)
        const found = yield* accountSummary(path.id).pipe(Effect.mapError(readModelDown))
        if (Option.isNone(found)) return yield* notProjectedYet
        const s = found.value
        return {
          accountId: path.id, asOf: DateTime.formatIso(s.lastUpdated), asOfPosition: s.asOfPosition, cash: cash(s.cash),
          equity: cash(s.equity), realizedPnl: cash(s.realizedPnl), unrealizedPnl: optionalCash(s.unrealizedPnl), openPositions: s.openPositions
        }
      }))
    .handle("trades", ({ path, urlParams }) =>
      Effect.gen(function*() {
        yield* accessAccount(path.id, "read")
        if (urlParams.cursor !== undefined && Option.isNone(decodeTradeCursor(urlParams.cursor))) {
          return yield* new BadRequest({ code: "VALIDATION", message: "the cursor is not one this API issued", details: [{ field: "cursor" }] })
        }
        yield* readYourWrites(urlParams.minPosition)
        const readModel = yield* ReadModel
        const page = yield* readModel.trades(path.id, {
          limit: urlParams.limit ?? 50,
          ...(urlParams.from === undefined ? {} : { from: urlParams.from }),
          ...(urlParams.to === undefined ? {} : { to: urlParams.to }),
          ...(urlParams.symbol === undefined ? {} : { symbol: urlParams.symbol }),
          ...(urlParams.cursor === undefined ? {} : { cursor: urlParams.cursor })
        }).pipe(Effect.mapError(readModelDown))
        return {
          items: page.items.map((t) => ({
            tradeId: t.tradeId, orderId: t.orderId, symbol: t.symbol, side: t.side, quantity: display(t.quantity, QUANTITY_SCALE),
            price: display(t.price, PRICE_SCALE), executedAt: DateTime.formatIso(t.executedAt)
          })),
          nextCursor: Option.getOrNull(page.nextCursor)
        }
      }))
    .handle("balanceHistory", ({ path, urlParams }) =>
      Effect.gen(function*() {
        yield* accessAccount(path.id, "read")
        if (urlParams.from > urlParams.to) {
          return yield* new BadRequest({ code: "VALIDATION", message: "from is after to", details: [{ field: "from" }] })
        }
        yield* readYourWrites(urlParams.minPosition)
        const readModel = yield* ReadModel
        const points = yield* readModel.balanceHistory(path.id, urlParams.from, urlParams.to).pipe(Effect.mapError(readModelDown))
        return points.map((p) => ({ date: p.date, cash: cash(p.cash), equity: cash(p.equity) }))
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
