import { Writable } from "node:stream";
import { createLogger } from "../src/logger";

function capture() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk));
      cb();
    },
  });
  return { lines, logger: createLogger({ level: "debug", destination }) };
}

describe("logger", () => {
  it("redacts secrets by configuration, at any of the first levels", () => {
    const { lines, logger } = capture();
    logger.child({ component: "test" }).info(
      {
        token: "tok-1",
        config: { appSecret: "app-2", llm: { apiKey: "key-3" } },
        req: { headers: { authorization: "Bearer adm-4", "x-hub-signature-256": "sha256=5" } },
        LLM_API_KEY: "key-6",
        userId: "u1",
      },
      "hello",
    );
    const out = lines.join("");
    for (const secret of ["tok-1", "app-2", "key-3", "adm-4", "sha256=5", "key-6"]) expect(out).not.toContain(secret);
    expect(out).toContain('"userId":"u1"');
    expect(out).toContain('"component":"test"');
  });
});
