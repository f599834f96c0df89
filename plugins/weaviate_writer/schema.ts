/**
 * The writer's collections: every definition checked before anything is
 * written, renames and overrides applied, `mode` enforced (`replace` only
 * once confirmed), collections created after the ones their references point
 * at, and a `POST /v1/schema` whose retry finds the collection already there
 * accepted when what is there is what was sent.
 * @module
 */
import { messageOf, ServerError } from "../../src/errors.ts";
import type { CollectionMessage } from "../../src/messages.ts";
import type { PluginContext } from "../../src/plugin.ts";
import {
  applyOverrides,
  type Definition,
  definitionDifferences,
  isReference,
  prepareDefinition,
} from "../_shared/definition.ts";
import { countObjects } from "../_shared/graphql.ts";
import type { WeaviateConnection } from "../_shared/weaviate.ts";

/** The options of `weaviate-writer` that shape its collections. */
export interface SchemaOptions {
  collection?: string | undefined;
  mode: "fail" | "skip-existing" | "overwrite" | "replace";
  overrides: Record<string, unknown>;
  forceSchema: boolean;
}

/** What the target server offers, from `/v1/meta` and `/v1/nodes`. */
export interface ServerFacts {
  modules: ReadonlySet<string>;
  nodes: number | undefined;
}

/** A collection ready for its objects. */
export interface PreparedTarget {
  name: string;
  /** The definition it was created with (or would have been, when it existed). */
  definition: Definition;
  /** Whether it existed (and was not replaced). */
  exists: boolean;
}

type Property = NonNullable<Definition["properties"]>[number];

export const schemaPath = (name: string) => `/v1/schema/${encodeURIComponent(name)}`;

/** Creates the writer's collections. */
export class Schema {
  /** Source → target collection names. */
  readonly renames = new Map<string, string>();
  /** Target name → source definition, for every collection the input announced. */
  #planned = new Map<string, Definition>();
  /** Target name → its definition when the run began (null: it did not exist), looked up once. */
  #atStart = new Map<string, Definition | null>();
  #seen = new Set<string>();
  #confirmed = new Map<string, Promise<boolean>>();
  #created = new Set<string>();
  #creating = new Set<string>();
  #later: { collection: string; property: Property; targets: string[] }[] = [];

  constructor(
    readonly conn: WeaviateConnection,
    readonly server: ServerFacts,
    readonly options: SchemaOptions,
    readonly ctx: PluginContext,
  ) {}

  /**
   * Checks every definition the source announced before anything is written,
   * and reports every problem at once: a run that would stop at its third
   * collection stops before the first.
   */
  async precheck(definitions: Definition[]): Promise<void> {
    const problems: string[] = [];
    const rename = this.#renameProblem(definitions.map((d) => d.class));
    if (rename) problems.push(rename);
    const renames = new Map(
      definitions.map((d) => [d.class, this.options.collection ?? d.class] as const),
    );
    for (const source of definitions) {
      const name = renames.get(source.class)!;
      try {
        this.#prepare(source, name, renames);
      } catch (error) {
        problems.push(messageOf(error).replace(/^Cannot create collection /, "collection "));
      }
      const refused = await this.#modeProblem(name, await this.#existing(name));
      if (refused) problems.push(refused);
    }
    if (problems.length) {
      throw new Error(
        `Cannot write to ${this.conn.url}, nothing was written: ${problems.join("; ")}`,
      );
    }
    for (const source of definitions) {
      const name = renames.get(source.class)!;
      this.renames.set(source.class, name);
      this.#planned.set(name, source);
    }
  }

  /** Creates (or replaces, or keeps) the collection of `message`, as `mode` says. */
  async collection(message: CollectionMessage): Promise<PreparedTarget> {
    this.#seen.add(message.collection);
    const rename = this.#renameProblem([...this.#seen]);
    if (rename) throw new Error(`Cannot rename: ${rename}`);
    const name = this.options.collection ?? message.collection;
    this.renames.set(message.collection, name);
    // Created already by this run, as the target of another collection's references.
    const exists = !this.#created.has(name) && await this.#existing(name) !== null;
    const refused = await this.#modeProblem(name, exists ? await this.#existing(name) : null);
    if (refused) throw new Error(`Cannot write to "${name}": ${refused}`);
    const source = message.definition as Definition;
    const { definition, changes } = this.#prepare(source, name, this.renames);
    for (const change of changes) this.ctx.log.warn(`forceSchema: ${change}`, { collection: name });
    if (!exists) await this.#create(name, definition);
    else if (this.options.mode === "replace") {
      this.ctx.log.warn(`replacing collection "${name}": dropping it and creating it anew`);
      await this.ctx.retry(() => this.conn.rest("DELETE", schemaPath(name)));
      this.ctx.cache.definitionChanged(name);
      await this.#create(name, definition);
    } else this.ctx.log.info(`collection "${name}" exists; ${this.options.mode}`);
    return { name, definition, exists: exists && this.options.mode !== "replace" };
  }

  /**
   * Creates collection `name`, after the collections of this run that its
   * references point at (Weaviate refuses a reference to a collection it does
   * not hold). In a cycle, the reference that closes it is added once its
   * target exists.
   */
  async #create(name: string, definition: Definition): Promise<void> {
    if (this.#created.has(name)) return;
    this.#creating.add(name);
    const now: Property[] = [];
    for (const property of definition.properties ?? []) {
      const targets = isReference(property.dataType)
        ? property.dataType.filter((t) => t !== name)
        : [];
      if (targets.some((t) => this.#creating.has(t))) {
        this.#later.push({ collection: name, property, targets });
        continue;
      }
      for (const target of targets) await this.#createDependency(target, name, property.name);
      now.push(property);
    }
    const sent = { ...definition, properties: now };
    await this.#post(`collection "${name}"`, "/v1/schema", sent, async () => {
      return definitionDifferences(sent, await this.#get(name));
    });
    this.#creating.delete(name);
    this.#created.add(name);
    this.ctx.cache.definitionChanged(name);
    this.ctx.log.info(`created collection "${name}"`);
    for (const later of [...this.#later]) {
      if (!later.targets.every((t) => this.#created.has(t) || !this.#planned.has(t))) continue;
      this.#later.splice(this.#later.indexOf(later), 1);
      const { collection, property } = later;
      const path = `${schemaPath(collection)}/properties`;
      await this.#post(
        `property "${property.name}" of "${collection}"`,
        path,
        property,
        async () => {
          const properties = (await this.#get(collection))?.properties ?? [];
          return definitionDifferences([property], properties);
        },
      );
      this.ctx.cache.definitionChanged(collection);
      this.ctx.log.info(
        `added reference property "${property.name}" to "${collection}" after its target`,
      );
    }
  }

  /**
   * POSTs `body` to create `what`. When a retry (after an attempt whose
   * answer was lost) is refused as "already exists", the earlier attempt went
   * through: accepted if `differences()` finds none.
   */
  async #post(
    what: string,
    path: string,
    body: unknown,
    differences: () => Promise<string[]>,
  ): Promise<void> {
    let attempts = 0;
    try {
      await this.ctx.retry((signal, attempt) => {
        attempts = attempt;
        return this.conn.rest("POST", path, body, { signal });
      });
    } catch (error) {
      const exists = error instanceof ServerError && error.status === 422 &&
        /already exists/i.test(error.message);
      if (!exists) throw error;
      if (attempts <= 1) {
        throw new ServerError(
          `Cannot create ${what}: it was created by someone else while this run was writing (${
            messageOf(error)
          })`,
          { retryable: false },
        );
      }
      const differ = await differences();
      if (differ.length) {
        throw new ServerError(
          `Cannot create ${what}: a retried request found it already there, but different from what was sent (${
            differ.slice(0, 5).join(", ")
          }${differ.length > 5 ? ", …" : ""}); drop it or set mode: overwrite to keep it`,
          { retryable: false },
        );
      }
      this.ctx.log.info(`${what} was created by an earlier attempt whose answer was lost`);
    }
  }

  /** Creates `target` first when this run brings it and the server lacks it. */
  async #createDependency(target: string, from: string, property: string): Promise<void> {
    if (this.#created.has(target) || await this.#existing(target) !== null) return;
    const source = this.#planned.get(target);
    if (!source) {
      throw new Error(
        `Cannot create collection "${from}": its property "${property}" refers to "${target}", which the target server lacks and the input does not hold`,
      );
    }
    const { definition, changes } = this.#prepare(source, target, this.renames);
    for (const change of changes) {
      this.ctx.log.warn(`forceSchema: ${change}`, { collection: target });
    }
    await this.#create(target, definition);
  }

  /** Why `collection` cannot rename the input's collections, if it cannot. */
  #renameProblem(names: string[]): string | undefined {
    if (!this.options.collection || names.length < 2) return undefined;
    return `"collection" renames one collection, but the input holds ${names.length} (${
      names.join(", ")
    })`;
  }

  /** Why `mode` forbids writing into `name` (`existing`: its definition, or null), if it does. */
  async #modeProblem(name: string, existing: Definition | null): Promise<string | undefined> {
    if (existing === null) return undefined;
    if (this.options.mode === "fail") {
      return `"${name}" exists (set mode: skip-existing, overwrite or replace)`;
    }
    if (this.options.mode !== "replace") return undefined;
    let confirmed = this.#confirmed.get(name);
    if (!confirmed) this.#confirmed.set(name, confirmed = this.#confirmReplace(name, existing));
    if (await confirmed) return undefined;
    return `mode replace would drop "${name}" and its objects, and that was not confirmed (run with --yes, or type the collection's name when asked)`;
  }

  async #confirmReplace(name: string, existing: Definition): Promise<boolean> {
    const tenants = (existing.multiTenancyConfig as { enabled?: boolean } | undefined)?.enabled;
    const what = tenants
      ? `"${name}" with the objects of all its tenants`
      : `"${name}" with its ${await countObjects(this.conn, name, undefined, this.ctx)} objects`;
    const action = `Drop collection ${what}, and create it anew from the input's definition.`;
    if (await this.ctx.confirm({ action, expect: name })) return true;
    this.ctx.log.warn(`dry run: would drop ${what} and create it anew (confirm with --yes)`);
    return false;
  }

  #prepare(source: Definition, name: string, renames: ReadonlyMap<string, string>) {
    return prepareDefinition(applyOverrides(source, this.options.overrides), {
      name,
      renames,
      modules: this.server.modules,
      nodes: this.server.nodes,
      version: this.conn.version,
      force: this.options.forceSchema,
    });
  }

  /** `name`'s definition when the run began, or null. */
  async #existing(name: string): Promise<Definition | null> {
    if (!this.#atStart.has(name)) this.#atStart.set(name, await this.#get(name));
    return this.#atStart.get(name)!;
  }

  async #get(name: string): Promise<Definition | null> {
    try {
      return await this.ctx.retry(() => this.conn.rest<Definition>("GET", schemaPath(name)));
    } catch (error) {
      if (error instanceof ServerError && error.status === 404) return null;
      throw error;
    }
  }
}
