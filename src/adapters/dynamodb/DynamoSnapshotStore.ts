import { DateTime, Effect, Option } from "effect"
import { SnapshotStore, SnapshotStoreUnavailable } from "../../application/ports/SnapshotStore.js"
import { DynamoDb, type DynamoError } from "./DynamoClient.js"
import { N, num, S, str } from "./Items.js"

const unavailable = (reason: string) => (cause: DynamoError) => new SnapshotStoreUnavailable({ reason, cause })

/**
 * Snapshots in their own table, one item per aggregate, the state as JSON text. A save is a put
 * conditioned on the stored version being no later, so an older snapshot never replaces a newer one.
 */
export const make = (table: string) =>
  Effect.gen(function*() {
    const dynamo = yield* DynamoDb
    return SnapshotStore.of({
      load: (aggregateId) =>
        dynamo.getItem({ TableName: table, Key: { AggregateId: S(aggregateId) }, ConsistentRead: true }).pipe(
          Effect.map(({ Item }) =>
            Option.map(Option.fromNullable(Item), (item) => ({
              aggregateId: str(item, "AggregateId"),
              version: num(item, "Version"),
              stateVersion: num(item, "StateVersion"),
              state: JSON.parse(str(item, "State")) as unknown,
              takenAt: DateTime.unsafeMake(num(item, "TakenAt"))
            }))),
          Effect.mapError(unavailable("snapshot load failed"))
        ),
      save: (snapshot) =>
        dynamo.putItem({
          TableName: table,
          Item: {
            AggregateId: S(snapshot.aggregateId),
            Version: N(snapshot.version),
            StateVersion: N(snapshot.stateVersion),
            State: S(JSON.stringify(snapshot.state)),
            TakenAt: N(snapshot.takenAt.epochMillis)
          },
          ConditionExpression: "attribute_not_exists(AggregateId) OR #v <= :v",
          ExpressionAttributeNames: { "#v": "Version" },
          ExpressionAttributeValues: { ":v": N(snapshot.version) }
        }).pipe(
          Effect.catchIf((e) => e.conditionFailed, () => Effect.void), // a later snapshot is already there: keep it
          Effect.mapError(unavailable("snapshot save failed"))
        )
    })
  })
