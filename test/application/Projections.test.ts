import { Layer } from "effect"
import * as Memory from "../../src/adapters/memory/index.js"
import { projectionSuite } from "./projectionSuite.js"

projectionSuite("memory", () =>
  Layer.mergeAll(Memory.MemoryEventStore.layer, Memory.MemorySnapshotStore.layer, Memory.MemoryReadModel.layer))
