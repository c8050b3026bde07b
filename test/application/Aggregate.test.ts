import { describe, expect, it } from "@effect/vitest"
import { DateTime, Effect } from "effect"
import { Accounts, decodeEvents, sharingDecodes } from "../../src/application/Aggregate.js"
import type { RecordedEvent } from "../../src/application/ports/EventStore.js"
import { FundsDeposited } from "../../src/domain/AccountEvents.js"
import { decimal } from "../../src/domain/Decimal.js"
import { AccountId } from "../../src/domain/Ids.js"

const at = DateTime.unsafeMake("2026-03-02T14:32:00Z")
const deposit = new FundsDeposited({ accountId: AccountId.make("acc-1"), amount: decimal("12.50"), depositedAt: at })
const recorded: RecordedEvent = {
  ...Accounts.codec.encode(deposit), eventId: "e-1", aggregateId: "account-acc-1", version: 1, position: 1, timestamp: at,
  metadata: { userId: "u", correlationId: "c", causationId: "c", commandId: "cmd" }, hash: "00"
}

describe("decodeEvents", () => {
  it.effect("decodes a stored event once for every decode inside sharingDecodes, and afresh outside it", () =>
    Effect.gen(function*() {
      const [first, second] = yield* sharingDecodes(Effect.all([decodeEvents(Accounts, [recorded]), decodeEvents(Accounts, [recorded])]))
      expect(first![0]).toEqual(deposit)
      expect(second![0]).toBe(first![0])
      const [outside] = yield* decodeEvents(Accounts, [recorded])
      const [again] = yield* decodeEvents(Accounts, [recorded])
      expect(outside).toEqual(deposit)
      expect(again).not.toBe(outside)
      // a later share starts empty: nothing outlives the effect it wrapped
      const [[later]] = yield* sharingDecodes(Effect.all([decodeEvents(Accounts, [recorded])]))
      expect(later).not.toBe(first![0])
    }))
})
