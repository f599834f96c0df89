/**
 * The tenants of one target collection: created (or activated) HOT so that
 * objects can be written, then set to the status recorded at the source once
 * loading is done — also when the run failed or was cancelled.
 * @module
 */
import type { TenantInfo } from "../../src/messages.ts";
import type { PluginContext } from "../../src/plugin.ts";
import { isActive, isCold, putTenantStatus, tenantsPath } from "../_shared/tenants.ts";
import type { WeaviateConnection } from "../_shared/weaviate.ts";

/** Tenants created per request. */
const CREATE_CHUNK = 100;

/** Tenants of one target collection, by target tenant name. */
export class TargetTenants {
  /** Tenant → status it ends with. */
  #final = new Map<string, string>();
  #existing: Promise<Map<string, string>> | undefined;
  #ready = new Map<string, Promise<void>>();
  #restored: Promise<void> | undefined;
  #cleanup = false;

  constructor(
    readonly conn: WeaviateConnection,
    readonly collection: string,
    readonly ctx: PluginContext,
  ) {}

  /**
   * Makes `tenants` (target names, statuses recorded at the source) writable:
   * creates the missing ones HOT and activates inactive ones. A tenant added
   * twice is made writable once.
   */
  async add(tenants: TenantInfo[]): Promise<void> {
    const fresh = tenants.filter((t) => !this.#ready.has(t.name));
    if (fresh.length === 0) {
      await Promise.all(tenants.map((t) => this.#ready.get(t.name)));
      return;
    }
    const done = this.#add(fresh);
    for (const t of fresh) this.#ready.set(t.name, done);
    await done;
  }

  async #add(tenants: TenantInfo[]): Promise<void> {
    const path = tenantsPath(this.collection);
    const existing =
      await (this.#existing ??= this.ctx.retry(() => this.conn.rest<TenantInfo[]>("GET", path))
        .then((list) => new Map(list.map((t) => [t.name, t.activityStatus]))));
    const create: TenantInfo[] = [];
    const activate: TenantInfo[] = [];
    for (const tenant of tenants) {
      // The status recorded at the source wins, also over a tenant a crashed run left HOT.
      this.#final.set(tenant.name, this.#finalStatus(tenant));
      const now = existing.get(tenant.name);
      if (now === undefined) create.push({ name: tenant.name, activityStatus: "HOT" });
      else if (!isActive(now)) activate.push({ name: tenant.name, activityStatus: "HOT" });
      existing.set(tenant.name, "HOT");
    }
    if (!this.#cleanup) {
      // Registered before anything changes: a failed or cancelled run still sets the statuses.
      this.#cleanup = true;
      this.ctx.onClose(() => this.restore());
    }
    for (let i = 0; i < create.length; i += CREATE_CHUNK) {
      const chunk = create.slice(i, i + CREATE_CHUNK);
      await this.ctx.retry(() => this.conn.rest("POST", path, chunk));
    }
    if (activate.length) await this.ctx.retry(() => this.conn.rest("PUT", path, activate));
  }

  /** The status a tenant ends with: its recorded one, where Weaviate can set it. */
  #finalStatus(tenant: TenantInfo): string {
    if (isActive(tenant.activityStatus)) return "HOT";
    if (!isCold(tenant.activityStatus)) {
      this.ctx.log.warn(
        `tenant "${tenant.name}" of "${this.collection}" was ${tenant.activityStatus} at the source; it is left COLD`,
      );
    }
    return "COLD";
  }

  /** Sets every tenant to the status it ends with, once; works after a cancelled run too. */
  restore(): Promise<void> {
    return this.#restored ??= (async () => {
      await Promise.allSettled(this.#ready.values());
      const tenants = [...this.#final].filter(([, s]) => !isActive(s))
        .map(([name, activityStatus]) => ({ name, activityStatus }));
      await putTenantStatus(this.conn, this.collection, tenants, this.ctx);
    })();
  }
}
