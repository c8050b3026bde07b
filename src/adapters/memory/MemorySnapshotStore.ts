import { Effect, Layer, Option } from "effect"
import { type Snapshot, SnapshotStore } from "../../application/ports/SnapshotStore.js"

export const make = Effect.sync(() => {
  const snapshots = new Map<string, Snapshot>()
  return SnapshotStore.of({
    load: (aggregateId) => Effect.sync(() => Option.fromNullable(snapshots.get(aggregateId))),
    save: (snapshot) =>
      Effect.sync(() => {
        const current = snapshots.get(snapshot.aggregateId)
        if (current === undefined || current.version <= snapshot.version) snapshots.set(snapshot.aggregateId, snapshot)
      })
  })
})

export const layer = Layer.effect(SnapshotStore, make)
