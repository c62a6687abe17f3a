import { readFileSync } from "node:fs";
import path from "node:path";
import { ConfigError, ENV, envTableMarkdown, loadConfig } from "../src/config";

function problemsOf(env: NodeJS.ProcessEnv): string[] {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

describe("configuration", () => {
  it("starts on embedded defaults with an empty environment", () => {
    const c = loadConfig({});
    expect(c.port).toBe(3001);
    expect(c.databaseUrl).toBeUndefined();
    expect(c.dataDir).toBe("./data");
    expect(c.whatsapp).toBeUndefined();
    expect(c.whatsappApiBaseUrl).toBe("https://graph.facebook.com/v22.0");
    expect(c.sandbox.idleMinutes).toBe(15);
    expect(c.publicBaseUrl).toBe("http://localhost:3001");
    expect(c.heartbeat.defaultActiveHours).toEqual({ start: "07:00", end: "23:00" });
  });

  it("coerces numbers and trims a trailing slash off base URLs", () => {
    const c = loadConfig({ PORT: "8080", SANDBOX_CPUS: "1.5", PUBLIC_BASE_URL: "https://a.example/", WHATSAPP_API_BASE_URL: "http://127.0.0.1:9/v22.0/" });
    expect(c.port).toBe(8080);
    expect(c.sandbox.cpus).toBe(1.5);
    expect(c.publicBaseUrl).toBe("https://a.example");
    expect(c.whatsappApiBaseUrl).toBe("http://127.0.0.1:9/v22.0");
  });

  it("boosts a sandbox's start to 2 CPUs unless SANDBOX_START_CPUS turns it off or is not above SANDBOX_CPUS", () => {
    expect(loadConfig({}).sandbox.startCpus).toBe(2);
    expect(loadConfig({ SANDBOX_START_CPUS: "1" }).sandbox.startCpus).toBe(1);
    expect(loadConfig({ SANDBOX_START_CPUS: "0" }).sandbox.startCpus).toBeUndefined();
    expect(loadConfig({ SANDBOX_CPUS: "2" }).sandbox.startCpus).toBeUndefined();
    expect(loadConfig({ SANDBOX_CPUS: "1", SANDBOX_START_CPUS: "1.5" }).sandbox.startCpus).toBe(1.5);
    expect(problemsOf({ SANDBOX_START_CPUS: "-1" }).join("\n")).toMatch(/SANDBOX_START_CPUS/);
  });

  it("names every bad variable at once", () => {
    const problems = problemsOf({ PORT: "abc", SANDBOX_RUNTIME: "podman", DEFAULT_TIMEZONE: "Mars/Base", WHATSAPP_APP_SECRET: "s" });
    expect(problems.join("\n")).toMatch(/PORT="abc": must be a whole number/);
    expect(problems.join("\n")).toMatch(/SANDBOX_RUNTIME/);
    expect(problems.join("\n")).toMatch(/DEFAULT_TIMEZONE/);
    expect(problems.join("\n")).toMatch(/WHATSAPP_VERIFY_TOKEN, WHATSAPP_ACCESS_TOKEN, WHATSAPP_PHONE_NUMBER_ID: required when WHATSAPP_APP_SECRET is set/);
    expect(problems).toHaveLength(4);
  });

  it("requires all four WhatsApp variables or none", () => {
    const all = { WHATSAPP_VERIFY_TOKEN: "v", WHATSAPP_APP_SECRET: "s", WHATSAPP_ACCESS_TOKEN: "a", WHATSAPP_PHONE_NUMBER_ID: "1" };
    expect(loadConfig(all).whatsapp).toEqual({ verifyToken: "v", appSecret: "s", accessToken: "a", phoneNumberId: "1" });
    expect(problemsOf({ ...all, WHATSAPP_ACCESS_TOKEN: "" })).toEqual([
      expect.stringMatching(/^WHATSAPP_ACCESS_TOKEN: required when/),
    ]);
  });

  it("applies the other cross-field rules", () => {
    expect(problemsOf({ TWILIO_ACCOUNT_SID: "AC1" })).toEqual([expect.stringMatching(/TWILIO_AUTH_TOKEN/)]);
    expect(problemsOf({ LLM_BASE_URL: "http://127.0.0.1:1/v1" })).toEqual([expect.stringMatching(/LLM_MODEL: required/)]);
    expect(problemsOf({ LLM_API_KEY: "k" })).toEqual([expect.stringMatching(/LLM_BASE_URL: required/)]);
    expect(problemsOf({ OPENAI_REALTIME_URL: "wss://127.0.0.1/x" })).toEqual([expect.stringMatching(/OPENAI_API_KEY/)]);
    expect(problemsOf({ WHATSAPP_OUTSIDE_WINDOW: "template" })).toEqual([expect.stringMatching(/WHATSAPP_TEMPLATE_NAME/)]);
    expect(problemsOf({ ZOOM_CLIENT_ID: "i", ZOOM_CLIENT_SECRET: "s" })).toEqual([expect.stringMatching(/ZOOM_WEBHOOK_SECRET_TOKEN/)]);
  });

  it("never echoes a secret's value in its error", () => {
    const problems = problemsOf({ ADMIN_TOKEN: "short-secret" });
    expect(problems).toEqual([expect.stringContaining("ADMIN_TOKEN=(secret)")]);
    expect(problems.join()).not.toContain("short-secret");
  });

  it("puts every model the gateway may serve on the allowlist", () => {
    const c = loadConfig({ LLM_BASE_URL: "http://127.0.0.1:1/v1", LLM_MODEL: "m1", LLM_HEARTBEAT_MODEL: "m0", LLM_ALLOWED_MODELS: "m2, m1" });
    expect(c.llm?.allowedModels).toEqual(["m1", "m0", "m2"]);
  });

  it("is documented in the README, variable for variable", () => {
    const readme = readFileSync(path.resolve(__dirname, "../../README.md"), "utf8");
    expect(readme).toContain(envTableMarkdown());
    for (const name of Object.keys(ENV)) expect(readme).toContain(`\`${name}\``);
  });
});
