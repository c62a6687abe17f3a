import { sandboxServiceSuite } from "../../test-support/sandbox-service-suite";

describe("SandboxService on the process runtime", () => {
  sandboxServiceSuite("process");
});
