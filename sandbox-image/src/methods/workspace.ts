import type { MethodHandler } from "./method-handler";

/** The workspace's files, for the admin API and the dashboard. */
export const workspaceRead: MethodHandler<"workspace.read"> = async (ctx, p) => ctx.workspace.read(p.path);

// Waits for the running turn: a turn's workspace does not change under it.
export const workspaceWrite: MethodHandler<"workspace.write"> = (ctx, p) => ctx.turns.run("workspace.write", undefined, undefined, async () => ctx.workspace.write(p.path, p.content));

export const workspaceList: MethodHandler<"workspace.list"> = async (ctx) => ({ files: ctx.workspace.list() });
