import { describe, expect, it } from "@effect/vitest"
import { Array, BigDecimal, DateTime, Equal, FastCheck as fc, Hash, HashMap, Option, Schema } from "effect"
import {
  type AccountEvent, AccountOpened, FundsDeposited, FundsWithdrawn, OrderCancelled, OrderPlaced, RiskLimitsSet, type Side,
  TradeExecuted
} from "../../src/domain/AccountEvents.js"
import { decimal, display, divideRounded, fitsScale, roundHalfEven, zero } from "../../src/domain/Decimal.js"
import { AccountId, Currency, CustomerId, OrderId, Symbol, TradeId } from "../../src/domain/Ids.js"
import * as Portfolio from "../../src/domain/Portfolio.js"
import { noLimits } from "../../src/domain/TradingAccount.js"

const at = DateTime.unsafeMake("2026-03-02T14:32:00Z")
const accountId = AccountId.make("a-1")
const AAPL = Symbol.make("AAPL")
const MSFT = Symbol.make("MSFT")

interface Fill {
  readonly side: Side
  readonly quantity: string
  readonly price: string
}
const buy = (quantity: string, price: string): Fill => ({ side: "BUY", quantity, price })
const sell = (quantity: string, price: string): Fill => ({ side: "SELL", quantity, price })

/** The position after `fills`, from flat. */
const positionAfter = (fills: ReadonlyArray<Fill>, from: Portfolio.Position = Portfolio.position(Portfolio.empty, AAPL)) =>
  Array.reduce(fills, from, (p, f) => Portfolio.applyFill(p, f.side, decimal(f.quantity), decimal(f.price)))

const position = (quantity: string, costBasis: string, realizedPnl: string) =>
  new Portfolio.Position({ quantity: decimal(quantity), costBasis: decimal(costBasis), realizedPnl: decimal(realizedPnl) })

let tradeNo = 0
const traded = (symbol: Symbol, f: Fill) => {
  tradeNo += 1
  return new TradeExecuted({
    tradeId: TradeId.make(`t-${tradeNo}`), accountId, orderId: OrderId.make(`o-${tradeNo}`), symbol, quantity: decimal(f.quantity),
    price: decimal(f.price), tradeType: f.side, executedAt: at
  })
}
const opened = (initialBalance: string) =>
  new AccountOpened({
    accountId, customerId: CustomerId.make("c-1"), accountType: "INDIVIDUAL", initialBalance: decimal(initialBalance),
    currency: Currency.make("USD"), openedAt: at
  })
const portfolioAfter = (events: ReadonlyArray<AccountEvent>) => Array.reduce(events, Portfolio.empty, Portfolio.evolve)

describe("Portfolio: average cost", () => {
  it("is flat with zero cost and zero average for a symbol never traded", () => {
    const flat = Portfolio.position(Portfolio.empty, AAPL)
    expect(flat).toEqual(position("0", "0", "0"))
    expect(Portfolio.averageCost(flat)).toEqual(zero)
  })

  it("adds the cost of buys at different prices and averages them", () => {
    const p = positionAfter([buy("10", "100"), buy("5", "106")])
    expect(p).toEqual(position("15", "1530", "0"))
    expect(Portfolio.averageCost(p)).toEqual(decimal("102"))
  })

  it("keeps the average at full precision (10, 10.01, 10.01 averages 10.00666…)", () => {
    const p = positionAfter([buy("1", "10"), buy("2", "10.01")])
    expect(p.costBasis).toEqual(decimal("30.02"))
    expect(display(Portfolio.averageCost(p), 4)).toBe("10.0067")
    expect(BigDecimal.multiply(roundHalfEven(Portfolio.averageCost(p), 8), decimal("3"))).not.toEqual(decimal("30.02"))
  })

  it("shows the average half-even at four decimals from one exact division, as the full-precision quotient rounds", () => {
    const p = positionAfter([buy("1", "10"), buy("2", "10.01")])
    expect(display(Portfolio.averageCostShown(p), 4)).toBe("10.0067")
    // exact halves at the fifth decimal go to the even fourth: 1.00005 → 1.0000, 3.00015 → 3.0002
    expect(Portfolio.averageCostShown(positionAfter([buy("2", "1.00005")]))).toEqual(roundHalfEven(decimal("1.00005"), 4))
    expect(display(Portfolio.averageCostShown(positionAfter([buy("2", "1.00005")])), 4)).toBe("1.0000")
    expect(display(Portfolio.averageCostShown(positionAfter([buy("4", "3.00015")])), 4)).toBe("3.0002")
    expect(display(Portfolio.averageCostShown(positionAfter([sell("4", "3.00015")])), 4)).toBe("3.0002")
    expect(Portfolio.averageCostShown(Portfolio.position(Portfolio.empty, AAPL))).toEqual(zero)
    fc.assert(fc.property(fc.bigInt({ min: -(10n ** 12n), max: 10n ** 12n }), fc.bigInt({ min: 1n, max: 10n ** 8n }), fc.boolean(),
      (cost, qty, short) => {
        const p = new Portfolio.Position({ quantity: BigDecimal.make(short ? -qty : qty, 2), costBasis: BigDecimal.make(cost, 4), realizedPnl: zero })
        expect(BigDecimal.equals(Portfolio.averageCostShown(p), roundHalfEven(Portfolio.averageCost(p), 4))).toBe(true)
      }), { numRuns: 500 })
    // valuations carry it
    const bought = Portfolio.applyTrade(portfolioAfter([opened("1000.00")]), {
      symbol: AAPL, tradeType: "BUY", quantity: decimal("3"), price: decimal("10.015")
    })
    const [valued] = Portfolio.valuation(bought, () => Option.none()).positions
    expect(valued!.averageCost).toEqual(Portfolio.averageCostShown(Portfolio.position(bought, AAPL)))
    expect(display(valued!.averageCost, 4)).toBe("10.0150")
  })

  it("does not move the average on a partial sell", () => {
    const p = positionAfter([buy("10", "100"), buy("5", "106"), sell("6", "110")])
    expect(Portfolio.averageCost(p)).toEqual(decimal("102"))
  })
})

describe("Portfolio: realized P&L", () => {
  it("realizes exactly (sell price − average cost) × quantity on a partial sell", () => {
    // average 102; 6 sold at 110: 660 − 612 = 48
    expect(positionAfter([buy("10", "100"), buy("5", "106"), sell("6", "110")])).toEqual(position("9", "918", "48"))
  })

  it("realizes a loss exactly", () => {
    expect(positionAfter([buy("10", "100"), sell("4", "97.25")])).toEqual(position("6", "600", "-11"))
  })

  it("leaves cost basis exactly zero on a full close, even after an inexact partial one", () => {
    // average 10.00666…: the partial close releases 10.00666667 (8 dp), the full close the exact remainder
    const partial = positionAfter([buy("1", "10"), buy("2", "10.01"), sell("1", "11")])
    expect(partial).toEqual(position("2", "20.01333333", "0.99333333"))
    const closed = positionAfter([sell("2", "12")], partial)
    expect(BigDecimal.isZero(closed.quantity)).toBe(true)
    expect(BigDecimal.isZero(closed.costBasis)).toBe(true)
    expect(closed.costBasis).toEqual(zero)
    expect(Portfolio.averageCost(closed)).toEqual(zero)
    // total realized = proceeds − cost, to the cent: 11 + 24 − 30.02
    expect(closed.realizedPnl).toEqual(decimal("4.98"))
  })

  it("leaves cost basis exactly zero after closing in one sell", () => {
    const p = positionAfter([buy("3", "33.33"), buy("7", "0.01"), sell("10", "1")])
    expect(p).toEqual(position("0", "0", "-90.06"))
  })

  it("flips long to short in one sell: closes the long, opens the rest short at the fill price", () => {
    // long 10 @ 100; sell 15 @ 110: realize 100 on the 10, short 5 @ 110
    const p = positionAfter([buy("10", "100"), sell("15", "110")])
    expect(p).toEqual(position("-5", "-550", "100"))
    expect(Portfolio.averageCost(p)).toEqual(decimal("110"))
  })

  it("opens a short with a negative quantity and cost basis", () => {
    const p = positionAfter([sell("10", "50")])
    expect(p).toEqual(position("-10", "-500", "0"))
    expect(Portfolio.averageCost(p)).toEqual(decimal("50"))
  })

  it("realizes (short price − cover price) × quantity when covering a short, then closes it exactly", () => {
    const shortThenPartialCover = positionAfter([sell("10", "50"), buy("4", "45")])
    expect(shortThenPartialCover).toEqual(position("-6", "-300", "20"))
    const covered = positionAfter([buy("6", "52")], shortThenPartialCover)
    expect(covered).toEqual(position("0", "0", "8"))
    expect(BigDecimal.isZero(covered.costBasis)).toBe(true)
  })

  it("adds to a short at a new average", () => {
    const p = positionAfter([sell("10", "50"), sell("10", "60")])
    expect(p).toEqual(position("-20", "-1100", "0"))
    expect(Portfolio.averageCost(p)).toEqual(decimal("55"))
  })

  it("flips short to long in one buy", () => {
    // short 5 @ 100; buy 8 @ 90: realize 50 on the 5, long 3 @ 90
    expect(positionAfter([sell("5", "100"), buy("8", "90")])).toEqual(position("3", "270", "50"))
  })
})

describe("Portfolio: cash and the fold", () => {
  it("keeps cash exact through deposits and withdrawals (0.1 + 0.2 − 0.3 = 0)", () => {
    const p = portfolioAfter([
      opened("0.10"),
      new FundsDeposited({ accountId, amount: decimal("0.20"), depositedAt: at }),
      new FundsWithdrawn({ accountId, amount: decimal("0.30"), withdrawnAt: at })
    ])
    expect(p.cash).toEqual(zero)
    expect(BigDecimal.isZero(p.cash)).toBe(true)
  })

  it("moves cash exactly by each trade's notional", () => {
    const p = portfolioAfter([opened("1.00"), traded(AAPL, buy("3", "0.1")), traded(AAPL, sell("1", "0.2"))])
    // 1.00 − 0.30 + 0.20
    expect(p.cash).toEqual(decimal("0.9"))
    expect(Portfolio.position(p, AAPL)).toEqual(position("2", "0.2", "0.1"))
    expect(display(p.cash, 2)).toBe("0.90")
  })

  it("keeps cash + cost basis + realized P&L consistent: cash = initial − cost still held + realized", () => {
    const p = portfolioAfter([
      opened("10000.00"),
      traded(AAPL, buy("1", "10")), traded(AAPL, buy("2", "10.01")), traded(AAPL, sell("1", "11")),
      traded(MSFT, sell("3", "33.33"))
    ])
    const held = BigDecimal.sumAll(HashMap.values(HashMap.map(p.positions, (pos) => pos.costBasis)))
    expect(p.cash).toEqual(BigDecimal.sum(BigDecimal.subtract(decimal("10000"), held), p.realizedPnl))
  })

  it("sums realized P&L over symbols", () => {
    const p = portfolioAfter([
      opened("10000.00"),
      traded(AAPL, buy("10", "100")), traded(AAPL, sell("10", "101.5")),
      traded(MSFT, buy("2", "50")), traded(MSFT, sell("1", "45"))
    ])
    expect(Portfolio.position(p, AAPL).realizedPnl).toEqual(decimal("15"))
    expect(Portfolio.position(p, MSFT).realizedPnl).toEqual(decimal("-5"))
    expect(p.realizedPnl).toEqual(decimal("10"))
    // 10000 + 15 on AAPL − 100 + 45 on MSFT (1 MSFT still held at 50)
    expect(p.cash).toEqual(decimal("9960"))
  })

  it("starts from the initial balance when the account opens", () => {
    expect(portfolioAfter([opened("2500.50")])).toEqual(
      new Portfolio.Portfolio({ cash: decimal("2500.50"), positions: HashMap.empty(), realizedPnl: zero })
    )
  })

  it("ignores events that move no cash or position", () => {
    const before = portfolioAfter([opened("100.00"), traded(AAPL, buy("1", "10"))])
    const after = portfolioAfter([
      opened("100.00"), traded(AAPL, buy("1", "10")),
      new RiskLimitsSet({ accountId, limits: noLimits, setAt: at }),
      new OrderPlaced({
        accountId, orderId: OrderId.make("o-r"), symbol: AAPL, side: "BUY", orderType: "LIMIT", quantity: decimal("5"),
        limitPrice: Option.some(decimal("9")), reserved: decimal("45"), placedAt: at
      }),
      new OrderCancelled({ accountId, orderId: OrderId.make("o-r"), cancelledAt: at })
    ])
    expect(after).toEqual(before)
  })

  it("measures gross exposure as the sum of |cost basis|, optionally leaving one symbol out", () => {
    const p = portfolioAfter([opened("10000.00"), traded(AAPL, buy("10", "100")), traded(MSFT, sell("3", "200"))])
    expect(Portfolio.grossExposureAtCost(p)).toEqual(decimal("1600"))
    expect(Portfolio.grossExposureAtCost(p, AAPL)).toEqual(decimal("600"))
    expect(Portfolio.grossExposureAtCost(p, MSFT)).toEqual(decimal("1000"))
  })
})

describe("Decimal: half-even rounding for display", () => {
  it.each([
    ["2.345", 2, "2.34"],
    ["2.355", 2, "2.36"],
    ["0.125", 2, "0.12"],
    ["0.135", 2, "0.14"],
    ["-1.005", 2, "-1.00"],
    ["-1.015", 2, "-1.02"],
    ["-2.345", 2, "-2.34"],
    ["2.3451", 2, "2.35"],
    ["2.3449", 2, "2.34"],
    ["1.23445", 4, "1.2344"],
    ["1.23455", 4, "1.2346"],
    ["-0.00015", 4, "-0.0002"],
    ["-0.00005", 4, "0.0000"],
    ["-0.005", 4, "-0.0050"],
    ["99.99995", 4, "100.0000"],
    ["1500", 2, "1500.00"],
    ["0.05", 2, "0.05"],
    ["2.5", 0, "2"],
    ["3.5", 0, "4"]
  ] as const)("display(%s, %i) is %s", (value, scale, shown) => {
    expect(display(decimal(value), scale)).toBe(shown)
  })

  it("displays a normalized value (1500 stored as 15 × 10²) with its decimals", () => {
    expect(display(BigDecimal.normalize(decimal("1500")), 2)).toBe("1500.00")
  })

  it.each([
    ["2.345", 2, "2.34"],
    ["2.355", 2, "2.36"],
    ["-1.005", 2, "-1"],
    ["0.125", 2, "0.12"],
    ["1.23445", 4, "1.2344"],
    ["1.23455", 4, "1.2346"]
  ] as const)("roundHalfEven(%s, %i) is %s", (value, scale, rounded) => {
    expect(roundHalfEven(decimal(value), scale)).toEqual(decimal(rounded))
  })

  it("folds into the same values the classes' own constructors build: equal, same hash, same encoding", () => {
    const folded = Portfolio.applyTrade(portfolioAfter([opened("1000.00")]), {
      symbol: Symbol.make("ACME"), tradeType: "BUY", quantity: decimal("3"), price: decimal("10")
    })
    const built = new Portfolio.Portfolio({
      cash: decimal("970.00"),
      positions: HashMap.make([Symbol.make("ACME"), new Portfolio.Position({ quantity: decimal("3"), costBasis: decimal("30"), realizedPnl: zero })]),
      realizedPnl: zero
    })
    expect(folded).toBeInstanceOf(Portfolio.Portfolio)
    expect(Portfolio.position(folded, Symbol.make("ACME"))).toBeInstanceOf(Portfolio.Position)
    expect(Equal.equals(folded, built)).toBe(true)
    expect(Hash.hash(folded)).toBe(Hash.hash(built))
    expect(Reflect.ownKeys(folded)).toEqual(Reflect.ownKeys(built))
    expect(Reflect.ownKeys(Portfolio.position(folded, Symbol.make("ACME")))).toEqual(Reflect.ownKeys(Portfolio.position(built, Symbol.make("ACME"))))
    expect(Schema.encodeSync(Portfolio.Portfolio)(folded)).toEqual(Schema.encodeSync(Portfolio.Portfolio)(built))
  })

  it("divides with half-even rounding at the scale", () => {
    expect(divideRounded(decimal("2"), decimal("3"), 8)).toEqual(decimal("0.66666667"))
    expect(divideRounded(decimal("1"), decimal("8"), 2)).toEqual(decimal("0.12"))
    expect(divideRounded(decimal("-1"), decimal("3"), 4)).toEqual(decimal("-0.3333"))
    // ties go to the even neighbour, on both sides of zero
    expect(divideRounded(decimal("1"), decimal("8"), 2)).toEqual(decimal("0.12"))
    expect(divideRounded(decimal("3"), decimal("8"), 2)).toEqual(decimal("0.38"))
    expect(divideRounded(decimal("-3"), decimal("8"), 2)).toEqual(decimal("-0.38"))
    expect(divideRounded(decimal("3"), decimal("-8"), 2)).toEqual(decimal("-0.38"))
    expect(divideRounded(decimal("-0.125"), decimal("-1"), 2)).toEqual(decimal("0.12"))
    expect(divideRounded(decimal("12345.6789"), decimal("0.001"), 0)).toEqual(decimal("12345679"))
    expect(() => divideRounded(decimal("1"), decimal("0"), 2)).toThrow(RangeError)
  })

  it("divides exactly as rounding a long quotient would, for any decimals", () => {
    const dec = fc.tuple(fc.bigInt({ min: -(10n ** 18n), max: 10n ** 18n }), fc.integer({ min: 0, max: 10 }))
      .map(([value, scale]) => BigDecimal.make(value, scale))
    fc.assert(fc.property(dec, dec.filter((d) => d.value !== 0n), fc.integer({ min: 0, max: 12 }), (a, b, scale) => {
      const expected = roundHalfEven(BigDecimal.unsafeDivide(a, b), scale)
      expect(BigDecimal.equals(divideRounded(a, b, scale), expected)).toBe(true)
    }), { numRuns: 2000 })
  })

  it("counts only significant decimals against a scale", () => {
    expect(fitsScale(decimal("1.10"), 1)).toBe(true)
    expect(fitsScale(decimal("1.11"), 1)).toBe(false)
    expect(fitsScale(decimal("1500"), 0)).toBe(true)
  })
})

describe("valuation", () => {
  it("marks positions to market, signed for shorts, and falls back to cost where there is no price", () => {
    let p = Portfolio.applyTrade(portfolioAfter([opened("10000.00")]), { symbol: Symbol.make("ACME"), tradeType: "BUY", quantity: decimal("10"), price: decimal("100") })
    p = Portfolio.applyTrade(p, { symbol: Symbol.make("BOLT"), tradeType: "SELL", quantity: decimal("5"), price: decimal("20") })
    p = Portfolio.applyTrade(p, { symbol: Symbol.make("CORE"), tradeType: "BUY", quantity: decimal("2"), price: decimal("7.5") })
    const prices: Record<string, string> = { ACME: "110.25", BOLT: "18" }
    const v = Portfolio.valuation(p, (s) => Option.map(Option.fromNullable(prices[s]), decimal))
    expect(v.cash).toEqual(decimal("9085")) // 10000 - 1000 + 100 - 15
    expect(v.positions.map((x) => x.symbol)).toEqual(["ACME", "BOLT", "CORE"])
    expect(v.positions[0]!.marketValue).toEqual(Option.some(decimal("1102.5")))
    expect(v.positions[0]!.unrealizedPnl).toEqual(Option.some(decimal("102.5")))
    expect(v.positions[1]!.marketValue).toEqual(Option.some(decimal("-90")))
    expect(v.positions[1]!.unrealizedPnl).toEqual(Option.some(decimal("10")))
    expect(v.positions[2]!.marketPrice).toEqual(Option.none())
    // 9085 cash + 1102.5 - 90 + 15 (CORE at cost)
    expect(v.equity).toEqual(decimal("10112.5"))
  })
})
