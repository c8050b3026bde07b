/**
 * The side of an account's next MARKET order of one share: BUY and SELL in turn, but a SELL only of
 * shares the account is known to hold (filled buys minus sales, sales in flight counted), so under
 * any load a sale is never refused for want of a position the generator has not seen filled yet.
 */
export interface Sides {
  readonly next: () => "BUY" | "SELL"
  /** Reports how an order of that side ended. */
  readonly done: (side: "BUY" | "SELL", filled: boolean) => void
}

export const make = (): Sides => {
  let held = 0
  let selling = 0
  let turn = 0
  return {
    next: () => {
      const sell = turn++ % 2 === 1 && held - selling > 0
      if (sell) selling += 1
      return sell ? "SELL" : "BUY"
    },
    done: (side, filled) => {
      if (side === "SELL") {
        selling -= 1
        if (filled) held -= 1
      } else if (filled) {
        held += 1
      }
    }
  }
}
