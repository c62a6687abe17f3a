import type { RequestHandler } from "express";
import { safeEqual } from "../sandboxes/token";

/** Bearer ADMIN_TOKEN, compared in constant time; 401 with the API's error shape otherwise. */
export function requireAdmin(adminToken: string): RequestHandler {
  return (req, res, next) => {
    const header = req.headers.authorization ?? "";
    const match = /^Bearer\s+(.+)$/i.exec(header);
    if (!match || !safeEqual(match[1]!.trim(), adminToken)) {
      res.set("www-authenticate", 'Bearer realm="concierge-admin"');
      res.status(401).json({ error: { code: "unauthorized", message: "a valid admin bearer token is required" } });
      return;
    }
    next();
  };
}
