import { Layer } from "effect"
import * as RedisHotCache from "./RedisHotCache.js"
import * as RedisLiveUpdates from "./RedisLiveUpdates.js"
import type { RedisSettings } from "./RedisConnection.js"

export { RedisHotCache, RedisLiveUpdates }
export type { RedisSettings } from "./RedisConnection.js"

/** The hot cache and the live updates on one Redis server (three connections: cache, publish, subscribe). */
export const layer = (settings: RedisSettings) => Layer.merge(RedisHotCache.layer(settings), RedisLiveUpdates.layer(settings))
