import { DateTime } from "effect"
import { Accounts, streamId } from "../../src/application/Aggregate.js"
import type { NewEvent } from "../../src/application/ports/EventStore.js"
import { AccountOpened, type Side, TradeExecuted } from "../../src/domain/AccountEvents.js"
import { decimal } from "../../src/domain/Decimal.js"
import { AccountId, Currency, CustomerId, OrderId, Symbol, TradeId } from "../../src/domain/Ids.js"
import { uuidv7 } from "./Ids.js"

/** A domain event as the store receives it: type, schema version and the codec's bytes. */
export type Encoded = ReturnType<typeof Accounts.codec.encode>

/** One trading account the benchmark writes to: its stream and the user acting on it. */
export interface BenchAccount {
  readonly accountId: AccountId
  readonly streamId: string
  readonly userId: string
}

const USD = Currency.make("USD")
const SYMBOLS = ["AAPL", "MSFT", "NVDA", "AMZN", "GOOGL", "META", "TSLA", "BRK.B", "JPM", "V"].map((s) => Symbol.make(s))

export const newAccount = (): BenchAccount => {
  const id = uuidv7()
  return { accountId: AccountId.make(id), streamId: streamId(Accounts, id), userId: uuidv7() }
}

export const opened = (account: BenchAccount, at: DateTime.Utc): Encoded =>
  Accounts.codec.encode(new AccountOpened({
    accountId: account.accountId, customerId: CustomerId.make(uuidv7()), accountType: "INDIVIDUAL",
    initialBalance: decimal("250000.00"), currency: USD, openedAt: at
  }))

/**
 * The `i`th fill of an account: a real TradeExecuted (fresh trade and order ids, one of ten symbols,
 * scale-2 quantity, scale-4 price), encoded by the application's codec. `validate: false` skips the
 * constructor's Schema check for bulk loads: on effect 3.22 it recompiles the class's parser on every
 * construction (~100 µs an event), which would dominate a million-event load.
 */
export const trade = (account: BenchAccount, i: number, at: DateTime.Utc, validate = true): Encoded => {
  const side: Side = i % 3 === 2 ? "SELL" : "BUY"
  const quantity = `${1 + ((i * 7) % 200)}.${String((i * 13) % 100).padStart(2, "0")}`
  const price = `${50 + ((i * 31) % 450)}.${String((i * 97) % 10000).padStart(4, "0")}`
  return Accounts.codec.encode(new TradeExecuted({
    tradeId: TradeId.make(uuidv7()), accountId: account.accountId, orderId: OrderId.make(uuidv7()),
    symbol: SYMBOLS[i % SYMBOLS.length]!, quantity: decimal(quantity), price: decimal(price), tradeType: side, executedAt: at
  }, !validate))
}

/** `n` encoded fills of an account, built once: appenders cycle through them and add fresh envelopes. */
export const tradeRing = (account: BenchAccount, n: number, at: DateTime.Utc, validate = true): ReadonlyArray<Encoded> =>
  Array.from({ length: n }, (_, i) => trade(account, i + 1, at, validate))

/**
 * The envelopes of one command's events: fresh UUIDv7 event ids, the command id as correlation and
 * causation (what CommandHandler does for a command without a caller context), the current instant.
 */
export const envelopes = (account: BenchAccount, events: ReadonlyArray<Encoded>): Array<NewEvent> => {
  const commandId = uuidv7()
  const timestamp = DateTime.unsafeNow()
  const metadata = { userId: account.userId, correlationId: commandId, causationId: commandId, commandId }
  return events.map((e) => ({ eventId: uuidv7(), type: e.type, schemaVersion: e.schemaVersion, timestamp, data: e.data, metadata }))
}
