import { Effect, Schema } from "effect"
import type { AccountEvent } from "../domain/AccountEvents.js"
import type { AccountRejection } from "../domain/AccountRejections.js"
import type { Decider } from "../domain/Decider.js"
import { Market, type MarketCommand, type MarketEvent, type MarketRejection, MarketState } from "../domain/Market.js"
import { type AccountCommand, AccountState, TradingAccount } from "../domain/TradingAccount.js"
import { AccountEventCodec, MarketEventCodec } from "./avro/history.js"
import type { RecordedEvent } from "./ports/EventStore.js"

/** How an aggregate's events become stored bytes and back (Avro; older schema versions resolve on decode). */
export interface EventCodec<E> {
  readonly encode: (event: E) => { readonly type: string; readonly schemaVersion: number; readonly data: Uint8Array }
  /** Throws on an unknown type or version: a stored event that cannot be read is a defect. */
  readonly decode: (type: string, schemaVersion: number, data: Uint8Array) => E
}

/**
 * An aggregate type as the application stores it: the decider, how its events and state are
 * encoded, and the stream-id prefix of its aggregates.
 */
export interface Aggregate<C, S, E, R> {
  readonly name: string
  readonly decider: Decider<C, S, E, R>
  readonly codec: EventCodec<E>
  readonly state: Schema.Schema<S, unknown>
  /** Bump when the state's shape changes: older snapshots are then ignored. */
  readonly stateVersion: number
}

export const streamId = (aggregate: { readonly name: string }, id: string) => `${aggregate.name}-${id}`

const asUnknown = <A, I>(schema: Schema.Schema<A, I>) => schema as unknown as Schema.Schema<A, unknown>

export const Accounts: Aggregate<AccountCommand, AccountState, AccountEvent, AccountRejection> = {
  name: "account",
  decider: TradingAccount,
  codec: AccountEventCodec,
  state: asUnknown(AccountState),
  stateVersion: 1
}

export const Markets: Aggregate<MarketCommand, MarketState, MarketEvent, MarketRejection> = {
  name: "market",
  decider: Market,
  codec: MarketEventCodec,
  state: asUnknown(MarketState),
  stateVersion: 1
}

/** Encodes a domain event into the store's `type`, `schemaVersion` and `data` bytes. */
export const encodeEvent = <E>(aggregate: { readonly codec: EventCodec<E> }, event: E) =>
  Effect.sync(() => aggregate.codec.encode(event)) // a domain event that cannot encode is a bug: it dies

/**
 * Decoded events by the stored event they came from, for as long as that object lives: the log
 * followers of a process (the projections, the order filler) are handed the same objects, so each
 * event is decoded once for all of them. Decoded events are immutable, so sharing them is safe.
 */
const decoded = new WeakMap<RecordedEvent, { readonly codec: object; readonly event: unknown }>()

/** Decodes stored events; one that no longer decodes is a defect, not a business outcome. */
export const decodeEvents = <E>(aggregate: { readonly codec: EventCodec<E> }, events: ReadonlyArray<RecordedEvent>) =>
  Effect.sync(() =>
    events.map((e) => {
      const known = decoded.get(e)
      if (known !== undefined && known.codec === aggregate.codec) return known.event as E
      const event = aggregate.codec.decode(e.type, e.schemaVersion, e.data)
      decoded.set(e, { codec: aggregate.codec, event })
      return event
    }))
