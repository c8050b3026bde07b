import { Effect, Either, Layer, PubSub, Runtime, Schema, Stream } from "effect"
import {
  channelOf, type LiveChannel, LiveUpdate, LiveUpdates, LiveUpdatesUnavailable
} from "../../application/ports/LiveUpdates.js"
import { call, connect, type RedisFailure, type RedisSettings } from "./RedisConnection.js"

/** Updates a slow local subscriber may fall behind by before it loses the oldest. */
const CAPACITY = 4096

const LiveUpdateJson = Schema.parseJson(LiveUpdate)
const encode = Schema.encodeSync(LiveUpdateJson)
const decode = Schema.decodeUnknownEither(LiveUpdateJson)

const unavailable = (e: RedisFailure) => new LiveUpdatesUnavailable({ reason: e.reason, cause: e.cause })

/**
 * Live updates over Redis pub/sub, channel `<prefix>live:<channel>`, one JSON message per update.
 * One connection publishes; a second one (a subscribed connection can do nothing else) receives
 * for every local subscriber, and resubscribes by itself after Redis comes back.
 */
export const layer = (settings: RedisSettings) =>
  Layer.scoped(LiveUpdates, Effect.gen(function*() {
    const publisher = yield* connect(settings, "publish")
    const subscriber = yield* connect(settings, "subscribe")
    const hub = yield* PubSub.sliding<LiveUpdate>(CAPACITY)
    const runtime = yield* Effect.runtime<never>()
    const channelName = (channel: LiveChannel) => `${settings.prefix}live:${channel}`
    subscriber.on("message", (_channel: string, message: string) =>
      Either.match(decode(message), {
        onLeft: (error) => Runtime.runFork(runtime)(Effect.logWarning("dropped a live update that does not decode", error)),
        onRight: (update) => Effect.runSync(PubSub.publish(hub, update))
      }))
    return LiveUpdates.of({
      publish: (updates) =>
        updates.length === 0 ? Effect.void : call("PUBLISH", async () => {
          const pipeline = publisher.pipeline()
          for (const update of updates) pipeline.publish(channelName(channelOf(update)), encode(update))
          const failed = (await pipeline.exec())?.find(([error]) => error !== null)
          if (failed !== undefined) throw failed[0]
        }).pipe(Effect.mapError(unavailable)),
      subscribe: (channel) =>
        Effect.gen(function*() {
          // the local subscription first, so nothing published once SUBSCRIBE has answered is missed
          const queue = yield* PubSub.subscribe(hub)
          yield* call("SUBSCRIBE", () => subscriber.subscribe(channelName(channel))).pipe(Effect.mapError(unavailable))
          return Stream.fromQueue(queue).pipe(Stream.filter((u) => channelOf(u) === channel))
        })
    })
  }))
