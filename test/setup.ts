import { addEqualityTesters } from "@effect/vitest"

// BigDecimal (and HashMap, Data classes) compare by value only through Equal.
addEqualityTesters()
