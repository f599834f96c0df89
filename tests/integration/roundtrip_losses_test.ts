/**
 * Values that used to change on the way through weft (negative zero, empty
 * reference lists, the null-state index of references, int64 limits), and
 * what a restore leaves behind when it cannot write everything.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { freePort } from "../harness/process.ts";
import { startWeaviate, useWeaviate, type WeaviateServer } from "../harness/weaviate.ts";
import {
  aggregateCount,
  backupTo,
  denoTask,
  integration,
  listAll,
  renamed,
  rest,
  ROOT,
  serverEnv,
  signalAfter,
  tempDir,
  tenantStatuses,
  uniqueName,
} from "./_helpers.ts";

const source = await useWeaviate();
addEventListener("unload", () => void source.stop());

/** POSTs a JSON text as it is (JSON.stringify cannot write -0 or 2^63 − 1). */
async function postRaw(server: WeaviateServer, path: string, text: string): Promise<unknown> {
  const res = await fetch(`${server.url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: text,
  });
  const body = await res.json();
  assert.ok(res.ok, JSON.stringify(body));
  for (const r of Array.isArray(body) ? body : []) {
    assert.equal(r.result?.errors, undefined, JSON.stringify(r.result?.errors));
  }
  return body;
}

const FIRST = "00000000-0000-4000-8000-000000000001";
const LAST = "ffffffff-ffff-4fff-8fff-ffffffffffff";
const MIDDLE = "77777777-7777-4777-8777-777777777777";
const EMPTY = "33333333-3333-4333-8333-333333333333";

/**
 * Two collections with `indexNullState`: Alpha's objects point forward (to a
 * later UUID, to themselves, and to Zulu, written after Alpha), one holds an
 * empty reference list, and numbers sit at -0 and the int64 limits.
 */
async function createEdges(server: WeaviateServer) {
  const alpha = uniqueName("Alpha");
  const zulu = `Zulu${alpha.slice(5)}`;
  const index = { indexNullState: true, indexPropertyLength: true };
  await rest(server, "POST", "/v1/schema", {
    class: zulu,
    vectorizer: "none",
    invertedIndexConfig: index,
    properties: [{ name: "label", dataType: ["text"] }],
  });
  await rest(server, "POST", "/v1/schema", {
    class: alpha,
    vectorizer: "none",
    invertedIndexConfig: index,
    properties: [
      { name: "num", dataType: ["number"] },
      { name: "nums", dataType: ["number[]"] },
      { name: "n", dataType: ["int"] },
      { name: "ns", dataType: ["int[]"] },
      { name: "next", dataType: [alpha] },
      { name: "other", dataType: [zulu] },
      { name: "any", dataType: [alpha, zulu] },
    ],
  });
  const z = crypto.randomUUID();
  await rest(server, "POST", "/v1/batch/objects", {
    objects: [{ class: zulu, id: z, properties: { label: "z" } }],
  });
  const beacon = (c: string, id: string) => `{"beacon":"weaviate://localhost/${c}/${id}"}`;
  // Targets first, so that every reference travels inside an insert.
  await postRaw(
    server,
    "/v1/batch/objects",
    `{"objects":[
      {"class":"${alpha}","id":"${LAST}","properties":{"num":-0,"nums":[-0,0,1e308,5e-324],
        "n":9223372036854775807,"ns":[9223372036854775807,-9223372036854775808,0]}},
      {"class":"${alpha}","id":"${EMPTY}","properties":{"n":-9223372036854775808,"next":[],"other":[]}}
    ]}`,
  );
  await postRaw(
    server,
    "/v1/batch/objects",
    `{"objects":[
      {"class":"${alpha}","id":"${FIRST}","properties":{"num":1,
        "next":[${beacon(alpha, LAST)}],"other":[${beacon(zulu, z)}],
        "any":[${beacon(zulu, z)},${beacon(alpha, LAST)}]}},
      {"class":"${alpha}","id":"${MIDDLE}","properties":{"num":2}}
    ]}`,
  );
  // A reference to itself: the object must exist first; the upsert keeps the index right.
  await postRaw(
    server,
    "/v1/batch/objects",
    `{"objects":[{"class":"${alpha}","id":"${MIDDLE}","properties":{"num":2,
      "next":[${beacon(alpha, MIDDLE)}]}}]}`,
  );
  return { alpha, zulu };
}

/** The null-state filters a user would run, per reference property. */
async function nullCounts(server: WeaviateServer, alpha: string, as = alpha) {
  const out: Record<string, number> = {};
  for (const prop of ["next", "other", "any", "num", "nums", "n", "ns"]) {
    for (const isNull of [true, false]) {
      out[`${prop}:${isNull}`] = await aggregateCount(
        server,
        as,
        `{path: ["${prop}"], operator: IsNull, valueBoolean: ${isNull}}`,
      );
    }
  }
  assert.equal(out["next:false"], 2, `${alpha}: two objects hold "next" references`);
  return out;
}

Deno.test({
  name:
    "restore and migrate keep -0, empty reference lists, the null state of references and int64 limits",
  ...integration,
  async fn() {
    const { alpha, zulu } = await createEdges(source);
    const expected = await listAll(source, alpha);
    assert.ok(Object.is(expected.get(LAST)!.properties.num, -0), "the source holds -0");
    assert.deepEqual(expected.get(EMPTY)!.properties.next, []);
    const nulls = await nullCounts(source, alpha);

    const dir = await backupTo(source, [alpha, zulu]);
    const lines = await Deno.readTextFile(`${dir}/data/${alpha}/part-00001.jsonl`);
    assert.match(lines, /"num":-0,"nums":\[-0,0,/, "the backup line keeps -0");

    await using target = await startWeaviate();
    const restore = await denoTask(
      ["restore", "pipelines/restore.yaml", "--set", "sink.with.check=content"],
      serverEnv(target, dir),
    );
    assert.equal(restore.code, 0, restore.stderr);
    assert.deepEqual(await listAll(target, alpha), expected, "restored objects");
    assert.deepEqual(await nullCounts(target, alpha), nulls, "restored null-state index");
    const verify = await denoTask(["verify", dir, "--against", target.url], {});
    assert.equal(verify.code, 0, verify.stderr);

    const copy = uniqueName("AlphaCopy");
    const migrate = await denoTask(["migrate", "pipelines/migrate.yaml"], {
      SOURCE_URL: source.url,
      TARGET_URL: source.url,
      TARGET_GRPC_URL: source.grpcUrl,
      COLLECTION: alpha,
      TARGET_COLLECTION: copy,
    });
    assert.equal(migrate.code, 0, migrate.stderr);
    const migrated = await listAll(source, copy);
    const want = renamed(expected, alpha, copy);
    // renamed() goes through JSON.stringify, which writes -0 as 0: put it back.
    const last = want.get(LAST)!.properties as { num: number; nums: number[] };
    last.num = -0;
    last.nums[0] = -0;
    assert.deepEqual(migrated, want, "migrated objects");
    assert.deepEqual(await nullCounts(source, alpha, copy), nulls, "migrated null-state index");
  },
});

/** A data file changed on purpose, with the manifest updated to match (a hand-edited backup). */
async function editLine(dir: string, file: string, edit: (line: string) => string) {
  const path = `${dir}/${file}`;
  const text = await Deno.readTextFile(path);
  const next = text.split("\n").map((l) => (l ? edit(l) : l)).join("\n");
  await Deno.writeTextFile(path, next);
  const bytes = new TextEncoder().encode(next);
  const manifest = JSON.parse(await Deno.readTextFile(`${dir}/manifest.json`));
  const entry = manifest.files.find((f: { path: string }) => f.path === file);
  entry.bytes = bytes.byteLength;
  entry.sha256 = createHash("sha256").update(bytes).digest("hex");
  await Deno.writeTextFile(`${dir}/manifest.json`, JSON.stringify(manifest));
}

async function createTenants(server: WeaviateServer, perTenant: number) {
  const name = uniqueName("Tenanted");
  await rest(server, "POST", "/v1/schema", {
    class: name,
    vectorizer: "none",
    multiTenancyConfig: { enabled: true },
    properties: [{ name: "n", dataType: ["int"] }],
  });
  await rest(server, "POST", `/v1/schema/${name}/tenants`, [{ name: "alpha" }, {
    name: "omega",
  }]);
  for (const tenant of ["alpha", "omega"]) {
    for (let i = 0; i < perTenant; i += 1000) {
      await rest(server, "POST", "/v1/batch/objects", {
        objects: Array.from(
          { length: Math.min(1000, perTenant - i) },
          (_, k) => ({ class: name, tenant, properties: { n: i + k } }),
        ),
      });
    }
  }
  await rest(server, "PUT", `/v1/schema/${name}/tenants`, [{
    name: "omega",
    activityStatus: "COLD",
  }]);
  return name;
}

Deno.test({
  name:
    "a refused object fails the restore at the end: the rest is written, checked and given its tenant status",
  ...integration,
  async fn() {
    const { alpha, zulu } = await createEdges(source);
    const tenanted = await createTenants(source, 3);
    const dir = await backupTo(source, [alpha, zulu, tenanted]);
    // "n" is an int: Weaviate refuses text there. FIRST also points at the refused object.
    await editLine(
      dir,
      `data/${alpha}/part-00001.jsonl`,
      (l) =>
        l.includes(`"id":"${MIDDLE}"`)
          ? l.replace('"num":2', '"num":2,"n":"not a number"')
          : l.includes(`"id":"${FIRST}"`)
          ? l.replace('"next":[', `"next":[{"id":"${MIDDLE}","collection":"${alpha}"},`)
          : l,
    );

    await using target = await startWeaviate();
    const deadLetter = `${await tempDir("weft-test-refused-")}/refused.jsonl`;
    const run = await denoTask(
      ["restore", "pipelines/restore.yaml", "--set", `runtime.deadLetter=${deadLetter}`],
      serverEnv(target, dir),
    );
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stderr, new RegExp(`Weaviate refused 1 objects \\(first: ${MIDDLE}`));
    // The refused object is kept, with its error, to be written again once fixed.
    assert.match(await Deno.readTextFile(deadLetter), new RegExp(`"id":"${MIDDLE}"`));
    assert.match(
      run.stderr,
      new RegExp(
        `1 references point at objects that are not in the copy .* \\(first: ${alpha}/${FIRST}\\.next → ${alpha}/${MIDDLE}`,
      ),
    );
    const written = await listAll(target, alpha);
    assert.deepEqual([...written.keys()].sort(), [FIRST, EMPTY, LAST].sort());
    const first = written.get(FIRST)!.properties;
    assert.deepEqual(
      first.next,
      [{ beacon: `weaviate://localhost/${alpha}/${LAST}`, href: `/v1/objects/${alpha}/${LAST}` }],
      "references of written objects are there, but the one to the refused object",
    );
    assert.equal((first.other as unknown[]).length, 1, "also those into the next collection");
    assert.equal((await listAll(target, zulu)).size, 1);
    assert.deepEqual(await tenantStatuses(target, tenanted), { alpha: "HOT", omega: "COLD" });
    const summary = run.stderr + run.stdout;
    assert.match(summary, /objects\s+10 \(/, "the summary counts only written objects");
  },
});

Deno.test({
  name:
    "a restore killed with -9 leaves tenants HOT; a rerun with overwrite sets recorded statuses",
  ...integration,
  async fn() {
    const tenanted = await createTenants(source, 3000);
    const dir = await backupTo(source, [tenanted]);
    await using target = await startWeaviate();
    const killed = await signalAfter(
      // Small batches, one at a time: the restore is still running when it is killed.
      ["pipelines/restore.yaml", "--set", "runtime.batch={size: 5, concurrency: 1}"],
      serverEnv(target, dir),
      "created collection",
      "SIGKILL",
    );
    assert.notEqual(killed.code, 0);
    const rerun = await denoTask(
      ["restore", "pipelines/restore.yaml", "--set", "sink.with.mode=overwrite"],
      serverEnv(target, dir),
    );
    assert.equal(rerun.code, 0, rerun.stderr);
    assert.deepEqual(await tenantStatuses(target, tenanted), { alpha: "HOT", omega: "COLD" });
    const verify = await denoTask(["verify", dir, "--against", target.url], {});
    assert.equal(verify.code, 0, verify.stderr);
  },
});

Deno.test({
  name: "Ctrl-C during a backup or a restore leaves COLD tenants COLD on both servers",
  ...integration,
  async fn() {
    const tenanted = await createTenants(source, 2000);
    const dir = await backupTo(source, [tenanted]);
    const partial = `${dir}-interrupted`;
    const backup = await signalAfter(
      [
        "pipelines/backup.yaml",
        "--set",
        `source.with.collections=[${tenanted}]`,
        "--set",
        "source.with.pageSize=1",
      ],
      serverEnv(source, partial),
      `tenant "omega" of "${tenanted}" is COLD`,
      "SIGINT",
    );
    assert.equal(backup.code, 130, backup.stderr);
    assert.doesNotMatch(backup.stderr, /cleanup failed/);
    assert.deepEqual(await tenantStatuses(source, tenanted), { alpha: "HOT", omega: "COLD" });

    await using target = await startWeaviate();
    const restore = await signalAfter(
      // Small batches, one at a time: the restore is still running when Ctrl-C comes.
      ["pipelines/restore.yaml", "--set", "runtime.batch={size: 5, concurrency: 1}"],
      serverEnv(target, dir),
      "created collection",
      "SIGINT",
    );
    assert.equal(restore.code, 130, restore.stderr);
    assert.match(restore.stderr, /holds a partial copy: \d+ of the \d+ objects/);
    assert.deepEqual(await tenantStatuses(target, tenanted), { alpha: "HOT", omega: "COLD" });
  },
});

Deno.test({
  name: "a restore whose gRPC port is closed fails at once, names the address and writes nothing",
  ...integration,
  async fn() {
    const tenanted = await createTenants(source, 10);
    const dir = await backupTo(source, [tenanted]);
    await using target = await startWeaviate();
    const port = freePort();
    const run = await denoTask(
      ["restore", "pipelines/restore.yaml"],
      { ...serverEnv(target, dir), WEAVIATE_GRPC_URL: `http://127.0.0.1:${port}` },
    );
    assert.equal(run.code, 1, run.stderr);
    assert.match(
      run.stderr,
      new RegExp(`Cannot connect to Weaviate's gRPC port at 127.0.0.1:${port}`),
    );
    assert.match(run.stderr + run.stdout, /objects\s+0 \(/);
    const schema = await rest<{ classes: { class: string }[] }>(target, "GET", "/v1/schema");
    assert.deepEqual(schema.classes, [], "nothing was created");
  },
});

Deno.test({
  name:
    "Weaviate dying mid-restore: the run says how much of the copy it wrote and counts only that",
  ...integration,
  async fn() {
    const tenanted = await createTenants(source, 10_000);
    const dir = await backupTo(source, [tenanted]);
    await using target = await startWeaviate();
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-all",
        "main.ts",
        "run",
        "pipelines/restore.yaml",
        "--set",
        "source.with.batchSize=20",
        "--set",
        "runtime.retry.attempts=2",
        // Small, steady batches: many answers arrive before the server goes.
        "--set",
        "runtime.batch={size: 20, concurrency: 2}",
      ],
      cwd: ROOT,
      env: serverEnv(target, dir),
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const output = Promise.all([
      new Response(child.stdout).text(),
      new Response(child.stderr).text(),
    ]);
    // Let it write some objects, then take the server away.
    await waitFor(async () => {
      const counts = await rest<
        { data: { Aggregate: Record<string, { meta: { count: number } }[]> } }
      >(
        target,
        "POST",
        "/v1/graphql",
        { query: `{ Aggregate { ${tenanted}(tenant: "alpha") { meta { count } } } }` },
      ).catch(() => undefined);
      // Several batches in, so that some answers reached the writer (not only the server).
      return (counts?.data?.Aggregate?.[tenanted]?.[0]?.meta.count ?? 0) > 200;
    });
    // A crash (kill -9): a clean stop makes Deno 2.9.6 itself abort on the server's HTTP/2
    // GOAWAY (denoland/deno#36788), before weft can say anything.
    const restarted = target.restart({ signal: "SIGKILL", downMs: 15_000 });
    const { code } = await child.status;
    const [stdout, stderr] = await output;
    await restarted;
    assert.equal(code, 1, stderr);
    const partial = /holds a partial copy: (\d+) of the (\d+) objects received were written/.exec(
      stderr,
    );
    assert.ok(partial, stderr);
    const written = Number(partial[1]);
    assert.ok(written > 0 && written < 20_000, stderr);
    assert.match(stdout + stderr, new RegExp(`objects\\s+${written.toLocaleString("en-US")} \\(`));
  },
});

async function waitFor(check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error("waitFor: timed out");
    await new Promise((r) => setTimeout(r, 50));
  }
}

Deno.test({
  name: "a verify that finds differences leaves the target's COLD tenants COLD",
  ...integration,
  async fn() {
    const tenanted = await createTenants(source, 5);
    const dir = await backupTo(source, [tenanted]);
    await using target = await startWeaviate();
    const restore = await denoTask(["restore", "pipelines/restore.yaml"], serverEnv(target, dir));
    assert.equal(restore.code, 0, restore.stderr);
    // One object of the COLD tenant changed behind weft's back.
    const path = `/v1/schema/${tenanted}/tenants`;
    await rest(target, "PUT", path, [{ name: "omega", activityStatus: "HOT" }]);
    const one = await listAll(target, tenanted, "omega");
    const id = [...one.keys()][0]!;
    await rest(target, "PATCH", `/v1/objects/${tenanted}/${id}?tenant=omega`, {
      class: tenanted,
      tenant: "omega",
      properties: { n: 999 },
    });
    await rest(target, "PUT", path, [{ name: "omega", activityStatus: "COLD" }]);

    const verify = await denoTask(["verify", dir, "--against", target.url], {});
    assert.equal(verify.code, 1, verify.stderr);
    assert.match(verify.stderr, new RegExp(id));
    assert.doesNotMatch(verify.stderr, /cleanup failed/);
    assert.deepEqual(await tenantStatuses(target, tenanted), { alpha: "HOT", omega: "COLD" });
  },
});

Deno.test({
  name:
    "a reference to an object deleted at the source is left out and named; the object keeps the others",
  ...integration,
  async fn() {
    const authors = uniqueName("Authors");
    const books = uniqueName("Books");
    await rest(source, "POST", "/v1/schema", { class: authors, vectorizer: "none" });
    await rest(source, "POST", "/v1/schema", {
      class: books,
      vectorizer: "none",
      properties: [{ name: "by", dataType: [authors] }],
    });
    const [kept, gone, book] = [crypto.randomUUID(), crypto.randomUUID(), crypto.randomUUID()];
    await rest(source, "POST", "/v1/batch/objects", {
      objects: [{ class: authors, id: kept }, { class: authors, id: gone }],
    });
    await rest(source, "POST", "/v1/batch/objects", {
      objects: [{
        class: books,
        id: book,
        properties: {
          by: [
            { beacon: `weaviate://localhost/${authors}/${gone}` },
            { beacon: `weaviate://localhost/${authors}/${kept}` },
          ],
        },
      }],
    });
    // Weaviate keeps the reference to a deleted object.
    await rest(source, "DELETE", `/v1/objects/${authors}/${gone}`);
    const dir = await backupTo(source, [authors, books]);

    await using target = await startWeaviate();
    const run = await denoTask(["restore", "pipelines/restore.yaml"], serverEnv(target, dir));
    assert.equal(run.code, 1, run.stderr);
    assert.match(
      run.stderr,
      new RegExp(
        `1 references point at objects that are not in the copy .*${books}/${book}\\.by → ${authors}/${gone}`,
      ),
    );
    const restored = (await listAll(target, books)).get(book)!.properties;
    assert.deepEqual(restored.by, [
      { beacon: `weaviate://localhost/${authors}/${kept}`, href: `/v1/objects/${authors}/${kept}` },
    ]);
    assert.match(run.stderr + run.stdout, /objects\s+2 \(/);

    await using again = await startWeaviate();
    const accepted = await denoTask(
      ["restore", "pipelines/restore.yaml", "--set", "sink.with.danglingReferences=drop"],
      serverEnv(again, dir),
    );
    assert.equal(accepted.code, 0, accepted.stderr);
    assert.match(accepted.stderr, /1 references were left out/);
  },
});

Deno.test({
  name: "clear deletes the objects of a COLD tenant too, says how many, and leaves it COLD",
  ...integration,
  async fn() {
    const tenanted = await createTenants(source, 30);
    const run = await denoTask(
      ["clear", "pipelines/clear.yaml", "--yes", "--set", "sink.with.strategy=delete"],
      { WEAVIATE_URL: source.url, COLLECTION: tenanted },
    );
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, new RegExp(`deleted 60 objects of "${tenanted}"`));
    assert.deepEqual(await tenantStatuses(source, tenanted), { alpha: "HOT", omega: "COLD" });
    await rest(source, "PUT", `/v1/schema/${tenanted}/tenants`, [{
      name: "omega",
      activityStatus: "HOT",
    }]);
    assert.equal((await listAll(source, tenanted, "omega")).size, 0);
    assert.equal((await listAll(source, tenanted, "alpha")).size, 0);
  },
});

Deno.test({
  name: "verify --tenants checks a restore whose tenants were renamed",
  ...integration,
  async fn() {
    const tenanted = await createTenants(source, 5);
    const dir = await backupTo(source, [tenanted]);
    await using target = await startWeaviate();
    const restore = await denoTask(
      ["restore", "pipelines/restore.yaml", "--set", "sink.with.tenants={omega: omega2}"],
      serverEnv(target, dir),
    );
    assert.equal(restore.code, 0, restore.stderr);
    assert.deepEqual(await tenantStatuses(target, tenanted), { alpha: "HOT", omega2: "COLD" });
    const plain = await denoTask(["verify", dir, "--against", target.url], {});
    assert.equal(plain.code, 1, plain.stderr);
    const mapped = await denoTask(
      ["verify", dir, "--against", target.url, "--tenants", "omega=omega2"],
      {},
    );
    assert.equal(mapped.code, 0, mapped.stderr);
  },
});
