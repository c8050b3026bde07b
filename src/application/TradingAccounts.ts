import { type BigDecimal, DateTime, Effect, Option } from "effect"
import type { AccountType, OrderType, RiskLimits, Side } from "../domain/AccountEvents.js"
import { AccountId, type Currency, type CustomerId, OrderId, type Symbol, TradeId } from "../domain/Ids.js"
import { AccountCommand, type AccountState } from "../domain/TradingAccount.js"
import { Accounts, streamId } from "./Aggregate.js"
import { cacheOf } from "./AggregateCache.js"
import { stateAt } from "./AsOf.js"
import { admitted, type CommandContext, commandContext, CommandHandlerConfig, handler, load } from "./CommandHandler.js"
import { uuidv7, uuidv7s } from "./Ids.js"
import { marketView } from "./Markets.js"
import { EventStore, type EventStoreUnavailable } from "./ports/EventStore.js"
import type { SnapshotStore } from "./ports/SnapshotStore.js"

const handle = handler(Accounts)
/**
 * `freshId`: a new id to use as the commandId when the caller gave none (else one is made);
 * `isAdmitted`: the command admitted itself before (`admitted`), as an order does before it reads the market.
 */
const run = (accountId: AccountId, command: AccountCommand, context?: Partial<CommandContext>, freshId?: string, isAdmitted = false) => {
  const fresh = context?.commandId === undefined
  const given = fresh && freshId !== undefined ? { ...context, commandId: freshId } : context
  return Effect.flatMap(commandContext(given), (ctx) => handle(accountId, command, ctx, { freshCommandId: fresh, admitted: isAdmitted }))
}

export interface OpenAccountInput {
  /** Chosen by the caller (e.g. derived from an idempotency key); a fresh UUIDv7 when absent. */
  readonly accountId?: AccountId
  readonly customerId: CustomerId
  readonly accountType: AccountType
  readonly currency: Currency
  readonly initialBalance: BigDecimal.BigDecimal
}

export const openAccount = Effect.fn("TradingAccounts.open")(
  function*(input: OpenAccountInput, context?: Partial<CommandContext>) {
    const accountId = input.accountId ?? AccountId.make(yield* uuidv7)
    const at = yield* DateTime.now
    const result = yield* run(accountId, AccountCommand.OpenAccount({ ...input, accountId, at }), context)
    return { accountId, ...result }
  }
)

export const depositFunds = Effect.fn("TradingAccounts.deposit")(
  function*(accountId: AccountId, amount: BigDecimal.BigDecimal, context?: Partial<CommandContext>) {
    return yield* run(accountId, AccountCommand.DepositFunds({ amount, at: yield* DateTime.now }), context)
  }
)

export const withdrawFunds = Effect.fn("TradingAccounts.withdraw")(
  function*(accountId: AccountId, amount: BigDecimal.BigDecimal, context?: Partial<CommandContext>) {
    return yield* run(accountId, AccountCommand.WithdrawFunds({ amount, at: yield* DateTime.now }), context)
  }
)

export const setRiskLimits = Effect.fn("TradingAccounts.setRiskLimits")(
  function*(accountId: AccountId, limits: RiskLimits, context?: Partial<CommandContext>) {
    return yield* run(accountId, AccountCommand.SetRiskLimits({ limits, at: yield* DateTime.now }), context)
  }
)

export interface OrderInput {
  readonly symbol: Symbol
  readonly side: Side
  readonly orderType: OrderType
  readonly quantity: BigDecimal.BigDecimal
  readonly limitPrice: Option.Option<BigDecimal.BigDecimal>
}

/**
 * Places an order against the market as it stands now; a refusal is recorded and returned.
 * Untraced, as `fillOrder` and `Markets.updatePrice`: these run at trading rates, and a span of
 * their own cost about a sixth of the order's CPU (docs/adr/0016); the HTTP request span covers them.
 */
export const placeOrder = Effect.fnUntraced(
  function*(accountId: AccountId, order: OrderInput, context?: Partial<CommandContext>) {
    const market = yield* marketView(order.symbol)
    const [orderId, tradeId, commandId] = yield* uuidv7s(3)
    return yield* run(accountId, AccountCommand.PlaceOrder({
      ...order, orderId: OrderId.make(orderId!), tradeId: TradeId.make(tradeId!), market, at: yield* DateTime.now
    }), context, commandId, true)
  },
  admitted
)

export const cancelOrder = Effect.fn("TradingAccounts.cancelOrder")(
  function*(accountId: AccountId, orderId: OrderId, context?: Partial<CommandContext>) {
    return yield* run(accountId, AccountCommand.CancelOrder({ orderId, at: yield* DateTime.now }), context)
  }
)

/** Fills a resting order at a crossing price (the order-filling process sends this). */
export const fillOrder = Effect.fnUntraced(
  function*(accountId: AccountId, orderId: OrderId, symbol: Symbol, price: BigDecimal.BigDecimal, context?: Partial<CommandContext>) {
    const market = yield* marketView(symbol)
    const tradeId = TradeId.make(yield* uuidv7)
    return yield* run(accountId, AccountCommand.FillOrder({ orderId, tradeId, price, market, at: yield* DateTime.now }), context, undefined, true)
  },
  admitted
)

export const getAccount = (accountId: AccountId) => load(Accounts)(accountId)

/** Owners remembered per event store before the oldest is forgotten. */
const OWNERS_KEPT = 100_000
/** Per event-store instance (as the AggregateCache), so a new store, as every test builds, starts cold. */
const ownersByStore = new WeakMap<object, Map<string, CustomerId>>()

/**
 * The customer an account belongs to, or none for an account that was never opened. An opened
 * account stays open and its customer never changes, so once known it is remembered: a known
 * account costs no read, an unknown id is read from the store every time (so it turns up as soon
 * as it is opened, by any process). Before reading, it looks in the command path's cache, which
 * holds the accounts this process has just opened or traded on.
 */
export const accountOwner = (accountId: AccountId): Effect.Effect<Option.Option<CustomerId>, EventStoreUnavailable, EventStore | SnapshotStore> =>
  Effect.flatMap(EventStore, (store) => {
    let owners = ownersByStore.get(store)
    if (owners === undefined) {
      owners = new Map()
      ownersByStore.set(store, owners)
    }
    const known = owners.get(accountId)
    if (known !== undefined) return Effect.succeed(Option.some(known))
    const remember = (customerId: CustomerId) => {
      if (owners.size >= OWNERS_KEPT) owners.delete(owners.keys().next().value!)
      owners.set(accountId, customerId)
      return Option.some(customerId)
    }
    return Effect.flatMap(CommandHandlerConfig, ({ cacheCapacity }) => {
      const cached = cacheOf(store, cacheCapacity).get<AccountState>(streamId(Accounts, accountId))
      if (cached !== undefined && cached.state._tag === "Opened") return Effect.succeed(remember(cached.state.customerId))
      return Effect.map(getAccount(accountId), ({ state }) => state._tag === "Opened" ? remember(state.customerId) : Option.none())
    })
  })

/** "What did this account hold at 14:32?": the same fold over the events up to that instant. */
export const getAccountAsOf = (accountId: AccountId, at: DateTime.Utc) => stateAt(Accounts)(accountId, at)

export const noLimitPrice = Option.none<BigDecimal.BigDecimal>()
