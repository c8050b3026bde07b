import { Duration, Effect, Stream } from "effect"

/**
 * A signal for readers that follow a log: writers `notify` after each commit, a reader `wait`s for a
 * notify after the generation it last read at, or for the poll interval (commits of other
 * processes are not notified). Level-triggered: a notify between a reader's read and its wait is not
 * lost, since the wait returns at once for a later generation. One commit costs a counter and a
 * callback per waiting reader, not a fiber step (docs/adr/0026).
 */
export interface Wakeup {
  readonly notify: () => void
  /** The count of notifies so far: read it before reading the log. */
  readonly generation: () => number
  /** Returns once the generation is past `seen`, or after the poll interval. */
  readonly wait: (seen: number) => Effect.Effect<void>
}

interface Waiter {
  readonly resume: (effect: Effect.Effect<void>) => void
  timer: ReturnType<typeof setTimeout> | undefined
}

export const make = (pollInterval?: Duration.DurationInput): Wakeup => {
  const poll = pollInterval === undefined ? undefined : Duration.toMillis(pollInterval)
  let generation = 0
  let waiters = new Set<Waiter>()
  const wake = (waiter: Waiter) => {
    if (waiter.timer !== undefined) clearTimeout(waiter.timer)
    waiter.resume(Effect.void)
  }
  return {
    notify: () => {
      generation++
      if (waiters.size === 0) return
      const woken = waiters
      waiters = new Set()
      woken.forEach(wake)
    },
    generation: () => generation,
    wait: (seen) =>
      generation !== seen ? Effect.void : Effect.async<void>((resume) => {
        const waiter: Waiter = { resume, timer: undefined }
        waiters.add(waiter)
        if (poll !== undefined) {
          waiter.timer = setTimeout(() => {
            waiters.delete(waiter)
            resume(Effect.void)
          }, poll)
        }
        return Effect.sync(() => {
          waiters.delete(waiter)
          if (waiter.timer !== undefined) clearTimeout(waiter.timer)
        })
      })
  }
}

/** A Wakeup notified by each element of `changes` (for as long as the scope), polling as `make`. */
export const fromStream = (changes: Stream.Stream<unknown>, pollInterval?: Duration.DurationInput) =>
  Effect.gen(function*() {
    const wakeup = make(pollInterval)
    yield* Effect.forkScoped(Stream.runForEach(changes, () => Effect.sync(wakeup.notify)))
    return wakeup
  })
