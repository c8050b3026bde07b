import { BigDecimal, Data, DateTime, Either, Option, Schema } from "effect"
import type { Decider } from "./Decider.js"
import { Decimal, PRICE_SCALE, fitsScale } from "./Decimal.js"
import { Symbol } from "./Ids.js"

// ---- events (one stream per symbol) ----

export class MarketOpened extends Schema.TaggedClass<MarketOpened>()("MarketOpened", {
  symbol: Symbol,
  /** Largest move between consecutive ticks, as a fraction of the last price, before a tick is an anomaly. */
  priceBand: Decimal,
  /** Largest distance of a LIMIT price from the last price, as a fraction (fat-finger guard). */
  orderBand: Decimal,
  /** Whether a price anomaly (other than an out-of-order tick) halts trading. */
  haltOnAnomaly: Schema.Boolean,
  openedAt: Schema.DateTimeUtc
}) {}

export class MarketClosed extends Schema.TaggedClass<MarketClosed>()("MarketClosed", {
  symbol: Symbol,
  closedAt: Schema.DateTimeUtc
}) {}

export class TradingHalted extends Schema.TaggedClass<TradingHalted>()("TradingHalted", {
  symbol: Symbol,
  reason: Schema.String,
  haltedAt: Schema.DateTimeUtc
}) {}

export class TradingResumed extends Schema.TaggedClass<TradingResumed>()("TradingResumed", {
  symbol: Symbol,
  resumedAt: Schema.DateTimeUtc
}) {}

export class PriceUpdated extends Schema.TaggedClass<PriceUpdated>()("PriceUpdated", {
  symbol: Symbol,
  price: Decimal,
  /** The feed's own time for the tick. */
  timestamp: Schema.DateTimeUtc
}) {}

export const PriceAnomaly = Schema.Literal("NON_POSITIVE_PRICE", "OUT_OF_ORDER", "BAND_EXCEEDED", "PRICE_SCALE")
export type PriceAnomaly = typeof PriceAnomaly.Type

/** A tick the market refused; kept as a fact so feed anomalies stay auditable. */
export class PriceRejected extends Schema.TaggedClass<PriceRejected>()("PriceRejected", {
  symbol: Symbol,
  price: Decimal,
  timestamp: Schema.DateTimeUtc,
  anomaly: PriceAnomaly,
  lastPrice: Schema.OptionFromNullOr(Decimal)
}) {}

export const MarketEvent = Schema.Union(MarketOpened, MarketClosed, TradingHalted, TradingResumed, PriceUpdated, PriceRejected)
export type MarketEvent = typeof MarketEvent.Type

/** Schema version of each market event type, stored with every event. */
export const MarketEventVersions = {
  MarketOpened: 2, MarketClosed: 2, TradingHalted: 2, TradingResumed: 2, PriceUpdated: 2, PriceRejected: 2
} as const satisfies Record<MarketEvent["_tag"], number>

// ---- commands ----

export type MarketCommand = Data.TaggedEnum<{
  OpenMarket: {
    readonly symbol: Symbol
    readonly priceBand: BigDecimal.BigDecimal
    readonly orderBand: BigDecimal.BigDecimal
    readonly haltOnAnomaly: boolean
    readonly at: DateTime.Utc
  }
  CloseMarket: { readonly at: DateTime.Utc }
  HaltTrading: { readonly reason: string; readonly at: DateTime.Utc }
  ResumeTrading: { readonly at: DateTime.Utc }
  UpdatePrice: { readonly price: BigDecimal.BigDecimal; readonly timestamp: DateTime.Utc }
}>
export const MarketCommand = Data.taggedEnum<MarketCommand>()

// ---- rejections ----

export class MarketNotListed extends Schema.TaggedError<MarketNotListed>()("MarketNotListed", {}) {
  get code() { return "MARKET_NOT_LISTED" as const }
  override get message() { return "The market has never been opened" }
}
export class MarketAlreadyOpen extends Schema.TaggedError<MarketAlreadyOpen>()("MarketAlreadyOpen", { symbol: Symbol }) {
  get code() { return "MARKET_ALREADY_OPEN" as const }
  override get message() { return `Market ${this.symbol} is already open` }
}
export class MarketNotOpen extends Schema.TaggedError<MarketNotOpen>()("MarketNotOpen", { symbol: Symbol }) {
  get code() { return "MARKET_CLOSED" as const }
  override get message() { return `Market ${this.symbol} is closed` }
}
export class TradingAlreadyHalted extends Schema.TaggedError<TradingAlreadyHalted>()("TradingAlreadyHalted", { symbol: Symbol }) {
  get code() { return "MARKET_ALREADY_HALTED" as const }
  override get message() { return `Trading in ${this.symbol} is already halted` }
}
export class MarketNotHalted extends Schema.TaggedError<MarketNotHalted>()("MarketNotHalted", { symbol: Symbol }) {
  get code() { return "MARKET_NOT_HALTED" as const }
  override get message() { return `Trading in ${this.symbol} is not halted` }
}
export class InvalidBand extends Schema.TaggedError<InvalidBand>()("InvalidBand", { field: Schema.String }) {
  get code() { return "INVALID_BAND" as const }
  override get message() { return `${this.field} must be a fraction above 0 and at most 1` }
}

export type MarketRejection = MarketNotListed | MarketAlreadyOpen | MarketNotOpen | TradingAlreadyHalted | MarketNotHalted | InvalidBand

// ---- state ----

export const MarketStatus = Schema.Literal("UNLISTED", "OPEN", "HALTED", "CLOSED")
export type MarketStatus = typeof MarketStatus.Type

export class MarketState extends Schema.Class<MarketState>("MarketState")({
  symbol: Schema.OptionFromNullOr(Symbol),
  status: MarketStatus,
  lastPrice: Schema.OptionFromNullOr(Decimal),
  lastUpdated: Schema.OptionFromNullOr(Schema.DateTimeUtc),
  priceBand: Decimal,
  orderBand: Decimal,
  haltOnAnomaly: Schema.Boolean
}) {}

const one = BigDecimal.fromBigInt(1n)
const initialState = new MarketState({
  symbol: Option.none(), status: "UNLISTED", lastPrice: Option.none(), lastUpdated: Option.none(),
  priceBand: one, orderBand: one, haltOnAnomaly: false
}, true)

/** What an account needs to know of a market to decide an order: passed in, so `decide` stays pure. */
export interface MarketView {
  readonly symbol: Symbol
  readonly status: MarketStatus
  readonly lastPrice: Option.Option<BigDecimal.BigDecimal>
  readonly orderBand: BigDecimal.BigDecimal
}

export const view = (symbol: Symbol, state: MarketState): MarketView => ({
  symbol, status: state.status, lastPrice: state.lastPrice, orderBand: state.orderBand
})

/** |price - reference| / reference, the relative distance both bands are about. */
export const relativeDistance = (price: BigDecimal.BigDecimal, reference: BigDecimal.BigDecimal) =>
  BigDecimal.unsafeDivide(BigDecimal.abs(BigDecimal.subtract(price, reference)), reference)

/**
 * Whether `price` is within `band` of a positive `reference` (relative distance at most `band`),
 * decided without dividing: |price − reference| ≤ band × reference, exact, where the quotient would
 * be worked out to a hundred digits on every price update and every LIMIT order.
 */
export const withinBand = (price: BigDecimal.BigDecimal, reference: BigDecimal.BigDecimal, band: BigDecimal.BigDecimal): boolean =>
  BigDecimal.lessThanOrEqualTo(BigDecimal.abs(BigDecimal.subtract(price, reference)), BigDecimal.multiply(band, reference))

const validBand = (band: BigDecimal.BigDecimal) => BigDecimal.isPositive(band) && BigDecimal.lessThanOrEqualTo(band, one)

const priceAnomaly = (state: MarketState, price: BigDecimal.BigDecimal, timestamp: DateTime.Utc): Option.Option<PriceAnomaly> => {
  if (!BigDecimal.isPositive(price)) return Option.some("NON_POSITIVE_PRICE")
  if (!fitsScale(price, PRICE_SCALE)) return Option.some("PRICE_SCALE")
  if (Option.isSome(state.lastUpdated) && DateTime.lessThanOrEqualTo(timestamp, state.lastUpdated.value)) {
    return Option.some("OUT_OF_ORDER")
  }
  if (Option.isSome(state.lastPrice) && !withinBand(price, state.lastPrice.value, state.priceBand)) {
    return Option.some("BAND_EXCEEDED")
  }
  return Option.none()
}

const symbolOf = (state: MarketState): Either.Either<Symbol, MarketRejection> =>
  Option.match(state.symbol, { onNone: () => Either.left(new MarketNotListed()), onSome: Either.right })

type Decision = Either.Either<ReadonlyArray<MarketEvent>, MarketRejection>

export const decide = (command: MarketCommand, state: MarketState): Decision => {
  switch (command._tag) {
    case "OpenMarket": {
      if (state.status === "OPEN" || state.status === "HALTED") return Either.left(new MarketAlreadyOpen({ symbol: command.symbol }))
      if (!validBand(command.priceBand)) return Either.left(new InvalidBand({ field: "priceBand" }))
      if (!validBand(command.orderBand)) return Either.left(new InvalidBand({ field: "orderBand" }))
      return Either.right([new MarketOpened({
        symbol: command.symbol, priceBand: command.priceBand, orderBand: command.orderBand,
        haltOnAnomaly: command.haltOnAnomaly, openedAt: command.at
      })])
    }
    case "CloseMarket":
      return Either.flatMap(symbolOf(state), (symbol): Decision =>
        state.status === "OPEN" || state.status === "HALTED"
          ? Either.right([new MarketClosed({ symbol, closedAt: command.at })])
          : Either.left(new MarketNotOpen({ symbol })))
    case "HaltTrading":
      return Either.flatMap(symbolOf(state), (symbol): Decision =>
        state.status === "OPEN"
          ? Either.right([new TradingHalted({ symbol, reason: command.reason, haltedAt: command.at })])
          : Either.left(state.status === "HALTED" ? new TradingAlreadyHalted({ symbol }) : new MarketNotOpen({ symbol })))
    case "ResumeTrading":
      return Either.flatMap(symbolOf(state), (symbol): Decision =>
        state.status === "HALTED"
          ? Either.right([new TradingResumed({ symbol, resumedAt: command.at })])
          : Either.left(new MarketNotHalted({ symbol })))
    case "UpdatePrice":
      return Either.flatMap(symbolOf(state), (symbol): Decision => {
        if (state.status !== "OPEN" && state.status !== "HALTED") return Either.left(new MarketNotOpen({ symbol }))
        const timestamp = command.timestamp
        return Option.match(priceAnomaly(state, command.price, command.timestamp), {
          onNone: () => Either.right([new PriceUpdated({ symbol, price: command.price, timestamp })]),
          onSome: (anomaly) => {
            const rejected = new PriceRejected({ symbol, price: command.price, timestamp, anomaly, lastPrice: state.lastPrice })
            // A stale or repeated tick is a feed glitch, not a price move: it never halts trading.
            const halts = state.haltOnAnomaly && state.status === "OPEN" && anomaly !== "OUT_OF_ORDER"
            return Either.right(halts
              ? [rejected, new TradingHalted({ symbol, reason: `price anomaly: ${anomaly}`, haltedAt: timestamp })]
              : [rejected])
          }
        })
      })
  }
}

export const evolve = (state: MarketState, event: MarketEvent): MarketState => {
  switch (event._tag) {
    case "MarketOpened":
      return new MarketState({
        ...state, symbol: Option.some(event.symbol), status: "OPEN",
        priceBand: event.priceBand, orderBand: event.orderBand, haltOnAnomaly: event.haltOnAnomaly
      }, true)
    case "MarketClosed":
      return new MarketState({ ...state, status: "CLOSED" }, true)
    case "TradingHalted":
      return new MarketState({ ...state, status: "HALTED" }, true)
    case "TradingResumed":
      return new MarketState({ ...state, status: "OPEN" }, true)
    case "PriceUpdated":
      return new MarketState({ ...state, lastPrice: Option.some(event.price), lastUpdated: Option.some(event.timestamp) }, true)
    case "PriceRejected":
      return state
  }
}

export const Market: Decider<MarketCommand, MarketState, MarketEvent, MarketRejection> = {
  initialState,
  decide,
  evolve
}
