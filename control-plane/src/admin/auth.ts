import type { RequestHandler } from "express";
import { safeEqual } from "../sandboxes/token";
import { problem } from "../http/problem";

/** Bearer ADMIN_TOKEN, compared in constant time; 401 with the API's error shape otherwise. */
export function requireAdmin(adminToken: string): RequestHandler {
  return (req, res, next) => {
    const header = req.headers.authorization ?? "";
    const match = /^Bearer\s+(.+)$/i.exec(header);
    if (!match || !safeEqual(match[1]!.trim(), adminToken)) {
      res.set("www-authenticate", 'Bearer realm="concierge-admin"');
      problem(res, 401, "unauthorized", "a valid admin bearer token is required");
      return;
    }
    next();
  };
}
