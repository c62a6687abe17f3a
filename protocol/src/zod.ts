import { z } from "zod/v4/mini";

/**
 * The protocol's schemas are zod v4's "mini" flavour: the same core (and so the same errors and
 * JSON Schema) as the classic API the agent's tools use, but a schema does not carry its own copy of
 * every chainable method, which made the protocol's schemas the largest part of the agent's heap
 * that zod took (docs/sandbox-speed.md, third pass). Mini loads no error messages of its own; the
 * English ones keep a parse failure readable where nothing else loaded them (the control plane).
 */
z.config(z.locales.en());

export { z };
