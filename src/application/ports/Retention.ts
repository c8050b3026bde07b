import { Context, type Effect, Schema } from "effect"

export class RetentionRefused extends Schema.TaggedError<RetentionRefused>()("RetentionRefused", {
  reason: Schema.String,
  cause: Schema.optional(Schema.Defect)
}) {}

/**
 * The one way events leave the log: a logged purge of its oldest part (the brief's 7-year
 * retention). The purged link stays in the retention log, so the rest of the chain still verifies.
 */
export class Retention extends Context.Tag("ledgerline/Retention")<Retention, {
  /** Removes every event at or before `position` and logs who, why and the link purged; returns how many. */
  readonly purgeThrough: (position: number, reason: string) => Effect.Effect<number, RetentionRefused>
}>() {}
