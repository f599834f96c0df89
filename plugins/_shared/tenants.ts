/**
 * Tenant activity status, one way for every Weaviate plugin: which statuses
 * can be read and written (`HOT`/`ACTIVE` alike, `COLD`/`INACTIVE` alike), and
 * "make a tenant HOT, put its status back later" with a put-back that still
 * reaches the server when the run failed or was cancelled.
 * @module
 */
import { messageOf, ServerError } from "../../src/errors.ts";
import type { TenantInfo } from "../../src/messages.ts";
import type { Cache, PluginContext } from "../../src/plugin.ts";
import { retry } from "../../src/retry.ts";
import { retryThroughRestart } from "./restart.ts";
import type { WeaviateConnection } from "./weaviate.ts";

/** Whether objects of a tenant with `status` can be read and written. */
export function isActive(status: string | undefined): boolean {
  const s = status?.toUpperCase();
  return s === "HOT" || s === "ACTIVE";
}

/** Whether `status` is the inactive-but-local state (`COLD`, or `INACTIVE` in newer APIs). */
export function isCold(status: string | undefined): boolean {
  const s = status?.toUpperCase();
  return s === "COLD" || s === "INACTIVE";
}

/** REST path of a collection's tenants. */
export const tenantsPath = (collection: string) =>
  `/v1/schema/${encodeURIComponent(collection)}/tenants`;

/** Cache key of a collection's tenants on one server (plugins of a run may talk to several). */
const tenantsKey = (conn: WeaviateConnection) => `tenants@${conn.url}`;

/**
 * A collection's tenants with their activity status, through the run's cache:
 * the reader, the clearer and the verifier of a run share one look-up. Only
 * for a collection the run has seen exist (a 404 is retried as a restart).
 * Whoever changes the tenants (creates them, sets a status) calls
 * {@linkcode tenantsChanged}; {@linkcode putTenantStatus} and
 * {@linkcode activateForRead} do.
 */
export async function listTenants(
  conn: WeaviateConnection,
  collection: string,
  ctx: PluginContext,
): Promise<TenantInfo[]> {
  const tenants = await ctx.cache.fetch(
    collection,
    tenantsKey(conn),
    async () =>
      (await retryThroughRestart(
        ctx,
        (signal) => conn.rest<TenantInfo[]>("GET", tenantsPath(collection), undefined, { signal }),
      ))
        .map(({ name, activityStatus }) => ({ name, activityStatus })),
  );
  // Copies: callers may change what they get.
  return tenants.map((t) => ({ ...t }));
}

/** One tenant of `collection`, or undefined when it does not exist (see {@linkcode listTenants}). */
export async function findTenant(
  conn: WeaviateConnection,
  collection: string,
  tenant: string,
  ctx: PluginContext,
): Promise<TenantInfo | undefined> {
  return (await listTenants(conn, collection, ctx)).find((t) => t.name === tenant);
}

/** The tenants of `collection` changed (created, deleted, status set): forget the cached list. */
export function tenantsChanged(
  conn: WeaviateConnection,
  collection: string,
  ctx: { cache?: Cache },
): void {
  ctx.cache?.delete(collection, tenantsKey(conn));
}

/**
 * Sets tenants' activity status with a signal of its own and a few tries, so
 * that it works in a cleanup after the run's signal was aborted. Throws an
 * error naming the tenants it could not set.
 */
export async function putTenantStatus(
  conn: WeaviateConnection,
  collection: string,
  tenants: TenantInfo[],
  ctx: Pick<PluginContext, "log"> & { cache?: Cache },
): Promise<void> {
  if (tenants.length === 0) return;
  const body = tenants.map(({ name, activityStatus }) => ({ name, activityStatus }));
  try {
    await retry((signal) => conn.rest("PUT", tenantsPath(collection), body, { signal }), {
      // About 30 s in all: long enough to ride out a server restart.
      attempts: 8,
      minDelayMs: 250,
      maxDelayMs: 8_000,
      timeoutMs: 30_000,
      onRetry: (error, attempt) =>
        ctx.log.warn(`retrying to set tenant status after: ${messageOf(error)}`, { attempt }),
    });
  } catch (error) {
    const names = tenants.map((t) => `"${t.name}" to ${t.activityStatus}`).join(", ");
    throw new ServerError(
      `Cannot set tenant ${names} of "${collection}": ${messageOf(error)}; set it by hand`,
      { retryable: false },
    );
  } finally {
    // Even a failed PUT may have set some.
    tenantsChanged(conn, collection, ctx);
  }
}

/** A tenant made readable for a while; `release()` puts its status back (once). */
export interface TenantLease {
  release(): Promise<void>;
}

const NOTHING_TO_RELEASE: TenantLease = { release: () => Promise.resolve() };

/**
 * Makes `tenant` readable according to `policy`: an active tenant as it is; a
 * COLD one is set HOT (`activate`), left out (`skip`: resolves undefined) or
 * refused (`fail`). Its status is put back by `release()`, or when the run
 * ends however it ends.
 */
export async function activateForRead(
  conn: WeaviateConnection,
  collection: string,
  tenant: TenantInfo,
  policy: "activate" | "skip" | "fail",
  ctx: PluginContext,
): Promise<TenantLease | undefined> {
  const status = tenant.activityStatus.toUpperCase();
  if (isActive(status)) return NOTHING_TO_RELEASE;
  const where = `tenant "${tenant.name}" of "${collection}" is ${status}`;
  if (policy === "skip") {
    ctx.log.warn(`skipping ${where}: its objects are not read`);
    ctx.metrics.add("tenantsSkipped");
    return undefined;
  }
  if (policy === "fail" || !isCold(status)) {
    throw new ServerError(
      `Cannot read ${where}; activate it first or set inactiveTenants: ${
        isCold(status) ? "activate or " : ""
      }skip`,
      { retryable: false },
    );
  }
  ctx.log.info(`${where}: activating it for the read; it is set back to ${status} afterwards`);
  let released: Promise<void> | undefined;
  const lease: TenantLease = {
    release: () =>
      released ??= putTenantStatus(conn, collection, [{
        name: tenant.name,
        activityStatus: tenant.activityStatus,
      }], ctx),
  };
  // Registered before activating: a run cancelled during the PUT still puts it back.
  ctx.onClose(() => lease.release());
  try {
    await retryThroughRestart(
      ctx,
      (signal) =>
        conn.rest("PUT", tenantsPath(collection), [{ name: tenant.name, activityStatus: "HOT" }], {
          signal,
        }),
    );
  } finally {
    tenantsChanged(conn, collection, ctx);
  }
  return lease;
}
