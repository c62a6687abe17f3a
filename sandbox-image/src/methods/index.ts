import { alarmFire } from "./alarm-fire";
import { callTurn } from "./call-turn";
import { chatSend } from "./chat-send";
import { dataExport } from "./data-export";
import { heartbeatRun } from "./heartbeat-run";
import { meetingEvent } from "./meeting-event";
import type { MethodTable } from "./method-handler";
import { status } from "./status";
import { toolCall, toolsList } from "./tools";
import { workspaceList, workspaceRead, workspaceWrite } from "./workspace";

export type { MethodHandler, MethodInput, MethodTable } from "./method-handler";

/** The agent's handler for every method in the protocol's table. */
export const METHODS: MethodTable = {
  "chat.send": chatSend,
  "heartbeat.run": heartbeatRun,
  "alarm.fire": alarmFire,
  "call.turn": callTurn,
  "meeting.event": meetingEvent,
  "tools.list": toolsList,
  "tool.call": toolCall,
  "workspace.read": workspaceRead,
  "workspace.write": workspaceWrite,
  "workspace.list": workspaceList,
  "data.export": dataExport,
  status,
};
