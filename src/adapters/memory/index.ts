import { Layer } from "effect"
import * as MemoryCheckpointStore from "./MemoryCheckpointStore.js"
import * as MemoryEventStore from "./MemoryEventStore.js"
import * as MemoryReadModel from "./MemoryReadModel.js"
import * as MemorySnapshotStore from "./MemorySnapshotStore.js"

export { MemoryCheckpointStore, MemoryEventStore, MemoryReadModel, MemorySnapshotStore }

/** A fresh in-memory event store, snapshot store, checkpoint store and read models (query and projection sides). */
export const layer = Layer.mergeAll(MemoryEventStore.layer, MemorySnapshotStore.layer, MemoryCheckpointStore.layer, MemoryReadModel.layer)
