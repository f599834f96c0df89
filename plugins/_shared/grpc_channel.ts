/**
 * One gRPC channel to a Weaviate, shared by the calls weft makes over it
 * (`BatchObjects`, `Search`): the address, credentials and headers, and a
 * unary call on raw bytes that stops when its signal aborts.
 * @module
 */
import { Buffer } from "node:buffer";
import * as grpc from "@grpc/grpc-js";
import type { ConnectionConfig } from "./weaviate.ts";

/** A channel for unary calls of already encoded messages. */
export class GrpcChannel {
  readonly client: grpc.Client;
  /** `host:port`, for messages. */
  readonly address: string;
  #metadata = new grpc.Metadata();

  constructor(address: URL, config: Pick<ConnectionConfig, "apiKey" | "headers">) {
    const secure = address.protocol === "https:";
    this.address = `${address.hostname}:${address.port || (secure ? "443" : "80")}`;
    this.client = new grpc.Client(
      this.address,
      secure ? grpc.credentials.createSsl() : grpc.credentials.createInsecure(),
      { "grpc.max_send_message_length": -1, "grpc.max_receive_message_length": -1 },
    );
    for (const [key, value] of Object.entries(config.headers)) {
      this.#metadata.set(key.toLowerCase(), value);
    }
    if (config.apiKey) this.#metadata.set("authorization", `Bearer ${config.apiKey}`);
  }

  /**
   * Calls `method` with the encoded `request`; resolves with the encoded
   * reply, rejects with grpc-js's `ServiceError` (or the signal's reason).
   */
  unary(method: string, request: Uint8Array, signal: AbortSignal): Promise<Uint8Array> {
    return new Promise((resolve, reject) => {
      if (signal.aborted) return reject(signal.reason);
      const call = this.client.makeUnaryRequest<Uint8Array, Uint8Array>(
        method,
        // grpc-js copies the message with Buffer methods, which a plain Uint8Array lacks.
        (body) =>
          Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength),
        (reply) => reply,
        request,
        this.#metadata,
        {},
        (error, reply) => {
          signal.removeEventListener("abort", onAbort);
          if (signal.aborted) return reject(signal.reason);
          if (error) return reject(error);
          resolve(reply!);
        },
      );
      const onAbort = () => call.cancel();
      signal.addEventListener("abort", onAbort, { once: true });
    });
  }

  close(): void {
    this.client.close();
  }
}
