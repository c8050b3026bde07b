import { Context, type Effect, type Option, Schema } from "effect"

export class ConsumerCheckpointUnavailable extends Schema.TaggedError<ConsumerCheckpointUnavailable>()("ConsumerCheckpointUnavailable", {
  reason: Schema.String,
  cause: Schema.optional(Schema.Defect)
}) {}

/**
 * What a named consumer of a partitioned stream (a Kinesis stream's shards) has processed, kept
 * durably: where each partition resumes, and the highest version of each aggregate it applied
 * (what makes an at-least-once delivery apply each event once).
 */
export class ConsumerCheckpoints extends Context.Tag("ledgerline/ConsumerCheckpoints")<ConsumerCheckpoints, {
  /** The last sequence number `consumer` processed in `partition` (e.g. `<stream>/<shardId>`); none: from the start. */
  readonly position: (consumer: string, partition: string) => Effect.Effect<Option.Option<string>, ConsumerCheckpointUnavailable>
  readonly savePosition: (consumer: string, partition: string, sequenceNumber: string) => Effect.Effect<void, ConsumerCheckpointUnavailable>
  /** The highest version of `aggregateId` that `consumer` applied (0: none). */
  readonly appliedVersion: (consumer: string, aggregateId: string) => Effect.Effect<number, ConsumerCheckpointUnavailable>
  readonly saveAppliedVersion: (consumer: string, aggregateId: string, version: number) => Effect.Effect<void, ConsumerCheckpointUnavailable>
}>() {}
