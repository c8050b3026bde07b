import { Deferred, Duration, Effect, Option, Queue, Random, Ref, Stream, SubscriptionRef } from "effect"
import { randomUUID } from "node:crypto"
import { GENESIS, link } from "../../application/HashChain.js"
import type { ChainLink, RecordedEvent } from "../../application/ports/EventStore.js"
import { DynamoDb, DynamoError, queryItems } from "./DynamoClient.js"
import * as Items from "./Items.js"
import { fromOutbox, order, type OutboxEntry } from "./Outbox.js"
import * as Packed from "./Packed.js"
import * as SequencingBatch from "./SequencingBatch.js"
import type { TableNames } from "./Tables.js"

export interface SequencerOptions {
  /** How often the outbox is read for appends this process was not told about (other processes'). */
  readonly pollInterval: Duration.DurationInput
  /** Positions per partition of the log. */
  readonly logBucketSize: number
  /** Partitions of the outbox; appends are spread over them by aggregate. */
  readonly outboxShards: number
}

/** A local append waiting for its positions, with its events (so the sequencer need not read them back). */
interface Waiting {
  readonly events: ReadonlyArray<RecordedEvent>
  readonly done: Deferred.Deferred<ReadonlyArray<RecordedEvent>>
}

type PassOutcome = "idle" | "progress" | "contended"

/**
 * The relay from the outbox to the global log, one per process (docs/adr/0014). Each pass takes
 * committed appends (this process's own from memory, or everyone's from a consistent read of the
 * outbox), orders them, writes the event items a large append left to it, and then sequences as
 * many appends as fit in ONE transaction: the log chunks, the type-index chunks, the per-aggregate
 * sequencing records, the deletion of their outbox entries (which must still exist) and the move
 * of the head item (which must still be where the pass found it). So an append is sequenced
 * exactly once or stays in the outbox, whenever a process dies, and two sequencers cannot fork the
 * chain: the loser's transaction fails whole and it reads again.
 */
export const make = (names: TableNames, options: SequencerOptions) =>
  Effect.gen(function*() {
    const dynamo = yield* DynamoDb
    const waiting = new Map<string, Waiting>()
    /** This process's appends known to have committed: the fast path sequences them without reading the outbox. */
    const committed = new Map<string, OutboxEntry>()
    /** The head as this sequencer last wrote it; forgotten whenever a pass of its fails. */
    let knownHead: ChainLink | undefined = undefined
    const kicks = yield* Queue.unbounded<"local" | "full">()
    const started = yield* Ref.make(0)
    const ended = yield* SubscriptionRef.make(0)
    const head = yield* SubscriptionRef.make(0)
    const bucketOf = (position: number) => Math.floor((position - 1) / options.logBucketSize)

    const readHead = dynamo.getItem({ TableName: names.log, Key: Items.headKey, ConsistentRead: true }).pipe(
      Effect.map(({ Item }): ChainLink =>
        Item === undefined ? { position: 0, hash: GENESIS } : { position: Items.num(Item, "Position"), hash: Items.str(Item, "Hash") })
    )

    /** Every committed, unsequenced append (entries are small: their events are in event items and staged chunks). */
    const readOutbox = Effect.forEach(
      Array.from({ length: options.outboxShards }, (_, shard) => shard),
      (shard) =>
        queryItems(dynamo, {
          TableName: names.log,
          ConsistentRead: true,
          KeyConditionExpression: "PK = :pk",
          ExpressionAttributeValues: { ":pk": Items.S(Items.outboxPartition(shard)) }
        }),
      { concurrency: "unbounded" }
    ).pipe(Effect.map((shards) => shards.flat().map(fromOutbox)))

    const chunk = (entry: OutboxEntry, index: number) =>
      dynamo.getItem({
        TableName: names.log,
        Key: Items.stageKey(entry.appendId, index),
        ConsistentRead: true,
        ProjectionExpression: "#e",
        ExpressionAttributeNames: { "#e": "Events" }
      }).pipe(
        Effect.flatMap(({ Item }) =>
          Item?.Events?.B === undefined
            ? Effect.fail(new DynamoError({
              operation: "sequence", code: "MissingChunk",
              message: `chunk ${index} of append ${entry.appendId} (${entry.aggregateId}@${entry.firstVersion}) is missing`
            }))
            : Effect.succeed(Packed.decode(Item.Events.B)))
      )

    /** The append's events: from this process's memory, else from its event items and chunks. */
    const eventsOf = (entry: OutboxEntry): Effect.Effect<ReadonlyArray<RecordedEvent>, DynamoError> => {
      const local = waiting.get(entry.appendId)
      if (local !== undefined) return Effect.succeed(local.events)
      const inline = entry.inline === 0 ? Effect.succeed([]) : queryItems(dynamo, {
        TableName: names.events,
        ConsistentRead: true,
        KeyConditionExpression: "#a = :a AND #v BETWEEN :from AND :to",
        ExpressionAttributeNames: { "#a": "AggregateId", "#v": "Version" },
        ExpressionAttributeValues: {
          ":a": Items.S(entry.aggregateId), ":from": Items.N(entry.firstVersion), ":to": Items.N(entry.firstVersion + entry.inline - 1)
        }
      }).pipe(Effect.map((items) => items.map((item) => Items.fromEventItem(item, 0, ""))))
      return Effect.all([
        inline,
        Effect.forEach(Array.from({ length: entry.chunks }, (_, i) => i), (i) => chunk(entry, i), { concurrency: 4 })
      ], { concurrency: 2 }).pipe(Effect.map(([items, chunks]) => [...items, ...chunks.flat()]))
    }

    const writeBatch = (requests: ReadonlyArray<{ PutRequest: { Item: Items.Item } }>): Effect.Effect<void, DynamoError> =>
      dynamo.batchWriteItem({ RequestItems: { [names.events]: [...requests] } }).pipe(
        Effect.flatMap(({ UnprocessedItems }) => {
          const left = (UnprocessedItems?.[names.events] ?? []).flatMap((r) => r.PutRequest?.Item === undefined ? [] : [{ PutRequest: { Item: r.PutRequest.Item } }])
          return left.length === 0 ? Effect.void : Effect.zipRight(Effect.sleep("20 millis"), writeBatch(left))
        })
      )

    /**
     * Writes the event items a large append's transaction could not hold. Idempotent, and safe
     * without conditions: once the append committed, only it can hold those versions.
     */
    const materialize = (entry: OutboxEntry, events: ReadonlyArray<RecordedEvent>) => {
      if (entry.inline >= entry.count) return Effect.void
      const last = entry.firstVersion + entry.count - 1
      const requests = events.slice(entry.inline).map((e) => ({ PutRequest: { Item: Items.eventItem(e, last) } }))
      return Effect.forEach(
        Array.from({ length: Math.ceil(requests.length / 25) }, (_, i) => requests.slice(i * 25, (i + 1) * 25)),
        writeBatch,
        { concurrency: 4, discard: true }
      )
    }

    /**
     * One transaction's worth. `local` takes this process's committed appends and the head it last
     * wrote, reading nothing first; the conditions of the transaction (the previous append of each
     * aggregate sequenced, the outbox entries still there, the head unmoved) make it fail whole if
     * anything else must come first, and the next pass is a full one. `full` reads the outbox and the head.
     */
    const pass = (mode: "local" | "full"): Effect.Effect<PassOutcome, DynamoError> => Effect.gen(function*() {
      const cached = knownHead
      let entries: Array<OutboxEntry>
      let from: ChainLink
      if (mode === "local" && cached !== undefined) {
        entries = order([...committed.values()])
        from = cached
      } else {
        const known = [...committed.keys()]
        const [outbox, head] = yield* Effect.all([readOutbox, readHead], { concurrency: 2 })
        const present = new Set(outbox.map((e) => e.appendId))
        // committed before the read and not in it: another sequencer took them (appends committed since stay)
        for (const appendId of known) if (!present.has(appendId)) committed.delete(appendId)
        entries = order(outbox)
        from = head
      }
      if (entries.length === 0) return "idle"
      let position = from.position
      let previous = from.hash
      let budget = new SequencingBatch.Budget(bucketOf)
      const seen = new Set<string>()
      const chosen: Array<SequencingBatch.Chosen> = []
      for (const entry of entries) {
        const found = yield* eventsOf(entry).pipe(
          Effect.map(Option.some),
          // a chunk gone with its outbox entry: another sequencer took the append since this pass read the outbox
          Effect.catchIf((e) => e.code === "MissingChunk", (e) =>
            Effect.flatMap(
              dynamo.getItem({ TableName: names.log, Key: entry.key, ConsistentRead: true, ProjectionExpression: "PK" }),
              ({ Item }) => Item === undefined ? Effect.succeed(Option.none()) : Effect.fail(e)
            ))
        )
        if (Option.isNone(found)) {
          knownHead = undefined
          return "contended"
        }
        const events = found.value
        let p = position
        let h = previous
        const recorded = events.map((e): RecordedEvent => {
          const stored = { ...e, position: ++p }
          h = link(h, stored)
          return { ...stored, hash: h }
        })
        const checksPrevious = entry.firstVersion > 1 && !seen.has(entry.aggregateId)
        const next = budget.copy()
        next.add(entry, recorded, checksPrevious)
        // an append alone always fits: appendEvents refuses bigger ones before writing anything
        if (!next.fits() && chosen.length > 0) break
        yield* materialize(entry, events)
        budget = next
        position = p
        previous = h
        seen.add(entry.aggregateId)
        chosen.push({ entry, recorded, checksPrevious })
      }
      const outcome = yield* dynamo.transactWriteItems({
        TransactItems: SequencingBatch.transaction(names, bucketOf, from, chosen),
        ClientRequestToken: randomUUID() // a resend after a lost answer is then answered as the first was
      }).pipe(
        Effect.as<PassOutcome>("progress"),
        Effect.catchIf((e) => e.conditionFailed || e.contended, () => Effect.succeed<PassOutcome>("contended"))
      )
      knownHead = outcome === "progress" ? { position, hash: previous } : undefined
      if (outcome === "progress") {
        yield* SubscriptionRef.update(head, (h) => Math.max(h, position))
        for (const { entry, recorded } of chosen) {
          committed.delete(entry.appendId)
          const local = waiting.get(entry.appendId)
          if (local !== undefined) {
            waiting.delete(entry.appendId)
            yield* Deferred.succeed(local.done, recorded)
          }
        }
      }
      return outcome
    })

    /**
     * Passes until there is nothing left: a local drain until this process's committed appends are
     * sequenced, a full one until the outbox is empty. A lost pass (another sequencer moved first)
     * makes the next one full; losing 50 in a row is reported and waited out.
     */
    const drain = (mode: "local" | "full") => Effect.gen(function*() {
      let next = mode
      for (let lost = 0; ;) {
        const outcome = yield* pass(next)
        if (outcome === "idle") return
        if (outcome === "progress") lost = 0
        else if (++lost >= 50) {
          return yield* new DynamoError({ operation: "sequence", code: "Contended", message: "lost 50 passes in a row to other writers of the log" })
        } else {
          next = "full"
          yield* Effect.sleep(Duration.millis(yield* Random.nextIntBetween(2, 20)))
        }
      }
    })

    yield* Effect.forkScoped(Effect.forever(Effect.gen(function*() {
      const first = yield* Queue.take(kicks).pipe(Effect.timeoutOption(options.pollInterval))
      const rest = yield* Queue.takeAll(kicks)
      // a poll, or anyone asking for it, reads the outbox; appends of this process alone take the fast path
      const mode = Option.isNone(first) || first.value === "full" || [...rest].includes("full") ? "full" : "local"
      yield* Ref.update(started, (n) => n + 1)
      const pause = <A>(report: Effect.Effect<A>) =>
        report.pipe(Effect.zipRight(Effect.sync(() => (knownHead = undefined))), Effect.zipRight(Effect.sleep(options.pollInterval)))
      yield* drain(mode).pipe(
        Effect.catchTag("DynamoError", (e) => pause(Effect.logWarning(`sequencer: ${e.message}; again after a pause`))),
        // a bug must not silently stop the only relay there is: report it; the next pass starts from what is stored
        Effect.catchAllDefect((defect) => pause(Effect.logError("sequencer: a pass died; again after a pause", defect)))
      )
      yield* SubscriptionRef.update(ended, (n) => n + 1)
    })))

    const kick = Effect.asVoid(Queue.offer(kicks, "full"))

    return {
      /** Announces a local append before it commits; its Deferred gets the recorded events once sequenced here. */
      expect: (appendId: string, events: ReadonlyArray<RecordedEvent>) =>
        Effect.gen(function*() {
          const done = yield* Deferred.make<ReadonlyArray<RecordedEvent>>()
          waiting.set(appendId, { events, done })
          return done
        }),
      /** Hands over an append that just committed, for the fast path. */
      committed: (entry: OutboxEntry) =>
        Effect.suspend(() => {
          committed.set(entry.appendId, entry)
          return Queue.offer(kicks, "local")
        }),
      /** Drops an append that did not commit, or whose caller stopped waiting. */
      forget: (appendId: string) => Effect.sync(() => waiting.delete(appendId)),
      /** Asks for a full drain: the outbox read, whoever committed to it. */
      kick,
      /** Waits for a whole drain of the outbox that started after this call (so it saw every earlier commit). */
      drained: Effect.gen(function*() {
        const before = yield* Ref.get(started)
        yield* kick
        yield* ended.changes.pipe(Stream.takeUntil((n) => n > before), Stream.runDrain)
      }),
      /** The last position this process saw sequenced (by its own sequencer). */
      head
    }
  })

export type Sequencer = Effect.Effect.Success<ReturnType<typeof make>>
