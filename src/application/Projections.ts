import { Chunk, Clock, Duration, Effect, Option, Schedule, Schema, Stream } from "effect"
import { sharingDecodes } from "./Aggregate.js"
import { PAGE_SIZE } from "./CatchUp.js"
import * as PortfolioProjection from "./projections/PortfolioProjection.js"
import * as PriceBars from "./projections/PriceBars.js"
import * as TradeHistory from "./projections/TradeHistory.js"
import { EventStore, type EventStoreUnavailable, type RecordedEvent } from "./ports/EventStore.js"
import { ReadModel, type ReadModelUnavailable } from "./ports/ReadModel.js"
import {
  type CheckpointMoved, type ProjectionCommit, type ProjectionName, projectionNames, type ReadModelChanges, ReadModelStore
} from "./ports/ReadModelStore.js"

export { ProjectionName, projectionNames } from "./ports/ReadModelStore.js"

/** A read model fed by the global log: what a batch of events (after its checkpoint, in log order) changes. */
export interface Projection {
  readonly name: ProjectionName
  readonly project: (events: ReadonlyArray<RecordedEvent>) => Effect.Effect<ReadModelChanges, ReadModelUnavailable, ReadModelStore>
}

export const projections: Record<ProjectionName, Projection> = {
  portfolio: { name: "portfolio", project: PortfolioProjection.project },
  trades: { name: "trades", project: TradeHistory.project },
  bars: { name: "bars", project: PriceBars.project }
}

/** The read model had not projected `position` when the wait ran out. */
export class ProjectionTimeout extends Schema.TaggedError<ProjectionTimeout>()("ProjectionTimeout", {
  position: Schema.Number,
  reached: Schema.Number,
  waitedMillis: Schema.Number
}) {
  override get message() {
    return `the read model reached position ${this.reached}, not ${this.position}, within ${this.waitedMillis} ms`
  }
}

/** Pages of the log read by a catch-up (a rebuild reads this many events per transaction). */
const CATCH_UP_PAGE = 1000
/** How long a runner waits after the event store or the read model failed before it follows the log again. */
const RETRY_AFTER = Duration.seconds(1)
/** How often `waitFor` looks at the checkpoints, for runners in other processes. */
const POLL = Duration.millis(20)

/**
 * Applies a batch of the log (in log order) to each projection in `checkpoints` from its own
 * checkpoint: events at or before a projection's checkpoint are skipped, so a batch seen twice
 * changes nothing. The projections that have events after their checkpoint write their changes
 * and move their checkpoints to their last event, all in one transaction; if any stored checkpoint
 * is no longer the one given (another runner, a rebuild) nothing is written and it fails with
 * CheckpointMoved. Returns the new checkpoints.
 */
export const applyBatches = (checkpoints: ReadonlyMap<ProjectionName, number>, events: ReadonlyArray<RecordedEvent>) =>
  Effect.gen(function*() {
    // the projections decode the same stored events: each is decoded once for all of them
    const commits = yield* sharingDecodes(Effect.gen(function*() {
      const commits: Array<ProjectionCommit> = []
      for (const [name, checkpoint] of checkpoints) {
        const fresh = events.filter((e) => e.position > checkpoint)
        const last = fresh[fresh.length - 1]
        if (last === undefined) continue
        commits.push({ projection: name, expected: checkpoint, next: last.position, changes: yield* projections[name].project(fresh) })
      }
      return commits
    }))
    const next = new Map(checkpoints)
    if (commits.length === 0) return next
    yield* (yield* ReadModelStore).commit(commits)
    for (const c of commits) next.set(c.projection, c.next)
    return next
  }).pipe(Effect.withSpan("Projections.applyBatches", { attributes: { projections: [...checkpoints.keys()], events: events.length } }))

/** `applyBatches` for one projection: returns its new checkpoint. */
export const applyBatch = (name: ProjectionName, checkpoint: number, events: ReadonlyArray<RecordedEvent>) =>
  Effect.map(applyBatches(new Map([[name, checkpoint]]), events), (next) => next.get(name)!)

/** Every projection's stored checkpoint. */
export const checkpoints = Effect.gen(function*() {
  const store = yield* ReadModelStore
  return new Map(yield* Effect.forEach(projectionNames, (name) => Effect.map(store.checkpoint(name), (at) => [name, at] as const)))
})

/** Brings a projection up to the head of the log, page by page, and returns its checkpoint. */
export const catchUp = (name: ProjectionName) =>
  Effect.gen(function*() {
    const log = yield* EventStore
    const store = yield* ReadModelStore
    let checkpoint = yield* store.checkpoint(name)
    for (;;) {
      const page = yield* log.readAll({ fromPosition: checkpoint + 1, limit: CATCH_UP_PAGE })
      if (page.length === 0) return checkpoint
      checkpoint = yield* applyBatch(name, checkpoint, page).pipe(
        Effect.catchTag("CheckpointMoved", () => store.checkpoint(name)) // someone else got there: go on from theirs
      )
    }
  }).pipe(Effect.withSpan("Projections.catchUp", { attributes: { projection: name } }))

export interface RunOptions {
  /**
   * The shortest time from one live page to the next (default none). A page is applied as soon as
   * it comes; the next one is read once this much time has passed since, so the commits made
   * meanwhile are applied together, in one read-model transaction, instead of one page each. A
   * full page (the runner is behind) is followed at once. docs/adr/0028.
   */
  readonly pageInterval?: Duration.DurationInput
}

/**
 * Follows the log for every projection at once, from the lowest stored checkpoint: each delivered
 * page is one transaction for all of them (`applyBatches`), until something fails.
 */
const follow = (options: RunOptions): Effect.Effect<void, CheckpointMoved | ReadModelUnavailable | EventStoreUnavailable, EventStore | ReadModelStore> =>
  Effect.gen(function*() {
    const log = yield* EventStore
    const interval = Duration.toMillis(Duration.decode(options.pageInterval ?? Duration.zero))
    let at = yield* checkpoints
    yield* log.subscribe(Math.min(...at.values()) + 1).pipe(
      Stream.chunks,
      Stream.runForEach((page) =>
        Effect.gen(function*() {
          const taken = yield* Clock.currentTimeMillis
          at = yield* applyBatches(at, Chunk.toReadonlyArray(page))
          if (interval === 0 || page.length >= PAGE_SIZE) return
          const rest = taken + interval - (yield* Clock.currentTimeMillis)
          if (rest > 0) yield* Effect.sleep(Duration.millis(rest))
        }))
    )
  })

/**
 * Runs every projection until interrupted (fork it from main): catch-up, then live, one
 * transaction per page for all of them; a moved checkpoint or an outage restarts it from the
 * stored checkpoints.
 */
export const runProjections = (options: RunOptions = {}): Effect.Effect<never, never, EventStore | ReadModelStore> =>
  follow(options).pipe(
    Effect.catchTags({
      CheckpointMoved: (e) => Effect.logInfo(`checkpoint of ${e.projection} moved from ${e.expected}; following from the stored ones`),
      ReadModelUnavailable: (e) => Effect.zipRight(Effect.logWarning("read model unavailable; retrying", e), Effect.sleep(RETRY_AFTER)),
      EventStoreUnavailable: (e) => Effect.zipRight(Effect.logWarning("event store unavailable; retrying", e), Effect.sleep(RETRY_AFTER))
    }),
    Effect.forever,
    Effect.annotateLogs("projections", "store")
  )

/**
 * Rebuilds a projection from zero: empties its tables and checkpoint (one transaction), then
 * replays the whole log. Safe next to a running runner: whichever commits a batch first wins, the
 * other reloads. Queries see the projection empty, then filling, until it has caught up.
 * Returns the position reached.
 */
export const rebuild = (name: ProjectionName) =>
  Effect.gen(function*() {
    const store = yield* ReadModelStore
    yield* store.reset(name)
    return yield* catchUp(name)
  }).pipe(Effect.withSpan("Projections.rebuild", { attributes: { projection: name } }))

/**
 * Read-your-writes: succeeds with the read model's position once every projection has applied
 * `position` (a command's result carries it), or fails with ProjectionTimeout after `timeout`.
 * Wakes on this process's commits and polls for other processes' runners.
 */
export const waitFor = (position: number, timeout: Duration.DurationInput) =>
  Effect.gen(function*() {
    const readModel = yield* ReadModel
    let reached = yield* readModel.position
    if (reached >= position) return reached
    const store = yield* Effect.serviceOption(ReadModelStore)
    const commits = Option.match(store, { onNone: () => Stream.empty, onSome: (s) => s.commits })
    const wait = Stream.merge(commits, Stream.fromSchedule(Schedule.spaced(POLL))).pipe(
      Stream.mapEffect(() => readModel.position),
      Stream.tap((p) => Effect.sync(() => { reached = p })),
      Stream.filter((p) => p >= position),
      Stream.runHead,
      Effect.map(Option.getOrElse(() => reached))
    )
    return yield* wait.pipe(
      Effect.timeoutFail({
        duration: timeout,
        onTimeout: () => new ProjectionTimeout({ position, reached, waitedMillis: Duration.toMillis(timeout) })
      })
    )
  }).pipe(Effect.withSpan("Projections.waitFor", { attributes: { position } }))
