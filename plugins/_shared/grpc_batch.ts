/**
 * Inserts objects with Weaviate's gRPC `BatchObjects` call. Vectors travel as
 * raw little-endian float32 bytes; properties as a protobuf `Struct` holding
 * exactly the JSON values the REST API returned, so nothing is reshaped or
 * guessed on the way (the server validates them against the schema, as it
 * does for REST).
 *
 * Only the messages this call needs are described here, by field number, from
 * Weaviate's `grpc/proto/v1/batch.proto` and `base.proto`.
 * @module
 */
import * as grpc from "@grpc/grpc-js";
import protobuf from "protobufjs";
import { ServerError } from "../../src/errors.ts";
import { isTransient } from "../../src/retry.ts";
import type { WeftObject } from "../../src/messages.ts";
import type { GrpcReferences } from "./write_plan.ts";
import type { ConnectionConfig } from "./weaviate.ts";
import { GrpcChannel } from "./grpc_channel.ts";
import {
  multiVectorBytes,
  VECTOR_MULTI,
  VECTOR_SINGLE,
  vectorBytes,
  VECTORS_MESSAGE,
} from "./grpc_vectors.ts";

const root = new protobuf.Root();
root.addJSON(protobuf.common.get("google/protobuf/struct.proto")!.nested!);
root.addJSON({
  weaviate: {
    nested: {
      v1: {
        nested: {
          BatchObjectsRequest: {
            fields: { objects: { rule: "repeated", type: "BatchObject", id: 1 } },
          },
          BatchObject: {
            fields: {
              uuid: { type: "string", id: 1 },
              properties: { type: "Properties", id: 3 },
              collection: { type: "string", id: 4 },
              tenant: { type: "string", id: 5 },
              vectorBytes: { type: "bytes", id: 6 },
              vectors: { rule: "repeated", type: "Vectors", id: 23 },
            },
          },
          Properties: {
            fields: {
              nonRefProperties: { type: "google.protobuf.Struct", id: 1 },
              singleTargetRefProps: { rule: "repeated", type: "SingleTargetRefProps", id: 2 },
              multiTargetRefProps: { rule: "repeated", type: "MultiTargetRefProps", id: 3 },
              emptyListProps: { rule: "repeated", type: "string", id: 10 },
            },
          },
          SingleTargetRefProps: {
            fields: {
              uuids: { rule: "repeated", type: "string", id: 1 },
              propName: { type: "string", id: 2 },
            },
          },
          MultiTargetRefProps: {
            fields: {
              uuids: { rule: "repeated", type: "string", id: 1 },
              propName: { type: "string", id: 2 },
              targetCollection: { type: "string", id: 3 },
            },
          },
          Vectors: VECTORS_MESSAGE,
          BatchObjectsReply: {
            fields: {
              took: { type: "float", id: 1 },
              errors: { rule: "repeated", type: "BatchError", id: 2 },
            },
          },
          BatchError: {
            fields: { index: { type: "int32", id: 1 }, error: { type: "string", id: 2 } },
          },
        },
      },
    },
  },
});
const BatchObject = root.lookupType("weaviate.v1.BatchObject");
const BatchObjectsReply = root.lookupType("weaviate.v1.BatchObjectsReply");

/** Requests are split below this size, or below the server's own limit when that is smaller. */
const MAX_REQUEST_BYTES = 4 * 1024 * 1024;
/** A stream reset in transport (HTTP/2 RST_STREAM), reported as INTERNAL: worth another attempt. */
const TRANSPORT_RESET = /RST_STREAM|stream (was )?(reset|closed)/i;

/** What to send for one object. */
export interface BatchItem {
  collection: string;
  tenant?: string | undefined;
  object: WeftObject;
  withVectors: boolean;
  /** The object's references, sent inside its insert. */
  references?: GrpcReferences | undefined;
}

/** A failed object of a batch. */
export interface BatchFailure {
  id: string;
  error: string;
}

/** A gRPC channel to one Weaviate for batch inserts. */
export class GrpcBatcher {
  #channel: GrpcChannel;
  #maxBytes: number;
  /** Whether the channel was ever connected (then a later failure is not a wrong address). */
  #connected = false;

  /** `serverMaxBytes`: the server's `grpcMaxMessageSize` from `/v1/meta`, if it says. */
  constructor(
    address: URL,
    config: Pick<ConnectionConfig, "apiKey" | "headers">,
    serverMaxBytes?: number,
  ) {
    this.#channel = new GrpcChannel(address, config);
    this.#maxBytes = Math.min(MAX_REQUEST_BYTES, Math.floor((serverMaxBytes ?? Infinity) * 0.9));
  }

  /** Most bytes one request takes: 4 MiB, or 90 % of the server's limit when that is smaller. */
  get maxBytes(): number {
    return this.#maxBytes;
  }

  /**
   * Encodes `items` into as many requests as the size limit needs. Each
   * object is encoded straight into its request (no buffer of its own).
   */
  encode(items: BatchItem[]): { body: Uint8Array; ids: string[] }[] {
    const requests: { body: Uint8Array; ids: string[] }[] = [];
    let writer = protobuf.Writer.create();
    /** The start of the next request when an object did not fit into the last one. */
    let head: Uint8Array | undefined;
    let ids: string[] = [];
    const finish = () => {
      const tail = writer.finish();
      if (!head) return tail;
      const body = new Uint8Array(head.length + tail.length);
      body.set(head);
      body.set(tail, head.length);
      return body;
    };
    for (const item of items) {
      const before = writer.len;
      // Field 1 (objects), length-delimited.
      BatchObject.encode(toBatchObject(item), writer.uint32(10).fork()).ldelim();
      if (ids.length > 0 && (head?.length ?? 0) + writer.len > this.#maxBytes) {
        // Too big with this object: the ones before it go, the next request starts with it.
        const last = writer.len - before;
        const body = finish();
        const cut = body.length - last;
        requests.push({ body: body.subarray(0, cut), ids });
        head = body.slice(cut);
        writer = protobuf.Writer.create();
        ids = [];
      }
      ids.push(item.object.id);
    }
    if (ids.length) requests.push({ body: finish(), ids });
    return requests;
  }

  /** Sends one encoded request; resolves with the objects the server refused. */
  async send(
    request: { body: Uint8Array; ids: string[] },
    signal: AbortSignal,
  ): Promise<BatchFailure[]> {
    let reply: Uint8Array;
    try {
      reply = await this.#channel.unary("/weaviate.v1.Weaviate/BatchObjects", request.body, signal);
    } catch (error) {
      if (signal.aborted) throw error;
      throw this.#error(error as grpc.ServiceError);
    }
    const errors = (BatchObjectsReply.decode(reply) as unknown as {
      errors?: { index: number; error: string }[];
    })
      .errors ?? [];
    return errors.map((e) => ({ id: request.ids[e.index] ?? `#${e.index}`, error: e.error }));
  }

  #error(error: grpc.ServiceError): ServerError {
    const detail = error.details || error.message;
    const address = this.#channel.address;
    const hint = error.code !== grpc.status.UNAVAILABLE
      ? ""
      : this.#connected
      ? ` (Weaviate at ${address} stopped answering)`
      : ` (is ${address} Weaviate's gRPC port? set grpcUrl, or protocol: rest)`;
    return new ServerError(`Cannot insert over gRPC: ${detail}${hint}`, {
      // The cause keeps the status code, which tells an overloaded server apart.
      cause: error,
      retryable: !/larger than max/i.test(detail) &&
        (isTransient(error) ||
          (error.code === grpc.status.INTERNAL && TRANSPORT_RESET.test(detail))),
    });
  }

  /**
   * Waits until the channel is connected, so that a wrong address fails
   * before anything is written; throws naming the address.
   */
  ready(timeoutMs: number): Promise<void> {
    const channel = this.#channel.client.getChannel();
    const deadline = Date.now() + timeoutMs;
    const fail = (why: string) =>
      new ServerError(
        `Cannot connect to Weaviate's gRPC port at ${this.#channel.address}: ${why}; set grpcUrl to its gRPC address, or protocol: rest`,
        { retryable: false },
      );
    return new Promise((resolve, reject) => {
      const check = () => {
        const state = channel.getConnectivityState(true);
        if (state === grpc.connectivityState.READY) {
          this.#connected = true;
          return resolve();
        }
        // A refused connection shows at once; waiting longer would not change it.
        if (state === grpc.connectivityState.TRANSIENT_FAILURE) {
          return reject(fail("connection refused or unreachable"));
        }
        if (state === grpc.connectivityState.SHUTDOWN) return reject(fail("channel closed"));
        channel.watchConnectivityState(state, deadline, (error) => {
          if (error) reject(fail(`no answer within ${timeoutMs / 1000} s`));
          else check();
        });
      };
      check();
    });
  }

  close(): void {
    this.#channel.close();
  }
}

function toBatchObject({ collection, tenant, object, withVectors, references }: BatchItem) {
  const vectors = withVectors
    ? Object.entries(object.vectors)
      // An empty multi-vector is refused by the server ("dimension cannot be 0"): leave it out.
      .filter(([, vector]) => !Array.isArray(vector) || vector.length > 0)
      .map(([name, vector]) =>
        Array.isArray(vector)
          ? { name, vectorBytes: multiVectorBytes(name, vector), type: VECTOR_MULTI }
          : { name, vectorBytes: vectorBytes(vector as Float32Array), type: VECTOR_SINGLE }
      )
    : [];
  return {
    uuid: object.id,
    collection,
    ...(tenant === undefined ? {} : { tenant }),
    properties: {
      nonRefProperties: toStruct(object.properties),
      ...(references
        ? {
          singleTargetRefProps: references.single,
          multiTargetRefProps: references.multi,
          emptyListProps: references.empty,
        }
        : {}),
    },
    ...(withVectors && object.vector ? { vectorBytes: vectorBytes(object.vector) } : {}),
    vectors,
  };
}

type StructValue =
  | { nullValue: 0 }
  | { numberValue: number }
  | { stringValue: string }
  | { boolValue: boolean }
  | { structValue: { fields: Record<string, StructValue> } }
  | { listValue: { values: StructValue[] } };

function toStruct(value: Record<string, unknown>): { fields: Record<string, StructValue> } {
  const fields: Record<string, StructValue> = {};
  for (const [key, v] of Object.entries(value)) {
    if (v !== undefined) fields[key] = toValue(v);
  }
  return { fields };
}

function toValue(value: unknown): StructValue {
  if (value === null) return { nullValue: 0 };
  switch (typeof value) {
    case "number":
      return { numberValue: value };
    case "string":
      return { stringValue: value };
    case "boolean":
      return { boolValue: value };
    case "object":
      return Array.isArray(value)
        ? { listValue: { values: value.map(toValue) } }
        : { structValue: toStruct(value as Record<string, unknown>) };
    default:
      throw new Error(`Cannot send a ${typeof value} property value`);
  }
}
