import { Batcher } from "../src/queue/batcher";
import { sleep } from "../../test-support/fake-agent";

describe("group commit (Batcher)", () => {
  it("runs an item at once and alone when nothing is in flight, and coalesces the items that arrive while it runs", async () => {
    const batches: number[][] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const b = new Batcher<number, number>(async (items) => {
      batches.push(items);
      if (batches.length === 1) await gate;
      return items.map((i) => i * 10);
    }, 1);
    const first = b.submit(1);
    await sleep(5);
    expect(batches).toEqual([[1]]);
    const later = [b.submit(2), b.submit(3), b.submit(4)];
    await sleep(5);
    expect(batches).toEqual([[1]]);
    release();
    expect(await first).toBe(10);
    expect(await Promise.all(later)).toEqual([20, 30, 40]);
    expect(batches).toEqual([[1], [2, 3, 4]]);
  });

  it("fails every item of a failed statement, and only those", async () => {
    let n = 0;
    const b = new Batcher<string, string>(async (items) => {
      if (n++ === 0) throw new Error("database away");
      return items;
    }, 1);
    const failed = b.submit("a");
    const next = b.submit("b");
    await expect(failed).rejects.toThrow("database away");
    await expect(next).resolves.toBe("b");
  });
});
