import { Effect, Layer, PubSub, Stream } from "effect"
import { channelOf, type LiveUpdate, LiveUpdates } from "../../application/ports/LiveUpdates.js"

/** Updates a slow subscriber may fall behind by before it loses the oldest. */
const CAPACITY = 4096

/** Live updates within this process only (one API instance). */
export const make = Effect.map(PubSub.sliding<LiveUpdate>(CAPACITY), (hub) =>
  LiveUpdates.of({
    publish: (updates) => Effect.asVoid(PubSub.publishAll(hub, updates)),
    subscribe: (channel) =>
      Effect.map(PubSub.subscribe(hub), (queue) => Stream.fromQueue(queue).pipe(Stream.filter((u) => channelOf(u) === channel)))
  }))

export const layer = Layer.effect(LiveUpdates, make)
