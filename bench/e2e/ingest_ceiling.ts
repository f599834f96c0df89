/**
 * The server's ingest ceiling, run as a child process: every gRPC
 * `BatchObjects` request of the dataset is encoded up front (weft's
 * {@linkcode GrpcBatcher} encoding), then only sending them is timed, with
 * `--concurrency` requests in flight and no other client work. Reports the
 * timed phase's wall and CPU seconds to the driver.
 *
 *   deno run -A bench/e2e/ingest_ceiling.ts --spec '{"name":"articles",…}' --url U \
 *     --grpc-url G --collection C [--concurrency 2] [--batch 500]
 * @module
 */
import { parseArgs } from "node:util";
import { dataset, type DatasetSpec } from "./datasets.ts";
import { batcher, createCollection, encodeRange, sendAll } from "./ingest.ts";
import { report } from "./measure.ts";
import { cpuSeconds } from "./server.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    spec: { type: "string" },
    url: { type: "string" },
    "grpc-url": { type: "string" },
    collection: { type: "string" },
    concurrency: { type: "string", default: "2" },
    batch: { type: "string", default: "500" },
  },
});
const data = dataset(JSON.parse(values.spec!) as DatasetSpec);
const target = { url: values.url!, grpcUrl: values["grpc-url"]! };
const collection = values.collection!;
await createCollection(target, data, collection);
const grpc = batcher(target);
await grpc.ready(10_000);
const requests = encodeRange(grpc, data, collection, 0, data.objects, Number(values.batch));
const bytes = requests.reduce((sum, r) => sum + r.body.length, 0);

const cpuBefore = await cpuSeconds(Deno.pid);
const started = performance.now();
const objects = await sendAll(grpc, requests, Number(values.concurrency));
const wall = (performance.now() - started) / 1000;
const cpuAfter = await cpuSeconds(Deno.pid);
grpc.close();
report({
  objects,
  wall,
  bytes,
  ...(cpuBefore !== undefined && cpuAfter !== undefined ? { cpu: cpuAfter - cpuBefore } : {}),
});
