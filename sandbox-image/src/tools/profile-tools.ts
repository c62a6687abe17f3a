import { z } from "zod/v4";
import type { EventPayload } from "@concierge/protocol";
import { updateProfile } from "../db/profile-store";
import { isValidZone } from "../time/resolve-time";
import { defineTool, ToolError } from "./tool";

const hhmm = () => z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, "HH:MM, 24-hour");

export const updateProfileTool = defineTool({
  name: "update_profile",
  description:
    "Update the user's profile: name, IANA timezone, active hours (HH:MM) for proactive messages, email, default currency.",
  schema: () => z.object({
    name: z.string().min(1).max(100).optional(),
    timezone: z.string().optional(),
    activeHours: z.object({ start: hhmm(), end: hhmm() }).optional(),
    email: z.string().email().optional(),
    currency: z.string().regex(/^[A-Za-z]{3}$/).optional(),
  }),
  run(ctx, a) {
    if (a.timezone !== undefined && !isValidZone(a.timezone)) {
      throw new ToolError(`"${a.timezone}" is not a timezone I know; use a name like Europe/Berlin.`);
    }
    const profile = updateProfile(
      ctx.db,
      {
        name: a.name,
        timezone: a.timezone,
        activeStart: a.activeHours?.start,
        activeEnd: a.activeHours?.end,
        email: a.email,
        currency: a.currency?.toUpperCase(),
      },
      ctx.now(),
    );
    // The control plane mirrors name, timezone and hours (heartbeats). The email is the agent's own:
    // Zoom routing never follows it; only the operator links a Zoom identity (docs/voice-trust.md).
    const changed: EventPayload<"profile.updated"> = {};
    if (a.name !== undefined) changed.name = a.name;
    if (a.timezone !== undefined) changed.timezone = a.timezone;
    if (a.activeHours !== undefined) changed.activeHours = a.activeHours;
    if (a.email !== undefined) changed.email = a.email;
    if (Object.keys(changed).length > 0) ctx.emit("profile.updated", changed);
    // Reminders keep the zone they were set in; only the announcement may need refreshing.
    if (a.timezone !== undefined) ctx.remindersChanged();
    return { profile };
  },
});

export const PROFILE_TOOLS = [updateProfileTool];
