/**
 * A collection the writer writes to, as the rest of the writer sees it.
 * @module
 */
import type { CollectionMessage } from "../../src/messages.ts";
import type { PluginContext } from "../../src/plugin.ts";
import type { WeaviateConnection } from "../_shared/weaviate.ts";
import { WritePlan } from "../_shared/write_plan.ts";
import type { InsertTarget } from "./inserts.ts";
import type { PreparedTarget } from "./schema.ts";
import { TargetTenants } from "./tenants.ts";

/** One target collection; the writer keys them by their source name. */
export interface Target extends InsertTarget {
  /** The name at the source (the core and the run summary count by it). */
  source: string;
  /** `mode: skip-existing` into an existing collection: insert only new UUIDs. */
  skipExisting: boolean;
  /** Whether objects may have been there before this run (counts can only grow). */
  preexisting: boolean;
  /** Aliases recorded at the source, to create once the copy checks out. */
  aliases: string[];
  tenants: TargetTenants;
}

/** The target of `message`'s collection, created (or kept) as `prepared` says. */
export function targetOf(
  message: CollectionMessage,
  prepared: PreparedTarget,
  options: { mode: string; restoreAliases: boolean; renames: ReadonlyMap<string, string> },
  conn: WeaviateConnection,
  ctx: PluginContext,
): Target {
  const { name } = prepared;
  const renamed = name !== message.collection;
  if (options.restoreAliases && renamed && message.aliases?.length) {
    ctx.log.info(
      `not creating aliases ${
        message.aliases.join(", ")
      } of "${message.collection}": it is written as "${name}"`,
    );
  }
  return {
    name,
    source: message.collection,
    plan: new WritePlan(prepared.definition, options.renames),
    skipExisting: prepared.exists && options.mode === "skip-existing",
    preexisting: prepared.exists,
    aliases: options.restoreAliases && !renamed ? message.aliases ?? [] : [],
    tenants: new TargetTenants(conn, name, ctx),
  };
}
