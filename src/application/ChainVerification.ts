import { DateTime, type Duration, Effect, Option, Schedule } from "effect"
import { link } from "./HashChain.js"
import { type Checkpoint, CheckpointStore, Signer } from "./ports/Checkpoints.js"
import { type ChainLink, EventStore } from "./ports/EventStore.js"

export type ChainProblem = "HASH_MISMATCH" | "MISSING_EVENT" | "HEAD_MISMATCH" | "BAD_SIGNATURE" | "CHECKPOINT_MISMATCH"

export interface ChainBroken {
  readonly _tag: "Broken"
  readonly problem: ChainProblem
  /** The first position where the log stops matching its chain. */
  readonly position: number
  /** The event found there, if any (a deleted event leaves only its position). */
  readonly eventId: Option.Option<string>
  readonly detail: string
}

export interface ChainIntact {
  readonly _tag: "Intact"
  readonly from: ChainLink
  readonly head: ChainLink
  readonly events: number
  readonly checkpoints: number
}

export type VerifyReport = ChainIntact | ChainBroken

const broken = (problem: ChainProblem, position: number, eventId: Option.Option<string>, detail: string): ChainBroken =>
  ({ _tag: "Broken", problem, position, eventId, detail })

/** The exact bytes a checkpoint signs. */
export const checkpointMessage = (c: Pick<Checkpoint, "position" | "hash" | "signedAt">) =>
  new TextEncoder().encode(`ledgerline-checkpoint/v1\n${c.position}\n${c.hash}\n${c.signedAt.epochMillis}`)

/** Signed checkpoints, each checked against the trusted keys; none when no signer is configured. */
const signedCheckpoints = Effect.gen(function*() {
  const store = yield* Effect.serviceOption(CheckpointStore)
  const signer = yield* Effect.serviceOption(Signer)
  if (Option.isNone(store) || Option.isNone(signer)) return { checkpoints: [] as ReadonlyArray<Checkpoint>, forged: Option.none<Checkpoint>() }
  const checkpoints = yield* store.value.list
  const forged = Option.fromNullable(checkpoints.find((c) => !signer.value.verify(c.keyId, checkpointMessage(c), c.signature)))
  return { checkpoints, forged }
})

/**
 * Walks the whole log from the chain's start, recomputes every link and reports the first event
 * that does not match, by position and id; then checks the head and every signed checkpoint, so
 * a log rewritten (or cut short) after a checkpoint was signed is caught even if relinked.
 */
export const verifyChain = (pageSize = 5000) =>
  Effect.gen(function*() {
    const store = yield* EventStore
    const { checkpoints, forged } = yield* signedCheckpoints
    if (Option.isSome(forged)) {
      return broken("BAD_SIGNATURE", forged.value.position, Option.none(),
        `the checkpoint at ${forged.value.position} is not validly signed by a trusted key`)
    }
    const from = yield* store.chainStart
    const signed = new Map(checkpoints.filter((c) => c.position > from.position).map((c) => [c.position, c.hash]))
    let previous = from.hash
    let expected = from.position + 1
    for (;;) {
      const page = yield* store.readAll({ fromPosition: expected, limit: pageSize })
      for (const event of page) {
        if (event.position !== expected) {
          return broken("MISSING_EVENT", expected, Option.none(),
            `no event at position ${expected}; the next one is ${event.eventId} at ${event.position}`)
        }
        const computed = link(previous, event)
        if (computed !== event.hash) {
          return broken("HASH_MISMATCH", event.position, Option.some(event.eventId),
            `event ${event.eventId} at position ${event.position} does not hash to its stored link`)
        }
        const checkpoint = signed.get(event.position)
        if (checkpoint !== undefined && checkpoint !== computed) {
          return broken("CHECKPOINT_MISMATCH", event.position, Option.some(event.eventId),
            `the log at ${event.position} differs from the signed checkpoint: it was rewritten after signing`)
        }
        previous = computed
        expected++
      }
      if (page.length < pageSize) break
    }
    const last: ChainLink = { position: expected - 1, hash: previous }
    const beyond = checkpoints.find((c) => c.position > last.position)
    if (beyond !== undefined) {
      return broken("CHECKPOINT_MISMATCH", last.position + 1, Option.none(),
        `a signed checkpoint covers position ${beyond.position}, past the end of the log at ${last.position}: events were removed`)
    }
    const head = yield* store.head
    if (Option.isSome(head) && (head.value.position !== last.position || head.value.hash !== last.hash)) {
      return broken("HEAD_MISMATCH", last.position + 1, Option.none(),
        `the log ends at ${last.position} but its head says ${head.value.position}`)
    }
    return { _tag: "Intact", from, head: last, events: last.position - from.position, checkpoints: checkpoints.length } satisfies ChainIntact
  }).pipe(Effect.withSpan("ChainVerification.verify"))

/** Signs the chain's current head, unless the last checkpoint already covers it; returns what it signed. */
export const signCheckpoint = Effect.gen(function*() {
  const store = yield* EventStore
  const checkpoints = yield* CheckpointStore
  const signer = yield* Signer
  const head = yield* store.head
  if (Option.isNone(head)) return Option.none<Checkpoint>()
  const existing = yield* checkpoints.list
  const latest = existing[existing.length - 1]
  if (latest !== undefined && latest.position >= head.value.position) return Option.none<Checkpoint>()
  const signedAt = yield* DateTime.now
  const unsigned = { ...head.value, signedAt }
  const checkpoint: Checkpoint = { ...unsigned, keyId: signer.keyId, signature: signer.sign(checkpointMessage(unsigned)) }
  yield* checkpoints.append(checkpoint)
  return Option.some(checkpoint)
}).pipe(Effect.withSpan("ChainVerification.signCheckpoint"))

/** Signs the head on a schedule for as long as the service runs. */
export const runCheckpointer = (every: Duration.DurationInput) =>
  signCheckpoint.pipe(
    Effect.catchAll((e) => Effect.logWarning("checkpoint not signed", e)),
    Effect.repeat(Schedule.spaced(every)),
    Effect.asVoid
  )
