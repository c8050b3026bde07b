import { HttpApiBuilder } from "@effect/platform"
import { BigDecimal, DateTime, Effect, Option } from "effect"
import * as Markets from "../../application/Markets.js"
import { display, PRICE_SCALE } from "../../domain/Decimal.js"
import type { MarketEvent } from "../../domain/Market.js"
import { LedgerlineApi } from "./Api.js"
import { commandContext, lastPosition, requireRole, toApiError } from "./HttpSupport.js"
import { NotFound } from "./ApiErrors.js"
import type { CommandResult } from "../../application/CommandHandler.js"
import { load } from "../../application/CommandHandler.js"
import { Markets as MarketAggregate } from "../../application/Aggregate.js"
import { CurrentUser } from "./Auth.js"

/** Defaults for a market opened over HTTP without settings: 10% tick band, 5% order band, halt on anomalies. */
const DEFAULT_PRICE_BAND = BigDecimal.unsafeFromString("0.10")
const DEFAULT_ORDER_BAND = BigDecimal.unsafeFromString("0.05")

const ack = (symbol: string) => (result: CommandResult<MarketEvent>) => ({
  symbol, events: result.events.map((e) => e._tag), version: result.version, position: lastPosition(result.recorded)
})

export const layer = HttpApiBuilder.group(LedgerlineApi, "markets", (handlers) =>
  handlers
    .handle("open", ({ headers, path, payload }) =>
      Effect.gen(function*() {
        yield* requireRole("risk")
        return yield* Markets.openMarket(path.symbol, {
          priceBand: payload.priceBand ?? DEFAULT_PRICE_BAND,
          orderBand: payload.orderBand ?? DEFAULT_ORDER_BAND,
          haltOnAnomaly: payload.haltOnAnomaly ?? true
        }, yield* commandContext(headers)).pipe(Effect.map(ack(path.symbol)), Effect.mapError(toApiError))
      }))
    .handle("close", ({ headers, path }) =>
      Effect.gen(function*() {
        yield* requireRole("risk")
        return yield* Markets.closeMarket(path.symbol, yield* commandContext(headers))
          .pipe(Effect.map(ack(path.symbol)), Effect.mapError(toApiError))
      }))
    .handle("halt", ({ headers, path, payload }) =>
      Effect.gen(function*() {
        yield* requireRole("risk")
        return yield* Markets.haltTrading(path.symbol, payload.reason ?? "halted by risk", yield* commandContext(headers))
          .pipe(Effect.map(ack(path.symbol)), Effect.mapError(toApiError))
      }))
    .handle("resume", ({ headers, path }) =>
      Effect.gen(function*() {
        yield* requireRole("risk")
        return yield* Markets.resumeTrading(path.symbol, yield* commandContext(headers))
          .pipe(Effect.map(ack(path.symbol)), Effect.mapError(toApiError))
      }))
    .handle("price", ({ headers, path, payload }) =>
      Effect.gen(function*() {
        yield* requireRole("risk")
        return yield* Markets.updatePrice(path.symbol, payload.price, payload.timestamp, yield* commandContext(headers))
          .pipe(Effect.map(ack(path.symbol)), Effect.mapError(toApiError))
      }))
    .handle("get", ({ path }) =>
      Effect.gen(function*() {
        yield* CurrentUser
        const { state } = yield* load(MarketAggregate)(path.symbol).pipe(Effect.mapError(toApiError))
        if (state.status === "UNLISTED") return yield* new NotFound({ code: "NOT_FOUND", message: `no market ${path.symbol}` })
        return {
          symbol: path.symbol,
          status: state.status,
          lastPrice: Option.getOrNull(Option.map(state.lastPrice, (p) => display(p, PRICE_SCALE))),
          lastUpdated: Option.getOrNull(Option.map(state.lastUpdated, DateTime.formatIso))
        }
      })))
