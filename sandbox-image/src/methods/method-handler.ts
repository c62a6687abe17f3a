import type { Methods, MethodName, MethodResult } from "@concierge/protocol";
import type { z } from "zod/v4";
import type { AgentContext } from "../agent-context";

/** A method's params as the protocol's schema parses them (defaults filled in). */
export type MethodInput<M extends MethodName> = z.output<(typeof Methods)[M]["params"]>;

export type MethodHandler<M extends MethodName> = (ctx: AgentContext, params: MethodInput<M>) => Promise<MethodResult<M>>;

/** One handler per protocol method: a missing one, or one with the wrong params or result, does not compile. */
export type MethodTable = { readonly [M in MethodName]: MethodHandler<M> };
