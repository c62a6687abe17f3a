/** Something a suite needs from outside the process: a Docker daemon, a cluster, a browser. */
export interface Need {
  available: boolean;
  /** Where a missing need must fail (CI, REQUIRE_*=1) instead of skipping, so CI cannot pass by skipping. */
  required: boolean;
  /** The failing test's title and error when it is required but missing. */
  failTitle: string;
  failMessage: string;
  /** The skip line's reason and the skipped describe's tag. */
  skipReason: string;
  skipTag: string;
}

/** `describe` that runs when the need is met, else fails (required) or is skipped loudly, by name. */
export function describeNeeding(need: Need, name: string, fn: () => void): void {
  if (need.available) {
    describe(name, fn);
  } else if (need.required) {
    describe(name, () => {
      it(need.failTitle, () => {
        throw new Error(need.failMessage);
      });
    });
  } else {
    process.stdout.write(`SKIPPED (${need.skipReason}): ${name}\n`);
    describe.skip(`[${need.skipTag}] ${name}`, fn);
  }
}
