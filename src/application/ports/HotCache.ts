import { Context, type Duration, type Effect, type Option, Schema } from "effect"

export class HotCacheUnavailable extends Schema.TaggedError<HotCacheUnavailable>()("HotCacheUnavailable", {
  reason: Schema.String,
  cause: Schema.optional(Schema.Defect)
}) {}

/**
 * A cache of read-model answers shared by every API instance, with versions instead of blind
 * deletes: each entry carries the read-model position it was read at, each key a fence. An entry
 * set below its key's fence is never served, so a reader that raced a commit cannot put back a
 * value older than the one the commit wrote (docs/adr/0012).
 */
export class HotCache extends Context.Tag("ledgerline/HotCache")<HotCache, {
  /** The value at `key`; none when absent, expired, or set at a version below the key's fence. */
  readonly get: (key: string) => Effect.Effect<Option.Option<string>, HotCacheUnavailable>
  /** Keeps `value`, read from the read model at `version`, for `ttl`. */
  readonly set: (key: string, value: string, version: number, ttl: Duration.DurationInput) => Effect.Effect<void, HotCacheUnavailable>
  /** Raises each key's fence to `version` (a fence never falls, and outlasts any entry): entries set below it are not served any more. */
  readonly invalidate: (keys: ReadonlyArray<string>, version: number) => Effect.Effect<void, HotCacheUnavailable>
}>() {}
