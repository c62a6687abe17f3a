/**
 * Group commit for one kind of statement: while `maxInFlight` statements of the kind are already
 * running, new items wait and go together in the next one. Idle, an item runs at once and alone
 * (nothing waits for a timer); under load, the completions of many jobs cost one round trip.
 */
export class Batcher<I, O> {
  private waiting: { item: I; resolve(o: O): void; reject(err: unknown): void }[] = [];
  private inFlight = 0;

  constructor(
    /** Runs one statement for the items; returns one result per item, in the same order. */
    private readonly run: (items: I[]) => Promise<O[]>,
    private readonly maxInFlight = 2,
    private readonly maxBatch = 100,
  ) {
    if (!(maxInFlight >= 1) || !(maxBatch >= 1)) throw new RangeError("batcher limits must be >= 1");
  }

  submit(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.waiting.push({ item, resolve, reject });
      this.flush();
    });
  }

  private flush(): void {
    while (this.inFlight < this.maxInFlight && this.waiting.length > 0) {
      const batch = this.waiting.splice(0, this.maxBatch);
      this.inFlight++;
      this.run(batch.map((b) => b.item))
        .then(
          (out) => batch.forEach((b, i) => b.resolve(out[i]!)),
          (err) => batch.forEach((b) => b.reject(err)),
        )
        .finally(() => {
          this.inFlight--;
          this.flush();
        });
    }
  }
}
