import { describe, expect, it } from "@effect/vitest"
import { Chunk, Context, DateTime, Effect, Exit, type Layer, Option, Stream } from "effect"
import * as Ed25519Signer from "../../../src/adapters/crypto/Ed25519Signer.js"
import { Accounts } from "../../../src/application/Aggregate.js"
import { signCheckpoint, verifyChain } from "../../../src/application/ChainVerification.js"
import { GENESIS, link } from "../../../src/application/HashChain.js"
import * as Markets from "../../../src/application/Markets.js"
import type { CheckpointStore, Signer } from "../../../src/application/ports/Checkpoints.js"
import { EventStore, type RecordedEvent } from "../../../src/application/ports/EventStore.js"
import { Retention } from "../../../src/application/ports/Retention.js"
import type { SnapshotStore } from "../../../src/application/ports/SnapshotStore.js"
import * as TradingAccounts from "../../../src/application/TradingAccounts.js"
import { TradeExecuted } from "../../../src/domain/AccountEvents.js"
import { decimal } from "../../../src/domain/Decimal.js"
import { CustomerId, Currency, Symbol } from "../../../src/domain/Ids.js"

/** What an attacker with database access does, bypassing the adapter and its triggers. */
export class Tamper extends Context.Tag("test/Tamper")<Tamper, {
  readonly setData: (position: number, data: Uint8Array) => Effect.Effect<void>
  readonly setHash: (position: number, hash: string) => Effect.Effect<void>
  readonly deleteAt: (position: number) => Effect.Effect<void>
  readonly swap: (a: number, b: number) => Effect.Effect<void>
  /** Statements an ordinary client runs against the protected tables; each must be refused. */
  readonly attempt: (statement: "UPDATE" | "DELETE" | "TRUNCATE") => Effect.Effect<void, unknown>
  /** Average stored bytes of one row of the type, envelope included. */
  readonly storedBytes: (type: string) => Effect.Effect<number>
  readonly retentionLog: Effect.Effect<ReadonlyArray<{ readonly purged_through: number; readonly reason: string; readonly events_removed: number }>>
}>() {}

type Stores = EventStore | SnapshotStore | Retention | CheckpointStore | Tamper

const ACME = Symbol.make("ACME")

/** A short real history: a market, an account, a deposit, two trades. Returns the log. */
const trade = Effect.gen(function*() {
  yield* Markets.openMarket(ACME, { priceBand: decimal("0.5"), orderBand: decimal("0.2"), haltOnAnomaly: false })
  yield* Markets.updatePrice(ACME, decimal("100.00"), DateTime.unsafeMake("2026-03-02T14:00:00Z"))
  const { accountId } = yield* TradingAccounts.openAccount({
    customerId: CustomerId.make("c-1"), accountType: "INDIVIDUAL", currency: Currency.make("USD"), initialBalance: decimal("10000.00")
  })
  const order = { symbol: ACME, orderType: "MARKET", quantity: decimal("10"), limitPrice: Option.none() } as const
  yield* TradingAccounts.placeOrder(accountId, { ...order, side: "BUY" })
  yield* TradingAccounts.placeOrder(accountId, { ...order, side: "SELL", quantity: decimal("4") })
  return yield* Effect.flatMap(EventStore, (store) => store.readAll())
})

const firstTrade = (log: ReadonlyArray<RecordedEvent>) => log.find((e) => e.type === "TradeExecuted")!

/** Tamper-evidence and immutability of a SQL store; `makeLayer` builds a fresh store and its Tamper. */
export const chainSuite = (name: string, makeLayer: () => Layer.Layer<Stores, unknown>) =>
  describe(`${name}: immutability and verification`, () => {
    const run = <A, E>(body: Effect.Effect<A, E, Stores | Signer>) =>
      body.pipe(Effect.provide(Ed25519Signer.layerTest), Effect.provide(makeLayer()))

    it.effect("verifies an untouched log as intact, head and checkpoints included", () =>
      run(Effect.gen(function*() {
        const log = yield* trade
        yield* signCheckpoint
        const report = yield* verifyChain(3)
        expect(report).toMatchObject({ _tag: "Intact", events: log.length, checkpoints: 1, head: { position: log.length } })
      })))

    it.effect("stores a TradeExecuted in under 300 bytes, envelope included", () =>
      run(Effect.gen(function*() {
        yield* trade
        const bytes = yield* (yield* Tamper).storedBytes("TradeExecuted")
        console.log(`${name}: average stored TradeExecuted row, envelope included: ${bytes.toFixed(0)} bytes`)
        expect(bytes).toBeGreaterThan(100)
        expect(bytes).toBeLessThan(300) // docs/adr/0017
      })))

    it.effect("refuses UPDATE, DELETE and TRUNCATE of events from an ordinary client", () =>
      run(Effect.gen(function*() {
        yield* trade
        const tamper = yield* Tamper
        for (const statement of ["UPDATE", "DELETE", "TRUNCATE"] as const) {
          const exit = yield* Effect.exit(tamper.attempt(statement))
          expect(Exit.isFailure(exit), `${statement} went through`).toBe(true)
        }
        expect(yield* verifyChain()).toMatchObject({ _tag: "Intact" })
      })))

    it.effect("names the event whose price was changed in place", () =>
      run(Effect.gen(function*() {
        const log = yield* trade
        const target = firstTrade(log)
        const original = Accounts.codec.decode(target.type, target.schemaVersion, target.data) as TradeExecuted
        const forged = new TradeExecuted({ ...original, price: decimal("1.00") })
        yield* (yield* Tamper).setData(target.position, Accounts.codec.encode(forged).data)
        expect(yield* verifyChain()).toEqual({
          _tag: "Broken", problem: "HASH_MISMATCH", position: target.position, eventId: Option.some(target.eventId),
          detail: expect.any(String)
        })
      })))

    it.effect("names the position of a deleted event", () =>
      run(Effect.gen(function*() {
        const log = yield* trade
        const target = firstTrade(log)
        yield* (yield* Tamper).deleteAt(target.position)
        expect(yield* verifyChain()).toMatchObject({ _tag: "Broken", problem: "MISSING_EVENT", position: target.position })
      })))

    it.effect("names the first event of two that were reordered", () =>
      run(Effect.gen(function*() {
        const log = yield* trade
        const [a, b] = [log[3]!, log[4]!]
        yield* (yield* Tamper).swap(a.position, b.position)
        expect(yield* verifyChain()).toMatchObject({
          _tag: "Broken", problem: "HASH_MISMATCH", position: a.position, eventId: Option.some(b.eventId)
        })
      })))

    it.effect("catches a rewrite that relinks the chain, through the signed checkpoint", () =>
      run(Effect.gen(function*() {
        const log = yield* trade
        yield* signCheckpoint
        const tamper = yield* Tamper
        const target = firstTrade(log)
        const forged = Accounts.codec.encode(new TradeExecuted({
          ...(Accounts.codec.decode(target.type, target.schemaVersion, target.data) as TradeExecuted), price: decimal("1.00")
        })).data
        yield* tamper.setData(target.position, forged)
        let previous = GENESIS
        for (const e of log) {
          const hash = link(previous, e.position === target.position ? { ...e, data: forged } : e)
          yield* tamper.setHash(e.position, hash)
          previous = hash
        }
        const report = yield* verifyChain()
        expect(report).toMatchObject({ _tag: "Broken", problem: "CHECKPOINT_MISMATCH", position: log.length })
      })))

    it.effect("rejects a checkpoint signed by an untrusted key", () =>
      run(Effect.gen(function*() {
        yield* trade
        yield* signCheckpoint.pipe(Effect.provide(Ed25519Signer.layerTest))
        expect(yield* verifyChain()).toMatchObject({ _tag: "Broken", problem: "BAD_SIGNATURE" })
      })))

    it.effect("purges an old prefix only through the logged retention procedure, and the rest still verifies", () =>
      run(Effect.gen(function*() {
        const log = yield* trade
        const retention = yield* Retention
        const removed = yield* retention.purgeThrough(3, "7-year retention: test")
        expect(removed).toBe(3)
        const store = yield* EventStore
        expect((yield* store.readAll()).map((e) => e.position)).toEqual(log.slice(3).map((e) => e.position))
        // a subscriber from the start, in the process that wrote and purged, gets what the table still holds
        const subscribed = yield* store.subscribe(1).pipe(Stream.take(log.length - 3), Stream.runCollect, Effect.timeout("10 seconds"))
        expect(Chunk.toReadonlyArray(subscribed).map((e) => e.position)).toEqual(log.slice(3).map((e) => e.position))
        expect(yield* store.chainStart).toEqual({ position: 3, hash: log[2]!.hash })
        expect(yield* (yield* Tamper).retentionLog).toEqual([{ purged_through: 3, reason: "7-year retention: test", events_removed: 3 }])
        expect(yield* verifyChain()).toMatchObject({ _tag: "Intact", from: { position: 3 }, events: log.length - 3 })
        expect(Exit.isFailure(yield* Effect.exit((yield* Tamper).attempt("DELETE")))).toBe(true)
        expect(Exit.isFailure(yield* Effect.exit(retention.purgeThrough(4, " ")))).toBe(true)
      })))
  })
