import { StartRefusedError } from "../errors";

/**
 * This database's sandboxes trust another key than the one this control plane has: starting
 * would lock every one of them out (their agents refuse our signature, the gateway our tokens).
 */
export class KeyMismatchError extends StartRefusedError {
  constructor(keyFile: string, problem: "missing" | "different") {
    super(
      problem === "missing"
        ? `The key file ${keyFile} is missing, but another control plane on this database already has keys. ` +
            "Give every replica the same key file (CONTROL_PLANE_KEY_FILE, e.g. the Secret concierge-control-plane-keys) " +
            "by copying the first replica's."
        : `The key file ${keyFile} holds other keys than the ones this database's sandboxes trust. ` +
            "Give every replica the same key file (CONTROL_PLANE_KEY_FILE).",
    );
  }
}
