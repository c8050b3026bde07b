import { type BigDecimal, DateTime, Effect } from "effect"
import type { Symbol } from "../domain/Ids.js"
import { MarketCommand, view } from "../domain/Market.js"
import { Markets } from "./Aggregate.js"
import { type CommandContext, commandContext, handler, loadRecent } from "./CommandHandler.js"

const handle = handler(Markets)
const run = (symbol: Symbol, command: MarketCommand, context?: Partial<CommandContext>) =>
  Effect.flatMap(commandContext(context), (ctx) => handle(symbol, command, ctx, { freshCommandId: context?.commandId === undefined }))

export interface MarketSettings {
  /** Largest tick-to-tick move, as a fraction of the last price, before a tick is an anomaly. */
  readonly priceBand: BigDecimal.BigDecimal
  /** Largest distance of a LIMIT price from the last price, as a fraction. */
  readonly orderBand: BigDecimal.BigDecimal
  readonly haltOnAnomaly: boolean
}

export const openMarket = Effect.fn("Markets.open")(
  function*(symbol: Symbol, settings: MarketSettings, context?: Partial<CommandContext>) {
    const at = yield* DateTime.now
    return yield* run(symbol, MarketCommand.OpenMarket({ symbol, ...settings, at }), context)
  }
)

export const closeMarket = Effect.fn("Markets.close")(function*(symbol: Symbol, context?: Partial<CommandContext>) {
  return yield* run(symbol, MarketCommand.CloseMarket({ at: yield* DateTime.now }), context)
})

export const haltTrading = Effect.fn("Markets.halt")(function*(symbol: Symbol, reason: string, context?: Partial<CommandContext>) {
  return yield* run(symbol, MarketCommand.HaltTrading({ reason, at: yield* DateTime.now }), context)
})

export const resumeTrading = Effect.fn("Markets.resume")(function*(symbol: Symbol, context?: Partial<CommandContext>) {
  return yield* run(symbol, MarketCommand.ResumeTrading({ at: yield* DateTime.now }), context)
})

/** A tick from the feed, stamped with the feed's own time. */
export const updatePrice = Effect.fnUntraced(
  function*(symbol: Symbol, price: BigDecimal.BigDecimal, timestamp: DateTime.Utc, context?: Partial<CommandContext>) {
    return yield* run(symbol, MarketCommand.UpdatePrice({ price, timestamp }), context)
  }
)

const recentMarket = loadRecent(Markets)

/**
 * What an order needs to know of the market right now: as this process last wrote or read it, and
 * never older than CommandHandlerConfig.readStaleness for changes other processes made.
 */
export const marketView = (symbol: Symbol) =>
  Effect.map(recentMarket(symbol), ({ state }) => view(symbol, state))
