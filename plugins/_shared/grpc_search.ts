/**
 * Weaviate's gRPC `Search` call for listing objects (`after` cursor + limit):
 * the request, and the reply's messages for a decoder to read
 * (`plugins/weaviate_reader/search_reply.ts`).
 *
 * Only the fields a listing needs are described, by field number, from
 * Weaviate's `grpc/proto/v1/search_get.proto`, `properties.proto` and
 * `base.proto`.
 * @module
 */
import * as grpc from "@grpc/grpc-js";
import protobuf from "protobufjs";
import { ServerError } from "../../src/errors.ts";
import { isTransient } from "../../src/retry.ts";
import type { ConnectionConfig } from "./weaviate.ts";
import { GrpcChannel } from "./grpc_channel.ts";
import { VECTORS_MESSAGE } from "./grpc_vectors.ts";

/** `weaviate.v1.Value`'s fields, every one a case of its `kind`. */
const VALUE_FIELDS = {
  numberValue: { type: "double", id: 1 },
  boolValue: { type: "bool", id: 3 },
  objectValue: { type: "Properties", id: 4 },
  listValue: { type: "ListValue", id: 5 },
  dateValue: { type: "string", id: 6 },
  uuidValue: { type: "string", id: 7 },
  intValue: { type: "int64", id: 8 },
  geoValue: { type: "GeoCoordinate", id: 9 },
  blobValue: { type: "string", id: 10 },
  phoneValue: { type: "PhoneNumber", id: 11 },
  nullValue: { type: "int32", id: 12 },
  textValue: { type: "string", id: 13 },
};

/** `weaviate.v1.ListValue`'s fields, every one a case of its `kind`. */
const LIST_VALUE_FIELDS = {
  numberValues: { type: "BytesList", id: 2 },
  boolValues: { type: "BoolList", id: 3 },
  objectValues: { type: "ObjectList", id: 4 },
  dateValues: { type: "StringList", id: 5 },
  uuidValues: { type: "StringList", id: 6 },
  intValues: { type: "BytesList", id: 7 },
  textValues: { type: "StringList", id: 8 },
};

/** A message whose fields are the cases of one `kind`. */
const oneOf = (fields: Record<string, protobuf.IField>) => ({
  oneofs: { kind: { oneof: Object.keys(fields) } },
  fields,
});

const root = protobuf.Root.fromJSON({
  nested: {
    weaviate: {
      nested: {
        v1: {
          nested: {
            SearchRequest: {
              fields: {
                collection: { type: "string", id: 1 },
                tenant: { type: "string", id: 10 },
                properties: { type: "PropertiesRequest", id: 20 },
                metadata: { type: "MetadataRequest", id: 21 },
                limit: { type: "uint32", id: 30 },
                after: { type: "string", id: 33 },
                uses127Api: { type: "bool", id: 102 },
              },
            },
            MetadataRequest: {
              fields: {
                uuid: { type: "bool", id: 1 },
                vector: { type: "bool", id: 2 },
                creationTimeUnix: { type: "bool", id: 3 },
                lastUpdateTimeUnix: { type: "bool", id: 4 },
                vectors: { rule: "repeated", type: "string", id: 10 },
              },
            },
            PropertiesRequest: {
              fields: {
                nonRefProperties: { rule: "repeated", type: "string", id: 1 },
                objectProperties: { rule: "repeated", type: "ObjectPropertiesRequest", id: 3 },
              },
            },
            ObjectPropertiesRequest: {
              fields: {
                propName: { type: "string", id: 1 },
                primitiveProperties: { rule: "repeated", type: "string", id: 2 },
                objectProperties: { rule: "repeated", type: "ObjectPropertiesRequest", id: 3 },
              },
            },
            SearchReply: {
              fields: { results: { rule: "repeated", type: "SearchResult", id: 2 } },
            },
            SearchResult: {
              fields: {
                properties: { type: "PropertiesResult", id: 1 },
                metadata: { type: "MetadataResult", id: 2 },
              },
            },
            MetadataResult: {
              fields: {
                id: { type: "string", id: 1 },
                creationTimeUnix: { type: "int64", id: 3 },
                creationTimeUnixPresent: { type: "bool", id: 4 },
                lastUpdateTimeUnix: { type: "int64", id: 5 },
                lastUpdateTimeUnixPresent: { type: "bool", id: 6 },
                vectorBytes: { type: "bytes", id: 19 },
                vectors: { rule: "repeated", type: "Vectors", id: 23 },
              },
            },
            Vectors: VECTORS_MESSAGE,
            PropertiesResult: {
              fields: {
                refProps: { rule: "repeated", type: "RefPropertiesResult", id: 2 },
                targetCollection: { type: "string", id: 3 },
                metadata: { type: "MetadataResult", id: 4 },
                nonRefProps: { type: "Properties", id: 11 },
              },
            },
            RefPropertiesResult: {
              fields: {
                properties: { rule: "repeated", type: "PropertiesResult", id: 1 },
                propName: { type: "string", id: 2 },
              },
            },
            Properties: {
              // A map field (protobufjs reads `keyType`, which its JSON types leave out).
              fields: { fields: { keyType: "string", type: "Value", id: 1 } as protobuf.IField },
            },
            Value: oneOf(VALUE_FIELDS),
            ListValue: oneOf(LIST_VALUE_FIELDS),
            BytesList: { fields: { values: { type: "bytes", id: 1 } } },
            BoolList: { fields: { values: { rule: "repeated", type: "bool", id: 1 } } },
            StringList: { fields: { values: { rule: "repeated", type: "string", id: 1 } } },
            ObjectList: { fields: { values: { rule: "repeated", type: "Properties", id: 1 } } },
            GeoCoordinate: {
              fields: { longitude: { type: "float", id: 1 }, latitude: { type: "float", id: 2 } },
            },
            PhoneNumber: {
              fields: {
                countryCode: { type: "uint64", id: 1 },
                defaultCountry: { type: "string", id: 2 },
                input: { type: "string", id: 3 },
                internationalFormatted: { type: "string", id: 4 },
                national: { type: "uint64", id: 5 },
                nationalFormatted: { type: "string", id: 6 },
                valid: { type: "bool", id: 7 },
              },
            },
          },
        },
      },
    },
  },
});

/** The messages described here (a decoder reads `weaviate.v1.SearchReply` with them). */
export const searchProtocol: protobuf.Root = root;
const SearchRequest = root.lookupType("weaviate.v1.SearchRequest");

/** A nested property to request, with its own nested properties. */
export interface ObjectSelection {
  name: string;
  primitive: string[];
  objects: ObjectSelection[];
}

/** What one listing asks for: every property and vector named explicitly. */
export interface SearchPlan {
  collection: string;
  /**
   * Non-reference, non-nested properties. References are not asked for: the
   * server resolves them, dropping dangling ones and mixing up multi-target
   * ones (see `grpc_listing.ts`).
   */
  primitive: string[];
  /** Nested (`object`, `object[]`) properties, each with every nested property. */
  objects: ObjectSelection[];
  /** Named vectors; the unnamed vector comes with any of them or alone. */
  vectors: string[];
  includeVectors: boolean;
}

/** Encodes one page request: `limit` objects after `after` (or from the first). */
export function encodeSearchRequest(
  plan: SearchPlan,
  page: { after?: string | undefined; limit: number; tenant?: string | undefined },
): Uint8Array {
  const nested = (o: ObjectSelection): Record<string, unknown> => ({
    propName: o.name,
    primitiveProperties: o.primitive,
    objectProperties: o.objects.map(nested),
  });
  return SearchRequest.encode({
    collection: plan.collection,
    ...(page.tenant === undefined ? {} : { tenant: page.tenant }),
    properties: {
      nonRefProperties: plan.primitive,
      objectProperties: plan.objects.map(nested),
    },
    metadata: {
      uuid: true,
      creationTimeUnix: true,
      lastUpdateTimeUnix: true,
      vector: plan.includeVectors,
      vectors: plan.includeVectors ? plan.vectors : [],
    },
    limit: page.limit,
    ...(page.after === undefined ? {} : { after: page.after }),
    uses127Api: true,
  }).finish();
}

/** A gRPC channel to one Weaviate for listing objects. */
export class GrpcSearcher {
  #channel: GrpcChannel;

  constructor(address: URL, config: Pick<ConnectionConfig, "apiKey" | "headers">) {
    this.#channel = new GrpcChannel(address, config);
  }

  /** `host:port`, for messages. */
  get address(): string {
    return this.#channel.address;
  }

  /** Sends one encoded `SearchRequest`; resolves with the encoded `SearchReply`. */
  async search(request: Uint8Array, signal: AbortSignal): Promise<Uint8Array> {
    try {
      return await this.#channel.unary("/weaviate.v1.Weaviate/Search", request, signal);
    } catch (error) {
      if (signal.aborted) throw error;
      throw searchError(error as grpc.ServiceError);
    }
  }

  close(): void {
    this.#channel.close();
  }
}

/** gRPC status codes a listing tells apart. */
export const GrpcStatus = grpc.status;

/** Whether `error` (from {@linkcode GrpcSearcher.search}) is a gRPC status `code`. */
export function grpcStatusOf(error: unknown): number | undefined {
  const cause = error instanceof ServerError ? error.cause : error;
  const code = (cause as { code?: unknown } | null)?.code;
  return typeof code === "number" ? code : undefined;
}

function searchError(error: grpc.ServiceError): ServerError {
  const detail = error.details || error.message;
  // Right after a restart the server answers this (UNKNOWN) until its schema is loaded: like
  // REST's 404, "not loaded yet" for a collection the run has read the definition of.
  const notLoaded = error.code === grpc.status.NOT_FOUND ||
    /could not find class \S+ in schema/i.test(detail);
  return new ServerError(`Cannot search over gRPC: ${detail}`, {
    cause: error,
    // A reply over the server's message limit fails the same way again: the caller asks for less.
    retryable: !/larger than max/i.test(detail) && isTransient(error),
    ...(notLoaded ? { status: 404 } : {}),
  });
}
