import type { Server } from "node:http";
import type { Router } from "express";
import type { Executor, Tx } from "../db/database";
import type { User } from "../db/schema";
import type { InboxHandler } from "../inbox/dispatcher";
import type { InboundKind, NewInboundEvent } from "../inbox/types";
import type { ChannelAdapter, NewOutboundMessage } from "../outbox/types";
import type { Reservation } from "../queue/leased-queue";

/** What a channel (or the scheduler) needs from the inbox: an insert inside the caller's transaction; true when new. */
export interface InboxPort {
  enqueue(tx: Executor, event: NewInboundEvent): Promise<boolean>;
  /** A free slot of this process's dispatcher, for an event written already leased (Inbox.reserveTurn). */
  reserveTurn?(): Reservation | undefined;
}

/** And from the outbox: the same, for messages written without an agent turn (in order). */
export interface OutboxPort {
  enqueue(tx: Tx, messages: NewOutboundMessage[]): Promise<unknown>;
}

/** A router and where it is mounted. */
export interface MountedRouter {
  path: string;
  router: Router;
}

/**
 * The one contract every channel implements (WhatsApp, voice, Zoom). main.ts loops over the list
 * of channels: it mounts `routes`, puts `adminRoutes` under /sandbox behind the admin token,
 * registers `handlers` with the dispatcher and `adapter` with the outbox, forwards agent events to
 * `onAgentEvent`, and calls `start` once HTTP listens and `stop` in reverse. A channel that is not
 * configured says so with `enabled: false`; main.ts then skips it whole.
 */
export interface Channel {
  readonly name: string;
  readonly enabled: boolean;
  /** Public (provider-facing) routes: signed webhooks, media streams' HTTP side. */
  routes?: MountedRouter[];
  /** Operator routes, mounted under /sandbox after the admin check, before its catch-alls. */
  adminRoutes?: Router;
  /** Inbox handlers by event kind. */
  handlers?: Partial<Record<InboundKind, InboxHandler>>;
  /** The outbox's sender for this channel's rows. */
  adapter?: ChannelAdapter;
  /** An event the agent pushed (ConnectionManager.onEvent). */
  onAgentEvent?: (sandboxId: string, event: string, payload: unknown) => void;
  /** A user was deleted: forget what the channel keeps outside the database. */
  onUserDeleted?: (user: User) => void;
  /** After the dispatcher and HTTP are up: background work, upgrades on the server. */
  start?: (ctx: { server: Server }) => void | Promise<void>;
  stop?: () => Promise<void>;
}

/** Hands a channel's inbox handlers to the dispatcher (main.ts and the tests' harnesses alike). */
export function registerHandlers(dispatcher: { handle(kind: InboundKind, handler: InboxHandler): void }, channel: Channel): void {
  for (const [kind, handler] of Object.entries(channel.handlers ?? {}) as [InboundKind, InboxHandler][]) dispatcher.handle(kind, handler);
}
