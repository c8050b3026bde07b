import { describe, expect, it } from "@effect/vitest"
import { BigDecimal, Chunk, ConfigProvider, DateTime, Effect, Exit, Fiber, Option, Random, Stream, TestClock } from "effect"
import * as SimulatedFeed from "../../../src/adapters/simulator/SimulatedFeed.js"
import { MarketFeed, type Tick } from "../../../src/application/ports/MarketFeed.js"
import { decimal, fitsScale, PRICE_SCALE } from "../../../src/domain/Decimal.js"
import { Symbol } from "../../../src/domain/Ids.js"
import { relativeDistance } from "../../../src/domain/Market.js"

const START = Date.parse("2026-03-02T14:00:00Z")

/** The first `n` ticks of a walk, with the TestClock moved far enough for them to be due. */
const collect = (options: SimulatedFeed.SimulatorOptions, n: number, seed: unknown, startFrom?: SimulatedFeed.StartFrom) =>
  Effect.gen(function*() {
    yield* TestClock.setTime(START)
    const fiber = yield* SimulatedFeed.ticks(options, startFrom).pipe(
      Stream.take(n), Stream.runCollect, Effect.withRandom(Random.make(seed)), Effect.fork)
    const rounds = Math.ceil(n / options.instruments.length)
    yield* TestClock.adjust(Math.ceil((rounds * 1000) / options.ticksPerSecond))
    return Chunk.toReadonlyArray(yield* Fiber.join(fiber))
  })

const defaults = { instruments: SimulatedFeed.defaultInstruments, ticksPerSecond: 2 }

const bySymbol = (ticks: ReadonlyArray<Tick>) => {
  const walks = new Map<string, Array<Tick>>()
  for (const tick of ticks) walks.set(tick.symbol, [...(walks.get(tick.symbol) ?? []), tick])
  return walks
}

const configWith = (env: Record<string, string>) =>
  Effect.exit(Effect.withConfigProvider(SimulatedFeed.config, ConfigProvider.fromMap(new Map(Object.entries(env)))))

describe("simulated feed", () => {
  it.effect("opens with the start prices, then one round per 1/rate seconds stamped by the Clock", () =>
    Effect.gen(function*() {
      const ticks = yield* collect({ ...defaults, ticksPerSecond: 4 }, 6 * 5, 1)
      expect(ticks.slice(0, 6).map((t) => [t.symbol, t.price])).toEqual(
        SimulatedFeed.defaultInstruments.map((i) => [i.symbol, i.start]))
      expect(ticks.slice(0, 6).map((t) => t.symbol)).toEqual(["AAPL", "MSFT", "GOOGL", "AMZN", "TSLA", "NVDA"])
      const stamps = [...new Set(ticks.map((t) => DateTime.toEpochMillis(t.timestamp) - START))]
      expect(stamps).toEqual([0, 250, 500, 750, 1000])
    }))

  it.effect("is deterministic for a seed and differs for another", () =>
    Effect.gen(function*() {
      const a = yield* collect(defaults, 120, "seed-42")
      const b = yield* collect(defaults, 120, "seed-42")
      const c = yield* collect(defaults, 120, "seed-43")
      const prices = (ticks: ReadonlyArray<Tick>) => ticks.map((t) => BigDecimal.format(t.price))
      expect(prices(a)).toEqual(prices(b))
      expect(prices(a)).not.toEqual(prices(c))
    }))

  it.effect("keeps every price positive, at most 4 dp, and each step inside a 1 % band", () =>
    Effect.gen(function*() {
      const options = {
        instruments: [...SimulatedFeed.defaultInstruments, { symbol: Symbol.make("PENNY"), start: decimal("0.0123") }],
        ticksPerSecond: 50,
        maxStepBps: 50
      }
      const ticks = yield* collect(options, 7 * 800, 7)
      const band = decimal("0.01")
      const violations: Array<string> = []
      for (const walk of bySymbol(ticks).values()) {
        expect(walk).toHaveLength(800)
        walk.forEach((tick, i) => {
          const ok = BigDecimal.isPositive(tick.price) && fitsScale(tick.price, PRICE_SCALE) &&
            (i === 0 || BigDecimal.lessThanOrEqualTo(relativeDistance(tick.price, walk[i - 1]!.price), band))
          if (!ok) violations.push(`${tick.symbol} #${i}: ${BigDecimal.format(tick.price)}`)
        })
      }
      expect(violations).toEqual([])
      const penny = bySymbol(ticks).get("PENNY")!
      expect(penny.every((t) => BigDecimal.greaterThanOrEqualTo(t.price, SimulatedFeed.MIN_PRICE))).toBe(true)
      // the walk moves: not every price of a symbol is its start
      expect(new Set(bySymbol(ticks).get("AAPL")!.map((t) => BigDecimal.format(t.price))).size).toBeGreaterThan(10)
    }))

  it("steps exactly in basis points, rounded half-even at 4 dp, and turns upwards at the floor", () => {
    expect(SimulatedFeed.step(decimal("190"), 20)).toEqual(decimal("190.38"))
    expect(SimulatedFeed.step(decimal("123.4567"), -7)).toEqual(decimal("123.3703")) // 123.37028031…
    expect(SimulatedFeed.step(decimal("0.01"), -20)).toEqual(decimal("0.01"))
    expect(SimulatedFeed.step(decimal("0.0105"), -50)).toEqual(decimal("0.0104")) // 0.0104475
    expect(SimulatedFeed.step(decimal("0.01"), -60)).toEqual(decimal("0.0101")) // 0.0094 would fall below 0.01: 0.01006 instead
  })

  it.effect("resumes each walk from the price startFrom gives, when it is usable", () =>
    Effect.gen(function*() {
      const resumed = new Map([["AAPL", decimal("201.1234")], ["MSFT", decimal("-1")]])
      const ticks = yield* collect(defaults, 6, 1, (symbol) => Effect.succeed(Option.fromNullable(resumed.get(symbol))))
      expect(ticks.map((t) => BigDecimal.format(t.price)).slice(0, 3)).toEqual(["201.1234", "420", "170"])
    }))

  it.effect("never stamps two rounds with the same time", () =>
    Effect.gen(function*() {
      // 1000 ticks/s: rounds due every millisecond; the stamps stay strictly increasing
      const ticks = yield* collect({ instruments: SimulatedFeed.defaultInstruments.slice(0, 1), ticksPerSecond: 1000 }, 50, 3)
      const stamps = ticks.map((t) => DateTime.toEpochMillis(t.timestamp))
      expect(stamps.every((s, i) => i === 0 || s > stamps[i - 1]!)).toBe(true)
    }))

  it.effect("serves the walk as the MarketFeed port", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(START)
      const feed = yield* MarketFeed
      const first = yield* feed.ticks.pipe(Stream.take(2), Stream.runCollect)
      expect(Chunk.toReadonlyArray(first).map((t) => t.symbol)).toEqual(["AAPL", "IBM"])
      expect(Chunk.toReadonlyArray(first).map((t) => t.price)).toEqual([decimal("190"), decimal("180.5")])
    }).pipe(
      Effect.provide(SimulatedFeed.layerConfig),
      Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["LEDGERLINE_SIMULATOR_SYMBOLS", "AAPL, IBM:180.5"]])))
    ))
})

describe("simulator configuration", () => {
  it.effect("defaults to the six symbols at 2 ticks per second", () =>
    Effect.gen(function*() {
      const options = yield* Effect.flatten(configWith({}))
      expect(options.ticksPerSecond).toBe(2)
      expect(options.instruments.map((i) => i.symbol)).toEqual(["AAPL", "MSFT", "GOOGL", "AMZN", "TSLA", "NVDA"])
    }))

  it.effect("reads a symbol list with optional start prices and a rate", () =>
    Effect.gen(function*() {
      const options = yield* Effect.flatten(configWith({ LEDGERLINE_SIMULATOR_SYMBOLS: "NVDA,BRK.B:412.35,XYZ", LEDGERLINE_SIMULATOR_RATE: "0.5" }))
      expect(options.ticksPerSecond).toBe(0.5)
      expect(options.instruments.map((i) => [i.symbol, i.start])).toEqual([
        ["NVDA", decimal("120")], ["BRK.B", decimal("412.35")], ["XYZ", SimulatedFeed.defaultStart]
      ])
    }))

  it.effect.each([
    ["LEDGERLINE_SIMULATOR_RATE", "fast"],
    ["LEDGERLINE_SIMULATOR_RATE", "0"],
    ["LEDGERLINE_SIMULATOR_RATE", "-2"],
    ["LEDGERLINE_SIMULATOR_RATE", "5000"],
    ["LEDGERLINE_SIMULATOR_SYMBOLS", "aapl"],
    ["LEDGERLINE_SIMULATOR_SYMBOLS", "AAPL,,MSFT"],
    ["LEDGERLINE_SIMULATOR_SYMBOLS", "AAPL,AAPL"],
    ["LEDGERLINE_SIMULATOR_SYMBOLS", "IBM:cheap"],
    ["LEDGERLINE_SIMULATOR_SYMBOLS", "IBM:1.23456"],
    ["LEDGERLINE_SIMULATOR_SYMBOLS", ""]
  ] as const)("refuses %s=%s with a message naming the variable", ([variable, value]) =>
    Effect.gen(function*() {
      const exit = yield* configWith({ [variable]: value })
      expect(Exit.isFailure(exit)).toBe(true)
      if (Exit.isFailure(exit)) expect(String(exit.cause)).toContain(variable)
    }))

  it.effect("turns the simulator off with LEDGERLINE_SIMULATOR=off", () =>
    Effect.gen(function*() {
      const read = (env: Record<string, string>) =>
        Effect.withConfigProvider(SimulatedFeed.enabled, ConfigProvider.fromMap(new Map(Object.entries(env))))
      expect(yield* read({})).toBe(true)
      expect(yield* read({ LEDGERLINE_SIMULATOR: "off" })).toBe(false)
      const bad = yield* Effect.exit(read({ LEDGERLINE_SIMULATOR: "maybe" }))
      expect(Exit.isFailure(bad) && String(bad.cause)).toContain("LEDGERLINE_SIMULATOR")
    }))
})
