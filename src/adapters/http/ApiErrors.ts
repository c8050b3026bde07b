import { HttpApiSchema } from "@effect/platform"
import { Schema } from "effect"

// Every error body is { code, message, details? }; the status is the class's.
const fields = { code: Schema.String, message: Schema.String, details: Schema.optional(Schema.Unknown) }

export class BadRequest extends Schema.TaggedError<BadRequest>()("BadRequest", fields, HttpApiSchema.annotations({ status: 400 })) {}
export class Unauthorized extends Schema.TaggedError<Unauthorized>()("Unauthorized", fields, HttpApiSchema.annotations({ status: 401 })) {}
export class Forbidden extends Schema.TaggedError<Forbidden>()("Forbidden", fields, HttpApiSchema.annotations({ status: 403 })) {}
export class NotFound extends Schema.TaggedError<NotFound>()("NotFound", fields, HttpApiSchema.annotations({ status: 404 })) {}
export class Conflict extends Schema.TaggedError<Conflict>()("Conflict", fields, HttpApiSchema.annotations({ status: 409 })) {}
/** A business rule refused the command: `code` is the decider's reason code. */
export class Rejected extends Schema.TaggedError<Rejected>()("Rejected", fields, HttpApiSchema.annotations({ status: 422 })) {}
export class Unavailable extends Schema.TaggedError<Unavailable>()("Unavailable", fields, HttpApiSchema.annotations({ status: 503 })) {}
