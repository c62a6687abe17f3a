import { fireDueReminders, nextAlarmAt } from "../alarms/reminder-store";
import type { MethodHandler } from "./method-handler";

/** alarm.fire: the control plane woke the agent at its announced time; fire what is due, announce the next. */
export const alarmFire: MethodHandler<"alarm.fire"> = (ctx, p) =>
  ctx.turns.run("alarm.fire", p.idempotencyKey, p.now, async () => {
    const reminders = fireDueReminders(ctx.db, ctx.now());
    const nextAt = nextAlarmAt(ctx.db);
    ctx.emit("alarm.set", { at: nextAt });
    return { reminders, nextAt };
  });
