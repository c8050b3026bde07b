import { Context, type Effect, Schema } from "effect"

export class RelayCheckpointUnavailable extends Schema.TaggedError<RelayCheckpointUnavailable>()("RelayCheckpointUnavailable", {
  reason: Schema.String,
  cause: Schema.optional(Schema.Defect)
}) {}

/** How far a relay has published the global log, kept durably so a restart resumes there. */
export class RelayCheckpoint extends Context.Tag("ledgerline/RelayCheckpoint")<RelayCheckpoint, {
  /** The last position relay `relay` published (0: none yet). */
  readonly load: (relay: string) => Effect.Effect<number, RelayCheckpointUnavailable>
  /** Records that every position up to `position` is published. */
  readonly save: (relay: string, position: number) => Effect.Effect<void, RelayCheckpointUnavailable>
}>() {}
