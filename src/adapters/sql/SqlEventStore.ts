import { SqlClient, type SqlError } from "@effect/sql"
import { DateTime, Duration, Effect, Either, Option, Stream } from "effect"
import type { Mutable } from "effect/Types"
import { catchUp } from "../../application/CatchUp.js"
import * as Wakeup from "../../application/Wakeup.js"
import { GENESIS, link } from "../../application/HashChain.js"
import {
  type AppendResult, type ChainLink, type CommandKey, CommandSeen, ConcurrencyConflict, DEFAULT_PAGE_SIZE, EventStore, EventStoreUnavailable,
  type NewEvent, type RecordedEvent
} from "../../application/ports/EventStore.js"
import { isCanonicalUuid } from "../../application/Uuid.js"
import * as GroupCommit from "./GroupCommit.js"
import { fromColumns, type MetadataColumns } from "./MetadataColumns.js"

/** Commands looked up per statement by `commandsSeen`. */
const COMMANDS_PER_LOOKUP = 200

const commandKey = (aggregateId: string, commandId: string) => `${aggregateId}\u0000${commandId}`

const noneSeen: ReadonlySet<string> = new Set()

/** What differs between the SQL engines; everything else is shared. */
export interface SqlDialect {
  /** The latest version of each aggregate (null when it has none), one index probe per aggregate. */
  readonly currentVersions: (
    sql: SqlClient.SqlClient,
    aggregateIds: ReadonlyArray<string>
  ) => Effect.Effect<ReadonlyArray<{ readonly aggregate_id: string; readonly version: number | string | null }>, SqlError.SqlError>
  /** Inside the append transaction: writes the rows and moves `event_head` to the last of them. */
  readonly insert: (sql: SqlClient.SqlClient, rows: ReadonlyArray<RecordedEvent>, head: ChainLink) => Effect.Effect<void, SqlError.SqlError>
  /** A timestamp as a bound parameter. */
  readonly timestamp: (t: DateTime.Utc) => Date | number
  /**
   * How an engine reads events, when not as COLUMNS with `fromRow`: the select list of its reads,
   * and the event of each row it gives.
   */
  readonly read?: { readonly columns: string; readonly fromRow: (row: never) => RecordedEvent }
  /** A canonical UUID as a bound parameter for a uuid column (`user_uuid`, `command_uuid`). */
  readonly uuid: (id: string) => string | Uint8Array
  /**
   * For engines with array parameters: the events of these commands, as `commandsSeen` reads
   * them, in one statement text whatever the number of keys. An OR per key makes a text per
   * count, and the planner's work grows with it (on PostgreSQL, 24.6 ms to plan 50 keys over
   * the eight partitions; docs/adr/0027).
   */
  readonly commandsOf?: (
    sql: SqlClient.SqlClient,
    keys: ReadonlyArray<{ readonly aggregateId: string; readonly commandId: string }>
  ) => Effect.Effect<ReadonlyArray<CommandRow>, SqlError.SqlError>
  /**
   * The one-statement commit, for engines that can: writes the rows and moves `event_head` to
   * `head` only if the head is still at `expected`, each aggregate of `checks` is still at its
   * expected version (0: none yet), and no row's aggregate and version is taken yet (an aggregate
   * another writer moved on already has the version a stale append would write: the primary key);
   * true when it wrote, false when it wrote nothing. It must wait for a commit in flight that
   * holds the head and judge by what that one wrote: a batch chained on an earlier batch's head
   * is sent before that batch has committed (docs/adr/0020). It writes nothing either if any of
   * `commands` already has an event on its aggregate (as `commandsSeen` finds them).
   */
  readonly insertIfUnchanged?: (
    sql: SqlClient.SqlClient,
    rows: ReadonlyArray<RecordedEvent>,
    expected: ChainLink,
    head: ChainLink,
    checks: ReadonlyArray<{ readonly aggregateId: string; readonly version: number }>,
    commands: ReadonlyArray<{ readonly aggregateId: string; readonly commandId: string }>
  ) => Effect.Effect<boolean, SqlError.SqlError>
}

/** The metadata and aggregate of an event, as a lookup by command reads them. */
export type CommandRow = MetadataColumns<string | Uint8Array> & { readonly aggregate_id: string }

export interface SqlEventStoreOptions {
  readonly groupCommit: GroupCommit.GroupCommitConfig
  /** How often a subscriber looks for events other processes committed. */
  readonly pollInterval: Duration.DurationInput
}

export const defaultOptions: SqlEventStoreOptions = {
  groupCommit: GroupCommit.defaultGroupCommit,
  pollInterval: Duration.millis(200)
}

interface EventRow {
  readonly position: number | string | bigint
  readonly aggregate_id: string
  readonly version: number | string
  readonly event_id: string
  readonly type: string
  readonly schema_version: number | string
  readonly timestamp: Date | number | string | bigint
  readonly data: Uint8Array
  readonly user_id: string | null
  readonly correlation_id: string | null
  readonly causation_id: string | null
  readonly command_id: string | null
  /** Bytes, or already hex (an engine may read it so). */
  readonly hash: Uint8Array | string
  readonly user_uuid: string | Uint8Array | null
  readonly command_uuid: string | Uint8Array | null
}

/** The columns of `events`, in the order the dialects insert them; the metadata ones as MetadataColumns maps them. */
export const COLUMNS =
  "position, aggregate_id, version, event_id, type, schema_version, timestamp, data, user_id, correlation_id, causation_id, command_id, hash, user_uuid, command_uuid"

const hex = (bytes: Uint8Array) => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex")

const fromEventRow = (row: EventRow): RecordedEvent => ({
  position: Number(row.position),
  aggregateId: row.aggregate_id,
  version: Number(row.version),
  eventId: row.event_id,
  type: row.type,
  schemaVersion: Number(row.schema_version),
  // epoch milliseconds (a number, or an int8 as text or bigint), or a Date
  timestamp: DateTime.unsafeMake(row.timestamp instanceof Date ? row.timestamp : Number(row.timestamp)),
  data: new Uint8Array(row.data.buffer, row.data.byteOffset, row.data.byteLength),
  metadata: fromColumns(row),
  hash: typeof row.hash === "string" ? row.hash : hex(row.hash)
})

/** Committed events kept in memory for this process's subscribers. */
const RECENT_KEPT = 20_000

/** Aggregates whose last committed version this store keeps, so that the one-statement commit need not look them up. */
const VERSIONS_KEPT = 100_000

const unavailable = (reason: string) => (cause: SqlError.SqlError) => new EventStoreUnavailable({ reason, cause })

/**
 * The event store over any @effect/sql client. Appends go through group commit; every batch takes
 * the single row of `event_head` first, which serializes writers across processes, so positions are
 * assigned in commit order without gaps and the hash chain cannot fork (docs/adr/0008).
 */
export const make = (dialect: SqlDialect, options: SqlEventStoreOptions = defaultOptions) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    /** Subscribers wait on it: every commit of this store notifies, other processes' are polled for. */
    const wakeup = Wakeup.make(options.pollInterval)
    const readColumns = dialect.read?.columns ?? COLUMNS
    const fromRow = (dialect.read?.fromRow ?? fromEventRow) as (row: EventRow) => RecordedEvent

    /**
     * Positions, versions and chain links for a batch, given each aggregate's current version and
     * the commands already seen (by commandKey) among the batch's `newCommand`s.
     */
    const assign = (
      batch: ReadonlyArray<GroupCommit.AppendRequest>,
      head: ChainLink,
      current: Map<string, number>,
      seen: ReadonlySet<string> = noneSeen
    ) => {
      let position = head.position
      let previous = head.hash
      const rows: Array<RecordedEvent> = []
      const outcomes = batch.map((request): GroupCommit.AppendOutcome => {
        const command = request.newCommand
        if (command !== undefined && seen.has(commandKey(request.aggregateId, command))) {
          return Either.left(new CommandSeen({ aggregateId: request.aggregateId, commandId: command }))
        }
        const actual = current.get(request.aggregateId) ?? 0
        if (actual !== request.expectedVersion) {
          return Either.left(new ConcurrencyConflict({
            aggregateId: request.aggregateId, expectedVersion: request.expectedVersion, actualVersion: actual
          }))
        }
        const recorded: Array<RecordedEvent> = []
        for (let i = 0; i < request.events.length; i++) {
          const event = request.events[i]!
          // one object of the fields stored, in one shape, linked in place (spreading each event
          // twice cost more than hashing it)
          const row: Mutable<RecordedEvent> = {
            position: ++position, aggregateId: request.aggregateId, version: actual + i + 1, eventId: event.eventId,
            type: event.type, schemaVersion: event.schemaVersion, timestamp: event.timestamp, data: event.data,
            metadata: event.metadata, hash: ""
          }
          row.hash = previous = link(previous, row)
          recorded.push(row)
        }
        current.set(request.aggregateId, actual + recorded.length)
        rows.push(...recorded)
        return Either.right({ nextVersion: actual + recorded.length, events: recorded })
      })
      return { outcomes, rows, head: { position, hash: previous } }
    }

    /**
     * The events this store committed last, by position (insertion order is position order: this
     * store's commits are serialized), so that subscribers in this process (projections, the
     * order filler, the relay) get them without reading them back. Events other processes wrote
     * are not here; a subscriber reaching one of their positions reads the table.
     */
    const recent = new Map<number, RecordedEvent>()
    /**
     * Open subscriptions: with none, nothing is kept (a store that only appends would otherwise
     * keep every event past the young generation, and pay for it in the garbage collector).
     */
    let subscribers = 0
    const remember = (rows: ReadonlyArray<RecordedEvent>) => {
      if (subscribers === 0) return
      // the fields a read gives back, and no others
      for (const r of rows) {
        const { userId, correlationId, causationId, commandId } = r.metadata
        recent.set(r.position, {
          position: r.position, aggregateId: r.aggregateId, version: r.version, eventId: r.eventId, type: r.type,
          schemaVersion: r.schemaVersion, timestamp: r.timestamp, data: r.data, metadata: { userId, correlationId, causationId, commandId },
          hash: r.hash
        })
      }
      for (const oldest of recent.keys()) {
        if (recent.size <= RECENT_KEPT) break
        recent.delete(oldest)
      }
    }

    /** The chain head as this store last committed it: the fast path assumes nobody moved it since. */
    let lastHead: ChainLink | undefined = undefined
    /**
     * The head once every batch taken so far has committed as assigned: a batch may be assigned
     * from it and sent before those commit (docs/adr/0020). Undefined while a taken batch's head
     * cannot be known before it commits (it takes the locked path).
     */
    let tip: ChainLink | undefined = undefined
    const insertIfUnchanged = dialect.insertIfUnchanged
    /** Batches taken so far; the last one taken keeps `tip` in step when it settles. */
    let taken = 0
    /** Aggregates of the batches taken and not yet settled, with how many of them hold each. */
    const unsettled = new Map<string, number>()
    /**
     * The version this store last committed for each aggregate (at most VERSIONS_KEPT, the oldest
     * dropped first). Versions only grow, so an append expecting this version is either current or
     * stale, never ahead of the stream, and a stale one fails the primary key (SqlDialect's
     * `insertIfUnchanged`): the one-statement commit checks only the other appends' versions.
     */
    const committedVersions = new Map<string, number>()
    const rememberVersions = (rows: ReadonlyArray<RecordedEvent>) => {
      for (const r of rows) {
        committedVersions.delete(r.aggregateId)
        committedVersions.set(r.aggregateId, r.version)
      }
      for (const oldest of committedVersions.keys()) {
        if (committedVersions.size <= VERSIONS_KEPT) break
        committedVersions.delete(oldest)
      }
    }

    /** The commands among `keys` that have an event on their aggregate, by commandKey. */
    const seenCommands = (keys: ReadonlyArray<CommandKey>) =>
      Effect.gen(function*() {
        const seen = new Set<string>()
        // a few hundred keys per statement keep every engine under its limit of bound parameters
        for (let from = 0; from < keys.length; from += COMMANDS_PER_LOOKUP) {
          const chunk = keys.slice(from, from + COMMANDS_PER_LOOKUP)
          const rows = yield* (dialect.commandsOf !== undefined ? dialect.commandsOf(sql, chunk) : sql<CommandRow>`
            SELECT DISTINCT aggregate_id, user_id, user_uuid, correlation_id, causation_id, command_id, command_uuid FROM events WHERE ${
            sql.or(chunk.map((k) =>
              isCanonicalUuid(k.commandId) // as findByCommand: in command_uuid, or in command_id if written before there was one
                ? sql`(aggregate_id = ${k.aggregateId} AND (command_uuid = ${dialect.uuid(k.commandId)} OR command_id = ${k.commandId}))`
                : sql`(aggregate_id = ${k.aggregateId} AND command_id = ${k.commandId})`))}`)
          for (const row of rows) seen.add(commandKey(row.aggregate_id, fromColumns(row).commandId))
        }
        return seen
      })

    /** The keys of a batch's appends that must be of a new command. */
    const newCommands = (batch: ReadonlyArray<GroupCommit.AppendRequest>): ReadonlyArray<CommandKey> =>
      batch.flatMap((r) => r.newCommand === undefined ? [] : [{ aggregateId: r.aggregateId, commandId: r.newCommand }])

    /**
     * Locks the head, reads every aggregate's version and whether the new commands were seen, then
     * writes: right whatever other writers did.
     */
    const commitLocked = (batch: ReadonlyArray<GroupCommit.AppendRequest>) =>
      sql.withTransaction(Effect.gen(function*() {
        const heads = yield* sql<{ position: number | string; hash: Uint8Array }>`
          UPDATE event_head SET position = position WHERE id = 1 RETURNING position, hash`
        const row = heads[0]
        if (row === undefined) return yield* Effect.dieMessage("event_head is missing: migrations did not run")
        const versions = yield* dialect.currentVersions(sql, [...new Set(batch.map((r) => r.aggregateId))])
        const current = new Map(versions.map((v) => [v.aggregate_id, Number(v.version ?? 0)]))
        const commands = newCommands(batch)
        const seen = commands.length === 0 ? noneSeen : yield* seenCommands(commands)
        const assigned = assign(batch, { position: Number(row.position), hash: hex(row.hash) }, current, seen)
        if (assigned.rows.length > 0) yield* dialect.insert(sql, assigned.rows, assigned.head)
        return assigned
      }))

    /**
     * One statement, no explicit transaction: positions and links computed from `expected`, each
     * append taken at its word; the statement writes only if the head is at `expected` and every
     * version as expected. A version is looked up only where the append could be ahead of its
     * stream: it expects more than none, and not the version this store last committed for it;
     * every stale one fails the primary key. When another process moved the head, a batch before
     * this one did not commit as assigned, a version is not the expected one, or a new command was
     * seen, it writes nothing, and the batch goes through the locked path.
     */
    const commitOptimistic = (
      insertIfUnchanged: NonNullable<SqlDialect["insertIfUnchanged"]>,
      expected: ChainLink,
      batch: ReadonlyArray<GroupCommit.AppendRequest>
    ) => {
      const assigned = assign(batch, expected, new Map(batch.map((r) => [r.aggregateId, r.expectedVersion])))
      const checks = batch.filter((r) => r.expectedVersion > 0 && committedVersions.get(r.aggregateId) !== r.expectedVersion)
        .map((r) => ({ aggregateId: r.aggregateId, version: r.expectedVersion }))
      return {
        head: assigned.head,
        attempt: insertIfUnchanged(sql, assigned.rows, expected, assigned.head, checks, newCommands(batch)).pipe(
          Effect.map((written) => written ? Option.some(assigned) : Option.none())
        )
      }
    }

    /**
     * A batch goes out at once, chained on `tip`, when the batches before it may still be
     * committing, if it can be assigned without their outcome: the dialect has the one-statement
     * commit, every earlier batch was assigned from a known head, and none of its aggregates is in
     * an unsettled batch (one append per aggregate within it, too). Otherwise it waits for the
     * batch before to settle and commits from the head as committed.
     */
    const commitBatch = (batch: ReadonlyArray<GroupCommit.AppendRequest>, previous: Effect.Effect<void>) =>
      Effect.suspend(() => {
        const seq = ++taken
        const ids = batch.map((r) => r.aggregateId)
        // one append per aggregate: a second one of the same aggregate needs the first's outcome
        const chainable = insertIfUnchanged !== undefined && new Set(ids).size === ids.length
        const chained = insertIfUnchanged !== undefined && chainable && tip !== undefined && !ids.some((id) => unsettled.has(id))
          ? commitOptimistic(insertIfUnchanged, tip, batch)
          : undefined
        tip = chained?.head
        for (const id of ids) unsettled.set(id, (unsettled.get(id) ?? 0) + 1)
        return Effect.gen(function*() {
          const early = chained === undefined ? undefined : yield* Effect.either(chained.attempt)
          const wrote = early !== undefined && Either.isRight(early) ? early.right : Option.none()
          // it did not write: every batch chained after it will not either, so none more is
          if (early !== undefined && Option.isNone(wrote)) tip = undefined
          yield* previous
          if (early !== undefined && Either.isLeft(early)) return yield* Effect.fail(early.left)
          if (Option.isSome(wrote)) return wrote.value
          const expected = lastHead
          if (chained === undefined && insertIfUnchanged !== undefined && chainable && expected !== undefined) {
            const serial = commitOptimistic(insertIfUnchanged, expected, batch)
            // its head is known now: a batch taken after it may chain on it again
            if (seq === taken) tip = serial.head
            const fast = yield* serial.attempt
            if (Option.isSome(fast)) return fast.value
            tip = undefined
          }
          return yield* commitLocked(batch)
        }).pipe(
          Effect.tap(({ head, rows }) => Effect.sync(() => {
            lastHead = head
            if (seq === taken) tip = head
            // only the one-statement commit uses them
            if (insertIfUnchanged !== undefined) rememberVersions(rows)
            remember(rows)
            wakeup.notify()
          })),
          Effect.tapError(() => Effect.sync(() => {
            // whether it committed is unknown: its aggregates' versions are looked up again
            for (const id of ids) committedVersions.delete(id)
            lastHead = undefined
            if (seq === taken) tip = undefined
          })),
          Effect.ensuring(Effect.sync(() => {
            for (const id of ids) {
              const n = unsettled.get(id)! - 1
              if (n === 0) unsettled.delete(id)
              else unsettled.set(id, n)
            }
          })),
          Effect.map(({ outcomes }) => outcomes),
          Effect.mapError(unavailable("append failed; nothing of the batch was written"))
        )
      })

    // with the one-statement commit, a second batch can be on its way while the first commits
    const append = yield* GroupCommit.make(commitBatch, options.groupCommit, insertIfUnchanged === undefined ? 1 : 2)

    const readAll = (fromPosition: number, limit: number) =>
      sql<EventRow>`SELECT ${sql.literal(readColumns)} FROM events WHERE position >= ${fromPosition} ORDER BY position LIMIT ${limit}`.pipe(
        Effect.map((rows) => rows.map(fromRow)),
        Effect.mapError(unavailable("readAll failed"))
      )

    /** readAll for subscribers: the run of consecutive positions this store remembers, else the table. */
    const readAllForSubscribers = (fromPosition: number, limit: number) => {
      const first = recent.get(fromPosition)
      if (first === undefined) return readAll(fromPosition, limit)
      const page = [first]
      for (let position = fromPosition + 1; page.length < limit; position++) {
        const next = recent.get(position)
        if (next === undefined) break
        page.push(next)
      }
      return Effect.succeed(page)
    }

    /** After a retention purge in this process: purged events are not served from memory either. */
    const forgetThrough = (position: number) => {
      for (const kept of recent.keys()) {
        if (kept > position) break
        recent.delete(kept)
      }
    }

    const appendEvents = (aggregateId: string, expectedVersion: number, events: ReadonlyArray<NewEvent>) =>
      events.length === 0
        ? sql<{ version: number | string | null }>`SELECT MAX(version) AS version FROM events WHERE aggregate_id = ${aggregateId}`.pipe(
          Effect.mapError(unavailable("append failed")),
          Effect.flatMap(([row]) => {
            const actual = Number(row?.version ?? 0)
            return actual === expectedVersion
              ? Effect.succeed({ nextVersion: actual, events: [] })
              : Effect.fail(new ConcurrencyConflict({ aggregateId, expectedVersion, actualVersion: actual }))
          })
        )
        // a request without `newCommand` is never refused as CommandSeen
        : append({ aggregateId, expectedVersion, events }) as Effect.Effect<AppendResult, ConcurrencyConflict | EventStoreUnavailable>

    const store = EventStore.of({
      appendEvents,
      // the command of the events (they share it) goes with the append into group commit
      appendIfNewCommand: (aggregateId, expectedVersion, events) => {
        const command = events[0]?.metadata.commandId
        return command === undefined
          ? appendEvents(aggregateId, expectedVersion, events)
          : append({ aggregateId, expectedVersion, events, newCommand: command })
      },
      getEvents: (aggregateId, options) =>
        sql<EventRow>`SELECT ${sql.literal(readColumns)} FROM events
          WHERE aggregate_id = ${aggregateId} AND version >= ${Math.max(1, options?.fromVersion ?? 1)}
          ORDER BY version LIMIT ${options?.limit ?? DEFAULT_PAGE_SIZE}`.pipe(
          Effect.map((rows) => rows.map(fromRow)),
          Effect.mapError(unavailable("getEvents failed"))
        ),
      getEventsByType: (type, options) => {
        const limit = options?.limit ?? DEFAULT_PAGE_SIZE
        const after = Number(options?.after ?? 0)
        const from = options?.fromTimestamp
        const to = options?.toTimestamp
        return sql<EventRow>`SELECT ${sql.literal(readColumns)} FROM events
          WHERE type = ${type} AND position > ${after}
          ${from === undefined ? sql`` : sql`AND timestamp >= ${dialect.timestamp(from)}`}
          ${to === undefined ? sql`` : sql`AND timestamp < ${dialect.timestamp(to)}`}
          ORDER BY position LIMIT ${limit + 1}`.pipe(
          Effect.map((rows) => {
            const events = rows.slice(0, limit).map(fromRow)
            const last = events[events.length - 1]
            return { events, cursor: rows.length > limit && last !== undefined ? Option.some(String(last.position)) : Option.none() }
          }),
          Effect.mapError(unavailable("getEventsByType failed"))
        )
      },
      readAll: (options) => readAll(Math.max(1, options?.fromPosition ?? 1), options?.limit ?? DEFAULT_PAGE_SIZE),
      findByCommand: (aggregateId, commandId) =>
        sql<EventRow>`SELECT ${sql.literal(readColumns)} FROM events WHERE aggregate_id = ${aggregateId} AND ${
          isCanonicalUuid(commandId) // in command_uuid, or in command_id if written before there was one
            ? sql`(command_uuid = ${dialect.uuid(commandId)} OR command_id = ${commandId})`
            : sql`command_id = ${commandId}`
        } ORDER BY version`.pipe(
          Effect.map((rows) => rows.map(fromRow)),
          Effect.mapError(unavailable("findByCommand failed"))
        ),
      commandsSeen: (keys) =>
        seenCommands(keys).pipe(
          Effect.map((seen) => keys.map((k) => seen.has(commandKey(k.aggregateId, k.commandId)))),
          Effect.mapError(unavailable("commandsSeen failed"))
        ),
      head: sql<{ position: number | string; hash: Uint8Array }>`SELECT position, hash FROM event_head WHERE id = 1`.pipe(
        Effect.map(([row]) =>
          row === undefined || Number(row.position) === 0 ? Option.none() : Option.some({ position: Number(row.position), hash: hex(row.hash) })),
        Effect.mapError(unavailable("head failed"))
      ),
      chainStart: sql<{ purged_through: number | string; hash: Uint8Array }>`
        SELECT purged_through, hash FROM retention_log ORDER BY purged_through DESC LIMIT 1`.pipe(
        Effect.map(([row]): ChainLink => row === undefined ? { position: 0, hash: GENESIS } : { position: Number(row.purged_through), hash: hex(row.hash) }),
        Effect.mapError(unavailable("chainStart failed"))
      ),
      subscribe: (fromPosition) =>
        Stream.unwrapScoped(Effect.acquireRelease(
          Effect.sync(() => {
            subscribers++
            return catchUp(readAllForSubscribers, wakeup, fromPosition)
          }),
          () => Effect.sync(() => {
            if (--subscribers === 0) recent.clear()
          })
        ))
    })
    forgetters.set(store, forgetThrough)
    return store
  })

const forgetters = new WeakMap<object, (position: number) => void>()

/**
 * Tells a store made here that the log was purged through `position` (SqlStores wraps Retention
 * with it), so its subscribers no longer get those events from memory. A purge by another process
 * is not seen: its events stay in this process's memory until newer commits push them out.
 */
export const forgetThrough = (store: object, position: number): void => forgetters.get(store)?.(position)
