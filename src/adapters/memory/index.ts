import { Layer } from "effect"
import * as MemoryCheckpointStore from "./MemoryCheckpointStore.js"
import * as MemoryEventStore from "./MemoryEventStore.js"
import * as MemorySnapshotStore from "./MemorySnapshotStore.js"

export { MemoryCheckpointStore, MemoryEventStore, MemorySnapshotStore }

/** A fresh in-memory event store, snapshot store and checkpoint store. */
export const layer = Layer.mergeAll(MemoryEventStore.layer, MemorySnapshotStore.layer, MemoryCheckpointStore.layer)
