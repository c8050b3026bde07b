import { Data, Duration, Effect, Random } from "effect"
import { Kinesis, type KinesisError } from "./KinesisClient.js"

/** PutRecords limits: records per request, bytes per request and per record (Data plus partition key). */
export const MAX_RECORDS_PER_REQUEST = 500
export const MAX_REQUEST_BYTES = 5 * 1024 * 1024
export const MAX_RECORD_BYTES = 1024 * 1024

/** One record to put; entries of one partition key are put in the order given. */
export interface Entry {
  readonly partitionKey: string
  readonly data: Uint8Array
}

export const recordBytes = (entry: Entry) => entry.data.byteLength + Buffer.byteLength(entry.partitionKey, "utf8")

export interface PutOptions {
  /** First pause after a request with failed records; doubles per consecutive such request (default 50 ms). */
  readonly baseDelay?: Duration.DurationInput
  /** Longest pause (default 5 s). */
  readonly maxDelay?: Duration.DurationInput
  /** Attempts per record before giving up (default 10). */
  readonly maxAttempts?: number
}

/** Some records were still refused after `maxAttempts`, or one can never fit; those after it were not sent. */
export class RecordsNotAccepted extends Data.TaggedError("RecordsNotAccepted")<{
  readonly stream: string
  readonly pending: number
  readonly reason: string
}> {
  override get message() { return `${this.stream}: ${this.pending} record(s) not accepted: ${this.reason}` }
}

export interface PutStats {
  readonly requests: number
  /** Records sent again after a refusal (throttling, an internal failure) or a failed request. */
  readonly retried: number
}

/**
 * Which pending entries the next request carries (indices, in order): the first pending entry of
 * each partition key and no other, so a key never has two records in flight and a refused record
 * is always retried before the next one of its key is sent; at most 500 entries and 5 MiB.
 */
export const nextRequest = (pending: ReadonlyArray<Entry>): ReadonlyArray<number> => {
  const keys = new Set<string>()
  const picked: Array<number> = []
  let bytes = 0
  for (let i = 0; i < pending.length && picked.length < MAX_RECORDS_PER_REQUEST; i++) {
    const entry = pending[i]!
    if (keys.has(entry.partitionKey)) continue
    keys.add(entry.partitionKey)
    const size = recordBytes(entry)
    if (bytes + size > MAX_REQUEST_BYTES) continue // a later, smaller head may still fit
    bytes += size
    picked.push(i)
  }
  return picked
}

/**
 * Puts every entry on the stream, at least once, keeping each partition key's order: one record
 * per key per request (`nextRequest`), and a record refused in a request (FailedRecordCount,
 * ErrorCode ProvisionedThroughputExceededException or InternalFailure) or a retryable failure of
 * the whole request is sent again, after an exponential, jittered pause, before its key's next.
 * A request that failed as a whole may still have written some records: they are written twice,
 * in order. Fails after `maxAttempts` refusals of one record, or on an error no retry can fix.
 */
export const putInOrder = (stream: string, entries: ReadonlyArray<Entry>, options: PutOptions = {}) =>
  Effect.gen(function*() {
    const kinesis = yield* Kinesis
    const base = Duration.toMillis(options.baseDelay ?? Duration.millis(50))
    const cap = Duration.toMillis(options.maxDelay ?? Duration.seconds(5))
    const maxAttempts = options.maxAttempts ?? 10
    const tooLarge = entries.findIndex((e) => recordBytes(e) > MAX_RECORD_BYTES)
    if (tooLarge >= 0) {
      return yield* new RecordsNotAccepted({
        stream, pending: entries.length,
        reason: `the record for ${entries[tooLarge]!.partitionKey} is ${recordBytes(entries[tooLarge]!)} bytes, above the 1 MiB limit`
      })
    }
    let pending = entries.map((entry) => ({ entry, attempts: 0 }))
    let requests = 0
    let retried = 0
    let failingRounds = 0
    while (pending.length > 0) {
      const picked = nextRequest(pending.map((p) => p.entry))
      requests += 1
      const result = yield* kinesis.putRecords({
        StreamName: stream,
        Records: picked.map((i) => ({ Data: pending[i]!.entry.data, PartitionKey: pending[i]!.entry.partitionKey }))
      }).pipe(Effect.either)
      if (result._tag === "Left" && !result.left.retryable) return yield* result.left
      // A failed request, or a response that does not answer for every record, refuses them all.
      const outcomes = result._tag === "Right" && result.right.Records?.length === picked.length ? result.right.Records : undefined
      const refused = new Set<number>()
      let code = result._tag === "Left" ? result.left.code : "an incomplete response"
      picked.forEach((index, k) => {
        const errorCode = outcomes === undefined ? code : outcomes[k]?.ErrorCode
        if (errorCode === undefined) return
        code = errorCode
        refused.add(index)
      })
      const accepted = new Set(picked.filter((index) => !refused.has(index)))
      for (const index of refused) pending[index]!.attempts += 1
      const exhausted = pending.find((p) => p.attempts >= maxAttempts)
      if (exhausted !== undefined) {
        return yield* new RecordsNotAccepted({
          stream, pending: pending.length - accepted.size,
          reason: `the record for ${exhausted.entry.partitionKey} was refused ${exhausted.attempts} times (last: ${code})`
        })
      }
      pending = pending.filter((_, index) => !accepted.has(index))
      if (refused.size === 0) {
        failingRounds = 0
        continue
      }
      retried += refused.size
      failingRounds += 1
      const delay = Math.min(cap, base * 2 ** (failingRounds - 1))
      const jittered = Math.round(delay * (0.5 + (yield* Random.next) / 2))
      yield* Effect.logDebug(`${stream}: ${refused.size} of ${picked.length} record(s) refused (${code}); again in ${jittered} ms`)
      yield* Effect.sleep(Duration.millis(jittered))
    }
    return { requests, retried } satisfies PutStats
  }).pipe(Effect.withSpan("Kinesis.putInOrder", { attributes: { stream, records: entries.length } }))

export type PutError = KinesisError | RecordsNotAccepted
