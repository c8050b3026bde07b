import { type BigDecimal, DateTime, Effect, Option } from "effect"
import type { AccountType, OrderType, RiskLimits, Side } from "../domain/AccountEvents.js"
import { AccountId, type Currency, type CustomerId, OrderId, type Symbol, TradeId } from "../domain/Ids.js"
import { AccountCommand } from "../domain/TradingAccount.js"
import { Accounts } from "./Aggregate.js"
import { stateAt } from "./AsOf.js"
import { type CommandContext, commandContext, handler, load } from "./CommandHandler.js"
import { uuidv7 } from "./Ids.js"
import { marketView } from "./Markets.js"

const handle = handler(Accounts)
const run = (accountId: AccountId, command: AccountCommand, context?: Partial<CommandContext>) =>
  Effect.flatMap(commandContext(context), (ctx) => handle(accountId, command, ctx, { freshCommandId: context?.commandId === undefined }))

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
    const orderId = OrderId.make(yield* uuidv7)
    const tradeId = TradeId.make(yield* uuidv7)
    return yield* run(accountId, AccountCommand.PlaceOrder({ ...order, orderId, tradeId, market, at: yield* DateTime.now }), context)
  }
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
    return yield* run(accountId, AccountCommand.FillOrder({ orderId, tradeId, price, market, at: yield* DateTime.now }), context)
  }
)

export const getAccount = (accountId: AccountId) => load(Accounts)(accountId)

/** "What did this account hold at 14:32?": the same fold over the events up to that instant. */
export const getAccountAsOf = (accountId: AccountId, at: DateTime.Utc) => stateAt(Accounts)(accountId, at)

export const noLimitPrice = Option.none<BigDecimal.BigDecimal>()
