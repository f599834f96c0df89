import assert from "node:assert/strict";
import { SpillFile } from "../../plugins/_shared/spill.ts";

Deno.test("SpillFile keeps every line of overlapping appends, whole and in call order", async () => {
  const spill = new SpillFile();
  try {
    const long = "x".repeat(200_000);
    const batches = Array.from({ length: 20 }, (_, i) => [`${i}:a:${long}`, `${i}:b`]);
    await Promise.all(batches.map((lines) => spill.append(lines)));
    const lines: string[] = [];
    for await (const line of spill.lines()) lines.push(line);
    assert.equal(spill.size, 40);
    assert.deepEqual(lines, batches.flat());
  } finally {
    await spill.close();
  }
});
