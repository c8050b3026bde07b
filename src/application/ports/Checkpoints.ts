import { Context, type DateTime, type Effect, Schema } from "effect"

/** A signed statement that the chain had `hash` at `position` at `signedAt`. */
export interface Checkpoint {
  readonly position: number
  readonly hash: string
  readonly signedAt: DateTime.Utc
  /** Which key signed it (SHA-256 of the public key, hex, first 16 characters). */
  readonly keyId: string
  /** Ed25519 signature, base64, over `checkpointMessage`. */
  readonly signature: string
}

export class CheckpointStoreUnavailable extends Schema.TaggedError<CheckpointStoreUnavailable>()("CheckpointStoreUnavailable", {
  reason: Schema.String,
  cause: Schema.optional(Schema.Defect)
}) {}

export class CheckpointStore extends Context.Tag("ledgerline/CheckpointStore")<CheckpointStore, {
  readonly append: (checkpoint: Checkpoint) => Effect.Effect<void, CheckpointStoreUnavailable>
  /** Every checkpoint, oldest first. */
  readonly list: Effect.Effect<ReadonlyArray<Checkpoint>, CheckpointStoreUnavailable>
}>() {}

/** Signs and checks checkpoint messages. */
export class Signer extends Context.Tag("ledgerline/Signer")<Signer, {
  readonly keyId: string
  readonly sign: (message: Uint8Array) => string
  /** True when `signature` is a valid signature of `message` by the key `keyId` this verifier trusts. */
  readonly verify: (keyId: string, message: Uint8Array, signature: string) => boolean
}>() {}
