import { Effect, FiberRef, Schema } from "effect"
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

type DecodeMemo = WeakMap<RecordedEvent, { readonly codec: object; readonly event: unknown }>

/** Decoded events by the stored event they came from, inside `sharingDecodes` only. */
const decodeMemo = FiberRef.unsafeMake<DecodeMemo | undefined>(undefined)

/**
 * Runs `effect` with its decodes shared: a stored event decoded twice inside it (the projections
 * of one page each decode the page) is decoded once. Decoded events are immutable, so sharing
 * them is safe; the memo ends with `effect`, so nothing is kept beyond it.
 */
export const sharingDecodes = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.suspend(() => Effect.locally(effect, decodeMemo, new WeakMap()))

/** Decodes stored events; one that no longer decodes is a defect, not a business outcome. */
export const decodeEvents = <E>(aggregate: { readonly codec: EventCodec<E> }, events: ReadonlyArray<RecordedEvent>) =>
  FiberRef.getWith(decodeMemo, (memo) =>
    Effect.sync(() =>
      events.map((e) => {
        const known = memo?.get(e)
        if (known !== undefined && known.codec === aggregate.codec) return known.event as E
        const event = aggregate.codec.decode(e.type, e.schemaVersion, e.data)
        memo?.set(e, { codec: aggregate.codec, event })
        return event
      })))
