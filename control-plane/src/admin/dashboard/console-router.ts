import express, { Router } from "express";
import { sql } from "drizzle-orm";
import { z } from "zod";
import { rows, type Db } from "../../db/database";
import { AppError, BadRequestError } from "../../errors";
import type { Logger } from "../../logger";
import { LocalWebhookError, type LocalGraphSink } from "../../channels/whatsapp/local-sink";
import { requireAdmin } from "../auth";

export interface ConsoleRouterOptions {
  db: Db;
  adminToken: string;
  logger: Logger;
  /** Present when the control plane runs WhatsApp against its local sink; the console needs it. */
  sink?: LocalGraphSink;
}

const phone = z
  .string()
  .trim()
  .transform((p) => p.replace(/[^0-9]/g, ""))
  .pipe(z.string().regex(/^\d{6,20}$/, "must be a phone number in international form, e.g. +15550100123"));
const SendBody = z.object({ phone, text: z.string().min(1).max(4096), name: z.string().trim().min(1).max(100).optional() }).strict();

/**
 * The chat console's backend, mounted at /admin/api/console behind the admin token. It is the
 * user's phone: a message typed in the dashboard becomes a signed Cloud API webhook from the local
 * sink to this control plane's /whatsapp/webhook, and the chat shows what the sink received from
 * the Graph API side. Nothing here talks to the inbox or the agent directly.
 *   GET  /                 whether the console is available, and the business number
 *   POST /messages         {phone, text, name?}: the user sends a text
 *   GET  /chats/:phone     the conversation on the user's phone (opening it reads the replies)
 */
export function createConsoleRouter(opts: ConsoleRouterOptions): Router {
  const router = Router();
  const log = opts.logger.child({ component: "admin-console" });
  router.use(requireAdmin(opts.adminToken));
  router.use(express.json({ limit: "64kb" }));

  const needSink = (): LocalGraphSink => {
    if (!opts.sink) {
      throw new AppError("the chat console needs the local WhatsApp sink: it is on only when WHATSAPP_* is not configured", 409, "console_unavailable");
    }
    return opts.sink;
  };

  router.get("/", (_req, res) => {
    res.json(
      opts.sink
        ? { enabled: true, businessNumber: opts.sink.credentials.displayPhoneNumber, phoneNumberId: opts.sink.credentials.phoneNumberId }
        : { enabled: false, reason: "WhatsApp is configured with a real Meta account; the console only drives the local sink." },
    );
  });

  router.post("/messages", async (req, res) => {
    const sink = needSink();
    const parsed = SendBody.safeParse(req.body ?? {});
    if (!parsed.success) throw new BadRequestError(parsed.error.issues.map((i) => `${i.path.join(".") || "body"}: ${i.message}`).join("; "));
    const { phone: waId, text, name } = parsed.data;
    const message = await sink.userSays({ waId, text, name }).catch((err) => {
      if (err instanceof LocalWebhookError) {
        log.warn({ status: err.status }, "the control plane refused the console's webhook");
        throw new AppError(`the WhatsApp webhook refused the message (${err.status})`, 502, "webhook_refused");
      }
      throw err;
    });
    // The webhook created the user on first contact, in the transaction it answered 200 after.
    const [user] = await rows<{ id: string }>(opts.db, sql`SELECT id FROM users WHERE wa_id = ${waId} OR phone = ${waId} ORDER BY created_at LIMIT 1`);
    res.status(201).json({ userId: user?.id ?? null, message });
  });

  router.get("/chats/:phone", async (req, res) => {
    const sink = needSink();
    const parsed = phone.safeParse(String(req.params.phone));
    if (!parsed.success) throw new BadRequestError("phone must be a phone number in international form");
    // Looking at the chat is what makes a phone send "read" receipts.
    await sink.openChat(parsed.data).catch((err) => log.warn({ err: (err as Error).message }, "could not send read receipts"));
    res.json({ phone: parsed.data, ...sink.conversation(parsed.data) });
  });

  return router;
}
