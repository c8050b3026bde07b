import { Array, type Either } from "effect"

/** An aggregate as three pure functions: the whole write-side model of one stream. */
export interface Decider<Command, State, Event, Rejection> {
  readonly initialState: State
  readonly decide: (command: Command, state: State) => Either.Either<ReadonlyArray<Event>, Rejection>
  readonly evolve: (state: State, event: Event) => State
  /**
   * Refusals that are themselves facts for the audit trail (a rejected order). The command still
   * fails with the rejection; these events are recorded first. Empty for most rejections.
   */
  readonly recordRejection?: (command: Command, state: State, rejection: Rejection) => ReadonlyArray<Event>
  /** The rejection a recorded refusal stands for, so a repeated command can answer it again. */
  readonly recordedRejection?: (events: ReadonlyArray<Event>) => Rejection | undefined
}

/** The one replay loop: commands, projections and as-of ("what did it hold at 14:32?") queries. */
export const fold = <C, S, E, R>(decider: Decider<C, S, E, R>) =>
  (events: Iterable<E>, from: S = decider.initialState): S => Array.reduce(events, from, decider.evolve)
