import { Layer } from "effect"
import * as MemoryEventStore from "./MemoryEventStore.js"
import * as MemorySnapshotStore from "./MemorySnapshotStore.js"

export { MemoryEventStore, MemorySnapshotStore }

/** A fresh in-memory event store and snapshot store. */
export const layer = Layer.merge(MemoryEventStore.layer, MemorySnapshotStore.layer)
