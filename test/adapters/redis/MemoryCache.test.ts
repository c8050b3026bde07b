import { Effect, Layer } from "effect"
import * as MemoryHotCache from "../../../src/adapters/memory/MemoryHotCache.js"
import * as MemoryLiveUpdates from "../../../src/adapters/memory/MemoryLiveUpdates.js"
import { cacheSuite } from "./cacheSuite.js"

// in memory, every "instance" of a namespace is the same one: one process
cacheSuite("memory", Effect.map(Layer.build(Layer.merge(MemoryHotCache.layer, MemoryLiveUpdates.layer)), Effect.succeed))
