import { index, integer, pgTable, text, uniqueIndex } from "drizzle-orm/pg-core";
import { timestamptz, createdAt, updatedAt, uuidId } from "./columns";
import { userIdColumn } from "./users";

/** frozen: idle, its container paused (no CPU, memory and socket kept); between running and stopped. */
export const SANDBOX_STATES = ["provisioning", "running", "frozen", "stopping", "stopped", "error", "deleted"] as const;
export type SandboxState = (typeof SANDBOX_STATES)[number];

export const sandboxes = pgTable(
  "sandboxes",
  {
    id: uuidId(),
    userId: userIdColumn(),
    state: text("state").$type<SandboxState>().notNull().default("provisioning"),
    /** The runtime's handle: a Docker container id, or a process runtime's name. */
    containerId: text("container_id"),
    containerName: text("container_name"),
    image: text("image"),
    configHash: text("config_hash"),
    /** sha256 of the sandbox's bearer token; the token itself is only in the sandbox's env. */
    tokenHash: text("token_hash"),
    /** Folded into the token's HMAC and raised whenever the container is (re)created: a new container, a new token. */
    tokenGeneration: integer("token_generation").notNull().default(0),
    /** Where the control plane dials the agent (ws://host:port), as the runtime reported it. */
    endpoint: text("endpoint"),
    lastActivityAt: timestamptz("last_activity_at").notNull().defaultNow(),
    error: text("error"),
    crashCount: integer("crash_count").notNull().default(0),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [uniqueIndex("sandboxes_user_id_key").on(t.userId), index("sandboxes_state_idx").on(t.state), index("sandboxes_token_hash_idx").on(t.tokenHash)],
);
export type Sandbox = typeof sandboxes.$inferSelect;
