import { describe, expect, it } from "@effect/vitest"
import { BigDecimal, DateTime, Either, FastCheck, Option } from "effect"
import { fold } from "../../src/domain/Decider.js"
import { decimal } from "../../src/domain/Decimal.js"
import { Symbol } from "../../src/domain/Ids.js"
import {
  InvalidBand, Market, MarketAlreadyOpen, MarketClosed, MarketCommand, type MarketEvent, MarketNotHalted, MarketNotListed,
  MarketNotOpen, MarketOpened, type MarketState, PriceRejected, PriceUpdated, relativeDistance, TradingAlreadyHalted, TradingHalted, TradingResumed, view,
  withinBand
} from "../../src/domain/Market.js"

const at = DateTime.unsafeMake("2026-03-02T14:32:00Z")
const t0 = DateTime.unsafeMake("2026-03-02T14:00:00Z")
const t1 = DateTime.unsafeMake("2026-03-02T14:00:01Z")
const t2 = DateTime.unsafeMake("2026-03-02T14:00:02Z")
const AAPL = Symbol.make("AAPL")

const given = (events: ReadonlyArray<MarketEvent>) => ({
  when: (command: MarketCommand) => Market.decide(command, fold(Market)(events))
})

const stateOf = (events: ReadonlyArray<MarketEvent>): MarketState => fold(Market)(events)

/** The events a command decided, failing the test on a rejection. */
const accepted = (decision: Either.Either<ReadonlyArray<MarketEvent>, unknown>): ReadonlyArray<MarketEvent> =>
  Either.getOrThrowWith(decision, (rejection) => new Error(`unexpected rejection: ${String(rejection)}`))

/** The rejection of a command, failing the test when it was accepted. */
const rejected = <R>(decision: Either.Either<ReadonlyArray<MarketEvent>, R>): R =>
  Either.match(decision, {
    onLeft: (r) => r,
    onRight: (events) => {
      throw new Error(`unexpected acceptance: ${events.map((e) => e._tag).join(", ")}`)
    }
  })

const opened = (haltOnAnomaly = false) =>
  new MarketOpened({ symbol: AAPL, priceBand: decimal("0.05"), orderBand: decimal("0.10"), haltOnAnomaly, openedAt: t0 })
const closed = new MarketClosed({ symbol: AAPL, closedAt: t0 })
const halted = new TradingHalted({ symbol: AAPL, reason: "news pending", haltedAt: t0 })
const resumed = new TradingResumed({ symbol: AAPL, resumedAt: t0 })
const priced = (price: string, timestamp: DateTime.Utc = t1) => new PriceUpdated({ symbol: AAPL, price: decimal(price), timestamp })

const openMarket = (priceBand = "0.05", orderBand = "0.10", haltOnAnomaly = false) =>
  MarketCommand.OpenMarket({ symbol: AAPL, priceBand: decimal(priceBand), orderBand: decimal(orderBand), haltOnAnomaly, at })
const closeMarket = MarketCommand.CloseMarket({ at })
const haltTrading = MarketCommand.HaltTrading({ reason: "circuit breaker", at })
const resumeTrading = MarketCommand.ResumeTrading({ at })
const updatePrice = (price: string, timestamp: DateTime.Utc = t2) => MarketCommand.UpdatePrice({ price: decimal(price), timestamp })

describe("Market: initial state", () => {
  it("is unlisted, with no symbol and no price", () => {
    const state = stateOf([])
    expect(state.status).toBe("UNLISTED")
    expect(state.symbol).toEqual(Option.none())
    expect(state.lastPrice).toEqual(Option.none())
    expect(state.lastUpdated).toEqual(Option.none())
  })
})

describe("OpenMarket", () => {
  it("lists and opens an unlisted market with its bands", () => {
    const events = accepted(given([]).when(openMarket("0.05", "0.10", true)))
    expect(events).toEqual([
      new MarketOpened({ symbol: AAPL, priceBand: decimal("0.05"), orderBand: decimal("0.1"), haltOnAnomaly: true, openedAt: at })
    ])
    const state = stateOf(events)
    expect(state.status).toBe("OPEN")
    expect(state.symbol).toEqual(Option.some(AAPL))
    expect(state.priceBand).toEqual(decimal("0.05"))
    expect(state.orderBand).toEqual(decimal("0.10"))
    expect(state.haltOnAnomaly).toBe(true)
  })

  it("reopens a closed market, keeping its last price", () => {
    const history = [opened(), priced("100"), closed]
    const state = stateOf([...history, ...accepted(given(history).when(openMarket()))])
    expect(state.status).toBe("OPEN")
    expect(state.lastPrice).toEqual(Option.some(decimal("100")))
  })

  it.each([
    ["open", [opened()]],
    ["halted", [opened(), halted]]
  ] as const)("refuses to open a market that is already %s: MarketAlreadyOpen", (_, history) => {
    const rejection = rejected(given(history).when(openMarket()))
    expect(rejection).toEqual(new MarketAlreadyOpen({ symbol: AAPL }))
    expect(rejection.code).toBe("MARKET_ALREADY_OPEN")
  })

  it.each(["0", "-0.05", "1.01"])("refuses a price band of %s: InvalidBand on priceBand", (band) => {
    const rejection = rejected(given([]).when(openMarket(band, "0.10")))
    expect(rejection).toEqual(new InvalidBand({ field: "priceBand" }))
    expect(rejection.code).toBe("INVALID_BAND")
  })

  it.each(["0", "-1", "2"])("refuses an order band of %s: InvalidBand on orderBand", (band) => {
    expect(given([]).when(openMarket("0.05", band))).toEqual(Either.left(new InvalidBand({ field: "orderBand" })))
  })

  it("accepts bands of exactly 1", () => {
    expect(Either.isRight(given([]).when(openMarket("1", "1")))).toBe(true)
  })
})

describe("CloseMarket", () => {
  it("closes an open market", () => {
    const events = accepted(given([opened()]).when(closeMarket))
    expect(events).toEqual([new MarketClosed({ symbol: AAPL, closedAt: at })])
    expect(stateOf([opened(), ...events]).status).toBe("CLOSED")
  })

  it("closes a halted market", () => {
    expect(given([opened(), halted]).when(closeMarket)).toEqual(Either.right([new MarketClosed({ symbol: AAPL, closedAt: at })]))
  })

  it("refuses to close an unlisted market: MarketNotListed", () => {
    const rejection = rejected(given([]).when(closeMarket))
    expect(rejection).toEqual(new MarketNotListed())
    expect(rejection.code).toBe("MARKET_NOT_LISTED")
  })

  it("refuses to close a closed market: MarketNotOpen", () => {
    const rejection = rejected(given([opened(), closed]).when(closeMarket))
    expect(rejection).toEqual(new MarketNotOpen({ symbol: AAPL }))
    expect(rejection.code).toBe("MARKET_CLOSED")
  })
})

describe("HaltTrading", () => {
  it("halts an open market with the reason", () => {
    const events = accepted(given([opened()]).when(haltTrading))
    expect(events).toEqual([new TradingHalted({ symbol: AAPL, reason: "circuit breaker", haltedAt: at })])
    expect(stateOf([opened(), ...events]).status).toBe("HALTED")
  })

  it("refuses to halt an unlisted market: MarketNotListed", () => {
    expect(given([]).when(haltTrading)).toEqual(Either.left(new MarketNotListed()))
  })

  it("refuses to halt a closed market: MarketNotOpen", () => {
    expect(given([opened(), closed]).when(haltTrading)).toEqual(Either.left(new MarketNotOpen({ symbol: AAPL })))
  })

  it("refuses to halt a market that is already halted: MARKET_ALREADY_HALTED", () => {
    const rejection = rejected(given([opened(), halted]).when(haltTrading))
    expect(rejection).toEqual(new TradingAlreadyHalted({ symbol: AAPL }))
    expect(rejection.code).toBe("MARKET_ALREADY_HALTED")
  })
})

describe("ResumeTrading", () => {
  it("resumes a halted market", () => {
    const events = accepted(given([opened(), halted]).when(resumeTrading))
    expect(events).toEqual([new TradingResumed({ symbol: AAPL, resumedAt: at })])
    expect(stateOf([opened(), halted, ...events]).status).toBe("OPEN")
  })

  it("refuses to resume an unlisted market: MarketNotListed", () => {
    expect(given([]).when(resumeTrading)).toEqual(Either.left(new MarketNotListed()))
  })

  it.each([
    ["open", [opened()]],
    ["open again after a resume", [opened(), halted, resumed]],
    ["closed", [opened(), closed]]
  ] as const)("refuses to resume a market that is %s: MarketNotHalted", (_, history) => {
    const rejection = rejected(given(history).when(resumeTrading))
    expect(rejection).toEqual(new MarketNotHalted({ symbol: AAPL }))
    expect(rejection.code).toBe("MARKET_NOT_HALTED")
  })
})

describe("UpdatePrice", () => {
  it("accepts the first tick of an open market and records it as last price and last update", () => {
    const events = accepted(given([opened()]).when(updatePrice("187.4200", t1)))
    expect(events).toEqual([new PriceUpdated({ symbol: AAPL, price: decimal("187.42"), timestamp: t1 })])
    const state = stateOf([opened(), ...events])
    expect(state.lastPrice).toEqual(Option.some(decimal("187.42")))
    expect(state.lastUpdated).toEqual(Option.some(t1))
  })

  it("accepts a later tick within the band and moves last price and last update", () => {
    // band 5% of 100: 105 is exactly on the edge
    const history = [opened(), priced("100", t1)]
    const events = accepted(given(history).when(updatePrice("105", t2)))
    expect(events).toEqual([new PriceUpdated({ symbol: AAPL, price: decimal("105"), timestamp: t2 })])
    const state = stateOf([...history, ...events])
    expect(state.lastPrice).toEqual(Option.some(decimal("105")))
    expect(state.lastUpdated).toEqual(Option.some(t2))
  })

  it("accepts ticks while trading is halted", () => {
    const history = [opened(), priced("100", t1), halted]
    const state = stateOf([...history, ...accepted(given(history).when(updatePrice("101", t2)))])
    expect(state.lastPrice).toEqual(Option.some(decimal("101")))
    expect(state.status).toBe("HALTED")
  })

  it("gives the account a view of the market: status, last price and order band", () => {
    expect(view(AAPL, stateOf([opened(), priced("100")]))).toEqual({
      symbol: AAPL, status: "OPEN", lastPrice: Option.some(decimal("100")), orderBand: decimal("0.10")
    })
  })

  it.each(["0", "-1.50"])("rejects a non-positive price (%s) as NON_POSITIVE_PRICE, keeping the last price", (price) => {
    const history = [opened(), priced("100", t1)]
    const events = accepted(given(history).when(updatePrice(price, t2)))
    expect(events).toEqual([new PriceRejected({
      symbol: AAPL, price: decimal(price), timestamp: t2, anomaly: "NON_POSITIVE_PRICE", lastPrice: Option.some(decimal("100"))
    })])
    const state = stateOf([...history, ...events])
    expect(state.lastPrice).toEqual(Option.some(decimal("100")))
    expect(state.lastUpdated).toEqual(Option.some(t1))
  })

  it("rejects a non-positive first tick with no last price", () => {
    expect(given([opened()]).when(updatePrice("0", t1))).toEqual(Either.right([new PriceRejected({
      symbol: AAPL, price: decimal("0"), timestamp: t1, anomaly: "NON_POSITIVE_PRICE", lastPrice: Option.none()
    })]))
  })

  it.each([["equal", t1], ["earlier", t0]] as const)(
    "rejects a tick with an %s timestamp as OUT_OF_ORDER, keeping the last price",
    (_, timestamp) => {
      const history = [opened(), priced("100", t1)]
      const events = accepted(given(history).when(updatePrice("101", timestamp)))
      expect(events).toEqual([new PriceRejected({
        symbol: AAPL, price: decimal("101"), timestamp, anomaly: "OUT_OF_ORDER", lastPrice: Option.some(decimal("100"))
      })])
      const state = stateOf([...history, ...events])
      expect(state.lastPrice).toEqual(Option.some(decimal("100")))
      expect(state.lastUpdated).toEqual(Option.some(t1))
    }
  )

  it.each(["105.0001", "94.9999", "200"])("rejects a move beyond the price band (%s after 100) as BAND_EXCEEDED", (price) => {
    const history = [opened(), priced("100", t1)]
    const events = accepted(given(history).when(updatePrice(price, t2)))
    expect(events).toEqual([new PriceRejected({
      symbol: AAPL, price: decimal(price), timestamp: t2, anomaly: "BAND_EXCEEDED", lastPrice: Option.some(decimal("100"))
    })])
    expect(stateOf([...history, ...events]).lastPrice).toEqual(Option.some(decimal("100")))
  })

  it("measures the band from the last accepted price, not from a rejected one", () => {
    // 200 is rejected; 104 is within 5% of 100 and is accepted
    const history = [opened(), priced("100", t1), new PriceRejected({
      symbol: AAPL, price: decimal("200"), timestamp: t2, anomaly: "BAND_EXCEEDED", lastPrice: Option.some(decimal("100"))
    })]
    const later = DateTime.unsafeMake("2026-03-02T14:00:03Z")
    expect(given(history).when(updatePrice("104", later))).toEqual(
      Either.right([new PriceUpdated({ symbol: AAPL, price: decimal("104"), timestamp: later })])
    )
  })

  it("rejects a price with more than four decimals as PRICE_SCALE", () => {
    expect(given([opened(), priced("100", t1)]).when(updatePrice("100.00001", t2))).toEqual(Either.right([new PriceRejected({
      symbol: AAPL, price: decimal("100.00001"), timestamp: t2, anomaly: "PRICE_SCALE", lastPrice: Option.some(decimal("100"))
    })]))
  })

  it("does not halt on an anomaly when haltOnAnomaly is off", () => {
    const history = [opened(false), priced("100", t1)]
    const events = accepted(given(history).when(updatePrice("200", t2)))
    expect(events.map((e) => e._tag)).toEqual(["PriceRejected"])
    expect(stateOf([...history, ...events]).status).toBe("OPEN")
  })

  it("with haltOnAnomaly, an OUT_OF_ORDER tick (stale or repeated) is recorded but does not halt", () => {
    const history = [opened(true), priced("100", t1)]
    const events = accepted(given(history).when(updatePrice("100", t0)))
    expect(events).toEqual([
      new PriceRejected({ symbol: AAPL, price: decimal("100"), timestamp: t0, anomaly: "OUT_OF_ORDER", lastPrice: Option.some(decimal("100")) })
    ])
    expect(stateOf([...history, ...events]).status).toBe("OPEN")
  })

  it.each([
    ["NON_POSITIVE_PRICE", "-1", t2],
    ["BAND_EXCEEDED", "200", t2]
  ] as const)("with haltOnAnomaly, a %s tick also halts trading", (anomaly, price, timestamp) => {
    const history = [opened(true), priced("100", t1)]
    const events = accepted(given(history).when(updatePrice(price, timestamp)))
    expect(events).toEqual([
      new PriceRejected({ symbol: AAPL, price: decimal(price), timestamp, anomaly, lastPrice: Option.some(decimal("100")) }),
      new TradingHalted({ symbol: AAPL, reason: `price anomaly: ${anomaly}`, haltedAt: timestamp })
    ])
    const state = stateOf([...history, ...events])
    expect(state.status).toBe("HALTED")
    expect(state.lastPrice).toEqual(Option.some(decimal("100")))
  })

  it("with haltOnAnomaly, an anomaly in an already halted market only records the rejected tick", () => {
    const history = [opened(true), priced("100", t1), halted]
    expect(given(history).when(updatePrice("200", t2))).toEqual(Either.right([new PriceRejected({
      symbol: AAPL, price: decimal("200"), timestamp: t2, anomaly: "BAND_EXCEEDED", lastPrice: Option.some(decimal("100"))
    })]))
  })

  it("with haltOnAnomaly, a good tick does not halt", () => {
    expect(given([opened(true), priced("100", t1)]).when(updatePrice("101", t2))).toEqual(
      Either.right([new PriceUpdated({ symbol: AAPL, price: decimal("101"), timestamp: t2 })])
    )
  })

  it("refuses prices for a closed market: MarketNotOpen", () => {
    const rejection = rejected(given([opened(), priced("100", t1), closed]).when(updatePrice("101", t2)))
    expect(rejection).toEqual(new MarketNotOpen({ symbol: AAPL }))
    expect(rejection.code).toBe("MARKET_CLOSED")
  })

  it("refuses prices for an unlisted market: MarketNotListed", () => {
    expect(given([]).when(updatePrice("100", t1))).toEqual(Either.left(new MarketNotListed()))
  })
})

describe("price bands", () => {
  it("decides within a band without dividing, as the relative distance compares", () => {
    // exactly at the band is within it; a hair beyond is not
    expect(withinBand(decimal("105"), decimal("100"), decimal("0.05"))).toBe(true)
    expect(withinBand(decimal("95"), decimal("100"), decimal("0.05"))).toBe(true)
    expect(withinBand(decimal("105.0001"), decimal("100"), decimal("0.05"))).toBe(false)
    expect(withinBand(decimal("94.9999"), decimal("100"), decimal("0.05"))).toBe(false)
    // a third: 0.3333… is beyond 0.3333, and within 0.33334
    expect(withinBand(decimal("4"), decimal("3"), decimal("0.3333"))).toBe(false)
    expect(withinBand(decimal("4"), decimal("3"), decimal("0.33334"))).toBe(true)
    FastCheck.assert(FastCheck.property(
      FastCheck.bigInt({ min: 1n, max: 10n ** 10n }), FastCheck.bigInt({ min: 1n, max: 10n ** 10n }), FastCheck.bigInt({ min: 1n, max: 10n ** 4n }),
      (price, reference, band) => {
        const [p, r, b] = [BigDecimal.make(price, 4), BigDecimal.make(reference, 4), BigDecimal.make(band, 4)]
        expect(withinBand(p, r, b)).toBe(BigDecimal.lessThanOrEqualTo(relativeDistance(p, r), b))
      }
    ), { numRuns: 1000 })
  })
})
