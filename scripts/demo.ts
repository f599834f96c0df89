/**
 * `deno task demo`: starts a local Weaviate (unless WEAVIATE_URL is set),
 * loads a sample collection, backs it up with pipelines/backup.yaml exactly
 * as a user would (`deno task backup …`), prints the result, restores the
 * backup under a new name, verifies it against the backup, and stops the server.
 * @module
 */
import { connectClient, useWeaviate } from "../tests/harness/weaviate.ts";
import { sampleArticles } from "./sample_data.ts";

const COLLECTION = "DemoArticles";
const COUNT = Number(Deno.env.get("DEMO_OBJECTS") ?? 5000);

const started = performance.now();
await using server = await useWeaviate();
console.log(
  `Weaviate ${server.owned ? "started" : "in use"} at ${server.url} (${
    ((performance.now() - started) / 1000).toFixed(1)
  } s)`,
);

const client = await connectClient(server);
try {
  if (await client.collections.exists(COLLECTION)) await client.collections.delete(COLLECTION);
  const loadStart = performance.now();
  const n = await sampleArticles(client, COLLECTION, COUNT);
  console.log(
    `Loaded ${n} objects into "${COLLECTION}" (text, int, number, date, boolean, 64-dim vector) in ${
      ((performance.now() - loadStart) / 1000).toFixed(1)
    } s`,
  );
} finally {
  await client.close();
}

const backupPath = await Deno.makeTempDir({ prefix: "weft-demo-backup-" });
const env = {
  WEAVIATE_URL: server.url,
  WEAVIATE_GRPC_URL: server.grpcUrl,
  ...(server.apiKey ? { WEAVIATE_API_KEY: server.apiKey } : {}),
  BACKUP_PATH: backupPath,
};

/** Runs `deno task <task> <args>` as a user would, printing the command and its output. */
async function task(task: string, args: string[]): Promise<void> {
  console.log(`\n$ deno task ${task} ${args.join(" ")}\n`);
  const run = await new Deno.Command(Deno.execPath(), {
    args: ["task", "--quiet", task, ...args],
    cwd: new URL("..", import.meta.url).pathname,
    env,
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  if (!run.success) throw new Error(`weft demo: deno task ${task} failed (exit ${run.code})`);
}

const RESTORED = `${COLLECTION}Restored`;
await task("backup", ["pipelines/backup.yaml", "--set", `source.with.collections=[${COLLECTION}]`]);

const manifest = JSON.parse(await Deno.readTextFile(`${backupPath}/manifest.json`));
console.log(`\nBackup in ${backupPath}:`);
console.log(
  `  manifest.json  format ${manifest.format} v${manifest.formatVersion}, Weaviate ${manifest.source.version}`,
);
for (const file of manifest.files) {
  console.log(
    `  ${file.path}  ${file.objects} objects, ${file.bytes} bytes, sha256 ${
      file.sha256.slice(0, 16)
    }…`,
  );
}

await task("restore", ["pipelines/restore.yaml", "--set", `sink.with.collection=${RESTORED}`]);
await task("verify", [backupPath, "--against", server.url, "--as", RESTORED]);

if (!server.owned) {
  await fetch(`${server.url}/v1/schema/${RESTORED}`, {
    method: "DELETE",
    headers: server.apiKey ? { authorization: `Bearer ${server.apiKey}` } : {},
  }).then((res) => res.body?.cancel());
}
console.log(
  `\nWeaviate ${server.owned ? "stopped" : "left running"}; the backup stays in ${backupPath}.`,
);
