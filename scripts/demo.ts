/**
 * `deno task demo`: starts a local Weaviate (unless WEAVIATE_URL is set),
 * loads a sample collection, backs it up with pipelines/backup.yaml exactly
 * as a user would (`deno task backup …`), prints the result, and stops the server.
 * @module
 */
import weaviate from "weaviate-client";
import { useWeaviate } from "../tests/harness/weaviate.ts";
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

const url = new URL(server.url);
const grpc = new URL(server.grpcUrl);
const client = await weaviate.connectToCustom({
  httpHost: url.hostname,
  httpPort: Number(url.port),
  grpcHost: grpc.hostname,
  grpcPort: Number(grpc.port),
  ...(server.apiKey ? { authCredentials: new weaviate.ApiKey(server.apiKey) } : {}),
});
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
console.log(
  `\n$ deno task backup pipelines/backup.yaml --set source.with.collections=[${COLLECTION}]\n`,
);
const run = await new Deno.Command(Deno.execPath(), {
  args: [
    "run",
    "--allow-all",
    new URL("../main.ts", import.meta.url).pathname,
    "run",
    new URL("../pipelines/backup.yaml", import.meta.url).pathname,
    "--set",
    `source.with.collections=[${COLLECTION}]`,
  ],
  env: {
    WEAVIATE_URL: server.url,
    WEAVIATE_GRPC_URL: server.grpcUrl,
    ...(server.apiKey ? { WEAVIATE_API_KEY: server.apiKey } : {}),
    BACKUP_PATH: backupPath,
  },
  stdout: "inherit",
  stderr: "inherit",
}).output();
if (!run.success) {
  console.error("weft demo: the backup failed");
  Deno.exit(1);
}

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
console.log(
  `\nWeaviate ${server.owned ? "stopped" : "left running"}; the backup stays in ${backupPath}.`,
);
