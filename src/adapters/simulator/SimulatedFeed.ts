import { BigDecimal, Chunk, Config, ConfigError, DateTime, Duration, Effect, Either, Layer, Option, Random, Schedule, Schema, Stream } from "effect"
import { MarketFeed, type Tick } from "../../application/ports/MarketFeed.js"
import { decimal, fitsScale, PRICE_SCALE, roundHalfEven } from "../../domain/Decimal.js"
import { Symbol } from "../../domain/Ids.js"

/** A simulated symbol and the price its walk starts from. */
export interface Instrument {
  readonly symbol: Symbol
  readonly start: BigDecimal.BigDecimal
}

const instrument = (symbol: string, start: string): Instrument => ({ symbol: Symbol.make(symbol), start: decimal(start) })

export const defaultInstruments: ReadonlyArray<Instrument> = [
  instrument("AAPL", "190"), instrument("MSFT", "420"), instrument("GOOGL", "170"),
  instrument("AMZN", "185"), instrument("TSLA", "250"), instrument("NVDA", "120")
]

/** Where a symbol named without a price (and not in the default list) starts. */
export const defaultStart = decimal("100")

/** The walk never goes below this: a step that would is taken upwards instead. */
export const MIN_PRICE = decimal("0.01")

/**
 * Largest step by default, in basis points (0.2 %). A step of k bps moves the price by at most
 * k/10 000 plus the 4-dp rounding (0.00005 / price, at most 0.5 % at MIN_PRICE), so with steps
 * up to 50 bps every tick stays inside any market price band of 1 % or more.
 */
export const DEFAULT_MAX_STEP_BPS = 20

export interface SimulatorOptions {
  readonly instruments: ReadonlyArray<Instrument>
  /** Ticks per second for each symbol. */
  readonly ticksPerSecond: number
  /** Largest move between two ticks of a symbol, in basis points of its price (1 to 50). */
  readonly maxStepBps?: number
}

/** Looks up where a symbol's walk resumes (the market's last accepted price); none: its start price. */
export type StartFrom = (symbol: Symbol) => Effect.Effect<Option.Option<BigDecimal.BigDecimal>>

const TEN_THOUSAND = 10_000

/**
 * One step of the walk: the price moved by `bps` basis points, rounded half-even to 4 dp. Exact
 * decimal arithmetic; only the step itself is an integer drawn at random.
 */
export const step = (price: BigDecimal.BigDecimal, bps: number): BigDecimal.BigDecimal => {
  const moved = (k: number) =>
    BigDecimal.normalize(roundHalfEven(BigDecimal.multiply(price, BigDecimal.make(BigInt(TEN_THOUSAND + k), 4)), PRICE_SCALE))
  const next = moved(bps)
  return BigDecimal.lessThan(next, MIN_PRICE) ? moved(Math.abs(bps)) : next
}

const usablePrice = (price: BigDecimal.BigDecimal) => BigDecimal.isPositive(price) && fitsScale(price, PRICE_SCALE)

/**
 * The simulated ticks: every `1 / ticksPerSecond` seconds (a `Schedule`, so `TestClock` drives it)
 * one tick per instrument, in the instruments' order. The first round sends the start prices; each
 * later one moves every price by a step drawn from `Random` (seed it for a repeatable walk). A
 * round is stamped with the Clock, always at least 1 ms after the previous round, so the market
 * never sees a repeated feed time. Each run of the stream starts a fresh walk.
 */
export const ticks = (options: SimulatorOptions, startFrom?: StartFrom): Stream.Stream<Tick> => {
  const maxStep = options.maxStepBps ?? DEFAULT_MAX_STEP_BPS
  if (!Number.isInteger(maxStep) || maxStep < 1 || maxStep > 50) return Stream.dieMessage(`maxStepBps must be an integer from 1 to 50, not ${maxStep}`)
  if (!(options.ticksPerSecond > 0 && options.ticksPerSecond <= 1000)) {
    return Stream.dieMessage(`ticksPerSecond must be above 0 and at most 1000, not ${options.ticksPerSecond}`)
  }
  const interval = Duration.nanos(BigInt(Math.round(1e9 / options.ticksPerSecond)))
  return Stream.unwrap(Effect.gen(function*() {
    const prices = yield* Effect.forEach(options.instruments, ({ symbol, start }) =>
      startFrom === undefined ? Effect.succeed(start) : Effect.map(startFrom(symbol), (resumed) =>
        Option.getOrElse(Option.filter(resumed, usablePrice), () => start)))
    let last: DateTime.Utc | undefined
    const round = Effect.gen(function*() {
      const now = yield* DateTime.now
      const timestamp = last === undefined || DateTime.greaterThan(now, last) ? now : DateTime.add(last, { millis: 1 })
      const moving = last !== undefined
      last = timestamp
      const out: Array<Tick> = []
      for (let i = 0; i < options.instruments.length; i++) {
        if (moving) prices[i] = step(prices[i]!, yield* Random.nextIntBetween(-maxStep, maxStep + 1))
        out.push({ symbol: options.instruments[i]!.symbol, price: prices[i]!, timestamp })
      }
      return Chunk.unsafeFromArray(out)
    })
    return Stream.repeatEffectWithSchedule(round, Schedule.fixed(interval)).pipe(Stream.flattenChunks)
  }))
}

export const make = (options: SimulatorOptions, startFrom?: StartFrom) => MarketFeed.of({ ticks: ticks(options, startFrom) })

export const layer = (options: SimulatorOptions, startFrom?: StartFrom) => Layer.succeed(MarketFeed, make(options, startFrom))

// ---- configuration ----

const SYMBOLS = "LEDGERLINE_SIMULATOR_SYMBOLS"
const RATE = "LEDGERLINE_SIMULATOR_RATE"

const decodeSymbol = Schema.decodeUnknownEither(Symbol)

/** `AAPL,MSFT,IBM:180.5`: known symbols start at their default price, others at theirs or 100. */
export const parseInstruments = (raw: string): Either.Either<ReadonlyArray<Instrument>, string> => {
  const items = raw.split(",").map((item) => item.trim())
  const result: Array<Instrument> = []
  for (const item of items) {
    if (item === "") return Either.left("an empty item (expected e.g. AAPL,MSFT,IBM:180.5)")
    const [name = "", price, ...extra] = item.split(":").map((part) => part.trim())
    if (extra.length > 0) return Either.left(`"${item}" has more than one ':'`)
    const decoded = decodeSymbol(name)
    if (Either.isLeft(decoded)) return Either.left(`"${name}" is not a ticker (1-10 characters of A-Z, 0-9, '.' or '-')`)
    const symbol = decoded.right
    if (result.some((i) => i.symbol === symbol)) return Either.left(`${name} is listed twice`)
    if (price === undefined) {
      result.push({ symbol, start: defaultInstruments.find((i) => i.symbol === symbol)?.start ?? defaultStart })
      continue
    }
    const start = BigDecimal.fromString(price)
    if (Option.isNone(start) || !usablePrice(start.value) || BigDecimal.lessThan(start.value, MIN_PRICE)) {
      return Either.left(`"${price}" is not a start price for ${name} (a decimal from 0.01 with at most 4 decimals)`)
    }
    result.push({ symbol, start: start.value })
  }
  return Either.right(result)
}

/** The provider puts the variable's name in front: "(Invalid data at LEDGERLINE_SIMULATOR_RATE: …)". */
const invalid = (problem: string) => ConfigError.InvalidData([], problem)

/** The simulator's settings: `LEDGERLINE_SIMULATOR_SYMBOLS` (optional) and `LEDGERLINE_SIMULATOR_RATE` (default 2). */
export const config: Config.Config<SimulatorOptions> = Config.all({
  instruments: Config.string(SYMBOLS).pipe(
    Config.mapOrFail((raw) => Either.mapLeft(parseInstruments(raw), invalid)),
    Config.withDefault(defaultInstruments)
  ),
  ticksPerSecond: Config.string(RATE).pipe(
    Config.mapOrFail((raw) => {
      const rate = Number(raw.trim())
      return raw.trim() !== "" && rate > 0 && rate <= 1000
        ? Either.right(rate)
        : Either.left(invalid(`"${raw}" is not a rate (ticks per second per symbol, above 0 and at most 1000)`))
    }),
    Config.withDefault(2)
  )
})

/** Whether `npm start` runs the simulator: `LEDGERLINE_SIMULATOR` (default on). */
export const enabled: Config.Config<boolean> = Config.boolean("LEDGERLINE_SIMULATOR").pipe(Config.withDefault(true))

export const layerConfig: Layer.Layer<MarketFeed, ConfigError.ConfigError> = Layer.effect(MarketFeed, Effect.map(config, (options) => make(options)))

/**
 * As `layerConfig`, each walk resuming from a price `startFrom` looks up (in `npm start`: the
 * market's last accepted price, so a restart does not jump outside the market's price band).
 */
export const layerConfigResuming = <R>(startFrom: (symbol: Symbol) => Effect.Effect<Option.Option<BigDecimal.BigDecimal>, never, R>) =>
  Layer.effect(MarketFeed, Effect.gen(function*() {
    const options = yield* config
    const context = yield* Effect.context<R>()
    return make(options, (symbol) => Effect.provide(startFrom(symbol), context))
  }))
