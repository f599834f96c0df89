/** The one place where the server versions used by tests, demo and benchmarks are pinned. */
import type { GoProgram } from "./go_install.ts";

/** Weaviate server, built from its Go module. */
export const WEAVIATE: GoProgram = {
  pkg: "github.com/weaviate/weaviate/cmd/weaviate-server",
  version: "v1.39.0",
  binary: "weaviate-server",
};

/**
 * MinIO server. The Go module proxy refuses MinIO's `RELEASE.*` tags (they are
 * not semantic versions), so this pins the newest commit the proxy serves.
 */
export const MINIO: GoProgram = {
  pkg: "github.com/minio/minio",
  version: "v0.0.0-20260212201848-7aac2a2c5b7c",
  binary: "minio",
};
