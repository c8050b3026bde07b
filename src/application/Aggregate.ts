import { Effect, Schema } from "effect"
import { AccountEvent, AccountEventVersions } from "../domain/AccountEvents.js"
import type { Decider } from "../domain/Decider.js"
import type { AccountRejection } from "../domain/AccountRejections.js"
import { Market, type MarketCommand, MarketEvent, MarketEventVersions, type MarketRejection, MarketState } from "../domain/Market.js"
import { type AccountCommand, AccountState, TradingAccount } from "../domain/TradingAccount.js"
import type { RecordedEvent } from "./ports/EventStore.js"

/**
 * An aggregate type as the application stores it: the decider plus how its events and state
 * are encoded, and the stream-id prefix of its aggregates.
 */
export interface Aggregate<C, S, E extends { readonly _tag: string }, R> {
  readonly name: string
  readonly decider: Decider<C, S, E, R>
  readonly event: Schema.Schema<E, unknown>
  readonly versions: Readonly<Record<E["_tag"], number>>
  readonly state: Schema.Schema<S, unknown>
  /** Bump when the state's shape changes: older snapshots are then ignored. */
  readonly stateVersion: number
}

export const streamId = (aggregate: { readonly name: string }, id: string) => `${aggregate.name}-${id}`

const asUnknown = <A, I>(schema: Schema.Schema<A, I>) => schema as unknown as Schema.Schema<A, unknown>

export const Accounts: Aggregate<AccountCommand, AccountState, AccountEvent, AccountRejection> = {
  name: "account",
  decider: TradingAccount,
  event: asUnknown(AccountEvent),
  versions: AccountEventVersions,
  state: asUnknown(AccountState),
  stateVersion: 1
}

export const Markets: Aggregate<MarketCommand, MarketState, MarketEvent, MarketRejection> = {
  name: "market",
  decider: Market,
  event: asUnknown(MarketEvent),
  versions: MarketEventVersions,
  state: asUnknown(MarketState),
  stateVersion: 1
}

/** Encodes a domain event into the store's `type`, `schemaVersion` and JSON-safe `data`. */
export const encodeEvent = <E extends { readonly _tag: string }>(
  aggregate: { readonly event: Schema.Schema<E, unknown>; readonly versions: Readonly<Record<E["_tag"], number>> },
  event: E
) =>
  Schema.encode(aggregate.event)(event).pipe(
    Effect.map((data) => ({ type: event._tag, schemaVersion: aggregate.versions[event._tag as E["_tag"]], data })),
    Effect.orDie // a domain event that cannot encode is a bug
  )

/** Decodes stored events; one that no longer decodes is a defect, not a business outcome. */
export const decodeEvents = <E>(schema: Schema.Schema<E, unknown>, events: ReadonlyArray<RecordedEvent>) =>
  Schema.decodeUnknown(Schema.Array(schema))(events.map((e) => e.data)).pipe(Effect.orDie)
