import { Effect, Layer } from "effect"
import { type Checkpoint, CheckpointStore } from "../../application/ports/Checkpoints.js"

export const make = Effect.sync(() => {
  const checkpoints: Array<Checkpoint> = []
  return CheckpointStore.of({
    append: (checkpoint) => Effect.sync(() => void checkpoints.push({ ...checkpoint })),
    list: Effect.sync(() => [...checkpoints])
  })
})

export const layer = Layer.effect(CheckpointStore, make)
