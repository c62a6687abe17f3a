import type { Response } from "express";

/** Answers with the control plane's one error shape, { error: { code, message } }. */
export function problem(res: Response, status: number, code: string, message: string): Response {
  return res.status(status).json({ error: { code, message } });
}
