/**
 * OpenAPI 3 description of /sandbox/*, built in code next to the routes it describes
 * (admin-routes.test.ts checks that every route is in it).
 */
const error = { $ref: "#/components/schemas/Error" };
const errors = {
  "400": { description: "Bad request", content: { "application/json": { schema: error } } },
  "401": { description: "Missing or wrong admin token", content: { "application/json": { schema: error } } },
  "404": { description: "No such user", content: { "application/json": { schema: error } } },
  "503": { description: "The sandbox could not be started or its agent did not answer", content: { "application/json": { schema: error } } },
};
const key = { name: "key", in: "path", required: true, description: "User id, or phone number (digits, with or without +)", schema: { type: "string" } };
const userId = { name: "userId", in: "path", required: true, description: "User id", schema: { type: "string" } };
const json = (schema: object) => ({ content: { "application/json": { schema } } });
const userSandbox = { $ref: "#/components/schemas/UserSandbox" };
const action = (summary: string) => ({
  post: { summary, parameters: [key], responses: { "200": { description: "The sandbox after the action", ...json(userSandbox) }, ...errors } },
});

export function sandboxOpenApi(): Record<string, unknown> {
  return {
    openapi: "3.0.3",
    info: { title: "Concierge admin API", version: "1.0.0", description: "Manage per-user agent sandboxes. Every route but this description needs `Authorization: Bearer <ADMIN_TOKEN>`." },
    servers: [{ url: "/sandbox" }],
    security: [{ bearer: [] }],
    components: {
      securitySchemes: { bearer: { type: "http", scheme: "bearer" } },
      schemas: {
        Error: {
          type: "object",
          required: ["error"],
          properties: { error: { type: "object", required: ["code", "message"], properties: { code: { type: "string" }, message: { type: "string" } } } },
        },
        Sandbox: {
          type: "object",
          properties: {
            id: { type: "string" },
            state: { type: "string", enum: ["provisioning", "running", "frozen", "stopping", "stopped", "error", "deleted"] },
            runtime: { type: "string", enum: ["docker", "process"] },
            image: { type: "string", nullable: true },
            configHash: { type: "string", nullable: true },
            endpoint: { type: "string", nullable: true },
            lastActivityAt: { type: "string", format: "date-time" },
            memoryBytes: { type: "integer", nullable: true },
            crashCount: { type: "integer" },
            error: { type: "string", nullable: true },
            createdAt: { type: "string", format: "date-time" },
          },
        },
        UserSandbox: {
          type: "object",
          properties: {
            userId: { type: "string" },
            phone: { type: "string", nullable: true },
            name: { type: "string", nullable: true },
            timezone: { type: "string" },
            sandbox: { allOf: [{ $ref: "#/components/schemas/Sandbox" }], nullable: true },
          },
        },
      },
    },
    paths: {
      "/": {
        get: { summary: "List sandboxes with state, image, last activity and memory use", responses: { "200": { description: "All sandboxes", ...json({ type: "object", properties: { sandboxes: { type: "array", items: userSandbox } } }) }, "401": errors["401"] } },
        post: {
          summary: "Create the user if needed and provision their sandbox",
          requestBody: {
            required: false,
            ...json({ type: "object", additionalProperties: false, properties: { phone: { type: "string" }, name: { type: "string" }, timezone: { type: "string", description: "IANA time zone" } } }),
          },
          responses: { "201": { description: "Provisioned and running", ...json(userSandbox) }, "400": errors["400"], "401": errors["401"], "503": errors["503"] },
        },
      },
      "/openapi.json": { get: { summary: "This description", security: [], responses: { "200": { description: "OpenAPI 3 document" } } } },
      "/{key}": {
        get: { summary: "One user's sandbox", parameters: [key], responses: { "200": { description: "The sandbox", ...json(userSandbox) }, ...errors } },
        delete: {
          summary: "Delete the sandbox, its volume, its token and the user's rows",
          parameters: [key, { name: "export", in: "query", required: false, description: "true: return the agent's data.export first (GDPR)", schema: { type: "boolean" } }],
          responses: { "200": { description: "Deleted", ...json({ type: "object", properties: { deleted: { type: "boolean" }, userId: { type: "string" }, export: { type: "object" } } }) }, ...errors },
        },
      },
      "/{key}/start": action("Start (or wake) the sandbox and wait until its agent answers"),
      "/{key}/stop": action("Stop the sandbox; the next event wakes it"),
      "/{key}/restart": action("Stop and start the sandbox"),
      "/{key}/logs": {
        get: {
          summary: "The last lines of the agent's output",
          parameters: [key, { name: "tail", in: "query", required: false, schema: { type: "integer", minimum: 1, maximum: 10000, default: 200 } }],
          responses: { "200": { description: "Log lines", content: { "text/plain": { schema: { type: "string" } } } }, ...errors },
        },
      },
      "/{key}/workspace/{path}": {
        parameters: [key, { name: "path", in: "path", required: true, description: "Relative workspace path, e.g. SOUL.md or skills/x.md; '..' is refused", schema: { type: "string" } }],
        get: {
          summary: "Read a workspace file (wakes the sandbox)",
          responses: {
            "200": { description: "The file: text/markdown, or JSON {path, content} with Accept: application/json", content: { "text/markdown": { schema: { type: "string" } }, "application/json": { schema: { type: "object" } } } },
            ...errors,
          },
        },
        put: {
          summary: "Write a workspace file (wakes the sandbox)",
          requestBody: { required: true, content: { "text/plain": { schema: { type: "string" } }, "application/json": { schema: { type: "object", properties: { content: { type: "string" } }, required: ["content"] } } } },
          responses: { "200": { description: "Written", ...json({ type: "object", properties: { path: { type: "string" }, bytes: { type: "integer" } } }) }, ...errors },
        },
      },
      "/usage": {
        get: {
          summary: "LLM usage per user for a period",
          parameters: [{ name: "period", in: "query", required: false, schema: { type: "string", enum: ["day", "month"], default: "month" } }],
          responses: { "200": { description: "Usage per user", ...json({ type: "object" }) }, "401": errors["401"] },
        },
      },
      "/users/{userId}/usage": {
        get: { summary: "One user's LLM usage for a period", parameters: [userId, { name: "period", in: "query", required: false, schema: { type: "string" } }], responses: { "200": { description: "Usage", ...json({ type: "object" }) }, ...errors } },
      },
      "/users/{userId}/budget": {
        get: { summary: "The user's monthly LLM budget and where it comes from", parameters: [userId], responses: { "200": { description: "Budget", ...json({ type: "object" }) }, ...errors } },
        put: {
          summary: "Override the user's monthly LLM budget",
          parameters: [userId],
          requestBody: { required: true, ...json({ type: "object", properties: { monthlyUsd: { type: "number", minimum: 0 } }, required: ["monthlyUsd"] }) },
          responses: { "200": { description: "Budget", ...json({ type: "object" }) }, ...errors },
        },
      },
      "/users/{userId}/profile": {
        get: { summary: "Time zone and heartbeat hours", parameters: [userId], responses: { "200": { description: "Profile", ...json({ type: "object" }) }, ...errors } },
        put: {
          summary: "Set time zone and heartbeat hours (reschedules heartbeats)",
          parameters: [userId],
          requestBody: { required: true, ...json({ type: "object", properties: { timezone: { type: "string" }, activeHoursStart: { type: "string", example: "07:00" }, activeHoursEnd: { type: "string", example: "23:00" } } }) },
          responses: { "200": { description: "Profile", ...json({ type: "object" }) }, ...errors },
        },
      },
      "/users/{userId}/zoom": {
        put: {
          summary: "Link the user's Zoom identity (meetings they host reach their agent)",
          parameters: [userId],
          requestBody: { required: true, ...json({ type: "object", required: ["zoomUserId"], properties: { zoomUserId: { type: "string", description: "the host_id of their meetings; empty clears" } } }) },
          responses: { "200": { description: "Linked", ...json({ type: "object" }) }, ...errors },
        },
      },
      "/users/{userId}/events": {
        get: { summary: "The user's last inbound events with their status", parameters: [userId, { name: "limit", in: "query", required: false, schema: { type: "integer", minimum: 1, maximum: 500 } }], responses: { "200": { description: "Events", ...json({ type: "object" }) }, ...errors } },
      },
      "/users/{userId}/messages": {
        get: { summary: "The user's message timeline, both ways, with delivery status", parameters: [userId], responses: { "200": { description: "Messages", ...json({ type: "object" }) }, ...errors } },
      },
      "/users/{userId}/workspace": {
        get: { summary: "The user's workspace files (wakes the sandbox)", parameters: [userId], responses: { "200": { description: "Files", ...json({ type: "object" }) }, ...errors } },
      },
      "/{key}/usage": {
        get: { summary: "LLM usage and budget for the user", parameters: [key], responses: { "200": { description: "Usage", ...json({ type: "object" }) }, "501": { description: "Usage metering not configured" }, ...errors } },
      },
    },
  };
}
