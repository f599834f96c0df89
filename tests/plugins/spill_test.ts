import assert from "node:assert/strict";
import { SpillFile, SpillMap } from "../../plugins/_shared/spill.ts";

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

Deno.test("SpillFile keeps every line of overlapping appends, whole and in call order", async () => {
  // Small enough a threshold that the appends cross it part-way.
  const spill = new SpillFile({ bytes: 1_000_000 });
  try {
    const long = "x".repeat(200_000);
    const batches = Array.from({ length: 20 }, (_, i) => [`${i}:a:${long}`, `${i}:b`]);
    await Promise.all(batches.map((lines) => spill.append(lines)));
    assert.equal(spill.size, 40);
    assert.ok(spill.spilled);
    assert.deepEqual(await collect(spill.lines()), batches.flat());
  } finally {
    await spill.close();
  }
});

Deno.test("SpillFile holds lines in memory up to its threshold, then moves them to a file", async () => {
  const spill = new SpillFile({ lines: 3 });
  try {
    await spill.append(["a", "b"]);
    await spill.append(["c"]);
    assert.equal(spill.spilled, false, "three lines stay in memory");
    assert.deepEqual(await collect(spill.lines()), ["a", "b", "c"]);
    await spill.append(["d"]);
    assert.equal(spill.spilled, true, "the fourth line moves them all to a file");
    await spill.append(["e"]);
    assert.deepEqual(await collect(spill.lines()), ["a", "b", "c", "d", "e"]);
  } finally {
    await spill.close();
  }
  assert.deepEqual(await collect(spill.lines()), [], "close() forgets every line");
});

Deno.test("SpillMap yields each key once, in order, with the value set last, across spilled runs", async () => {
  const map = new SpillMap({ entries: 4 });
  const expected = new Map<string, string>();
  try {
    // A fixed pseudo-random sequence with repeated keys, some repeated after they spilled.
    let seed = 7;
    for (let i = 0; i < 200; i++) {
      seed = (seed * 48271) % 2147483647;
      const key = `k${seed % 37}`;
      await map.set(key, `v${i}`);
      expected.set(key, `v${i}`);
    }
    assert.ok(map.spilled);
    const sorted = [...expected].sort(([a], [b]) => (a < b ? -1 : 1));
    assert.deepEqual(await collect(map.entries()), sorted);
  } finally {
    await map.close();
  }
});

Deno.test("SpillMap without spilling, and with no entries at all", async () => {
  const map = new SpillMap({ entries: 100 });
  try {
    assert.deepEqual(await collect(map.entries()), []);
    await map.set("b", "2");
    await map.set("a", "1");
    await map.set("b", "3");
    assert.equal(map.spilled, false);
    assert.deepEqual(await collect(map.entries()), [["a", "1"], ["b", "3"]]);
  } finally {
    await map.close();
  }
});
