/**
 * Verify catches what a copy can lose while its objects still look alike: a
 * negative zero, an empty reference list, and the null-state index of
 * references added after their objects. Each "bad copy" is made by hand on
 * the real Weaviate, next to a faithful one.
 */
import assert from "node:assert/strict";
import { useWeaviate } from "../harness/weaviate.ts";
import {
  backupTo,
  denoTask,
  insertAll,
  integration,
  rest as restAt,
  uniqueName,
} from "./_helpers.ts";

const server = await useWeaviate();
addEventListener("unload", () => void server.stop());

const rest = <T>(method: string, path: string, body?: unknown) =>
  restAt<T>(server, method, path, body);

function verify(source: string, collection: string, as: string) {
  return denoTask(
    ["verify", source, "--against", server.url, "--collection", collection, "--as", as],
    {},
  );
}

const beacon = (collection: string, id: string) => ({
  beacon: `weaviate://localhost/${collection}/${id}`,
});

/**
 * An `Authors` collection with one author, and a definition for documents
 * referring to it, with null state and property length indexed.
 */
async function setUp(options: { multiTenant?: boolean } = {}) {
  const authors = uniqueName("Authors");
  await rest("POST", "/v1/schema", {
    class: authors,
    properties: [{ name: "name", dataType: ["text"] }],
  });
  const authorId = crypto.randomUUID();
  await rest("POST", "/v1/objects", { class: authors, id: authorId, properties: { name: "Ada" } });
  const create = async (prefix: string) => {
    const name = uniqueName(prefix);
    await rest("POST", "/v1/schema", {
      class: name,
      vectorizer: "none",
      invertedIndexConfig: { indexNullState: true, indexPropertyLength: true },
      ...(options.multiTenant ? { multiTenancyConfig: { enabled: true } } : {}),
      properties: [
        { name: "title", dataType: ["text"] },
        { name: "tags", dataType: ["text[]"] },
        { name: "amount", dataType: ["number"] },
        { name: "price", dataType: ["number[]"] },
        { name: "author", dataType: [authors] },
      ],
    });
    return name;
  };
  return { authors, authorId, create };
}

/** Objects of `collection` as `POST /v1/batch/objects` takes them. */
function batch(collection: string, objects: { id: string; properties: object }[], tenant?: string) {
  return {
    objects: objects.map((o) => ({
      class: collection,
      id: o.id,
      ...(tenant ? { tenant } : {}),
      properties: o.properties,
      vector: [1, 0, 0],
    })),
  };
}

Deno.test({
  name: "verify reports a negative zero that became 0, in a number and in a number[]",
  ...integration,
  async fn() {
    const { create } = await setUp();
    const [src, bad, good] = [await create("Src"), await create("Bad"), await create("Good")];
    const scalar = crypto.randomUUID();
    const inArray = crypto.randomUUID();
    const objects = [
      { id: scalar, properties: { title: "scalar", amount: -0, price: [2] } },
      { id: inArray, properties: { title: "array", amount: 1, price: [1.5, -0] } },
    ];
    await insertAll(server, batch(src, objects).objects);
    await insertAll(server, batch(good, objects).objects);
    // What a JSON.stringify round trip makes of them.
    await rest("POST", "/v1/batch/objects", batch(bad, objects));
    const stored = await rest<{ properties: { amount: number } }>(
      "GET",
      `/v1/objects/${src}/${scalar}`,
    );
    assert.ok(Object.is(stored.properties.amount, -0), "the source holds a negative zero");

    const lost = await verify(server.url, src, bad);
    assert.equal(lost.code, 1, lost.stderr);
    const listed = /different: (.*)/.exec(lost.stderr)?.[1] ?? "";
    assert.match(listed, new RegExp(`${scalar} \\(properties\\)`));
    assert.match(listed, new RegExp(`${inArray} \\(properties\\)`));
    assert.match(lost.stderr, /2 differences/);

    const kept = await verify(server.url, src, good);
    assert.equal(kept.code, 0, kept.stderr);
    assert.match(kept.stderr, /identical/);
  },
});

Deno.test({
  name: "verify reports a reference property set to [] that came back absent",
  ...integration,
  async fn() {
    const { create, authors, authorId } = await setUp();
    const [src, bad, good] = [await create("Src"), await create("Bad"), await create("Good")];
    const empty = crypto.randomUUID();
    const full = crypto.randomUUID();
    const objects = [
      { id: empty, properties: { title: "no author yet", author: [] } },
      { id: full, properties: { title: "by Ada", author: [beacon(authors, authorId)] } },
    ];
    await rest("POST", "/v1/batch/objects", batch(src, objects));
    await rest("POST", "/v1/batch/objects", batch(good, objects));
    await rest(
      "POST",
      "/v1/batch/objects",
      batch(bad, [
        { id: empty, properties: { title: "no author yet" } },
        objects[1]!,
      ]),
    );
    const stored = await rest<{ properties: Record<string, unknown> }>(
      "GET",
      `/v1/objects/${src}/${empty}`,
    );
    assert.deepEqual(stored.properties.author, [], "the source holds an empty reference list");

    const lost = await verify(server.url, src, bad);
    assert.equal(lost.code, 1, lost.stderr);
    assert.match(lost.stderr, new RegExp(`different: ${empty} \\(references\\)`));
    // Index counts differ too (an absent reference is null, an empty list is not), but where
    // objects differ they add nothing: the object is named already.
    assert.match(lost.stderr, /index counts not compared: the objects differ/);
    assert.match(lost.stderr, /1 differences/);

    const kept = await verify(server.url, src, good);
    assert.equal(kept.code, 0, kept.stderr);
  },
});

Deno.test({
  name: "verify reports references whose null state was not indexed (added by batch references)",
  ...integration,
  async fn() {
    const { create, authors, authorId } = await setUp();
    const [src, bad, good] = [await create("Src"), await create("Bad"), await create("Good")];
    const ids = [crypto.randomUUID(), crypto.randomUUID(), crypto.randomUUID()];
    const objects = ids.map((id, i) => ({
      id,
      properties: {
        title: `doc ${i}`,
        tags: i === 0 ? [] : ["x"],
        ...(i < 2 ? { author: [beacon(authors, authorId)] } : {}),
      },
    }));
    await rest("POST", "/v1/batch/objects", batch(src, objects));
    await rest("POST", "/v1/batch/objects", batch(good, objects));
    // The bad copy gets the same references after its objects, as a two-pass restore adds them.
    await rest(
      "POST",
      "/v1/batch/objects",
      batch(
        bad,
        objects.map((o) => {
          const { author: _, ...properties } = o.properties;
          return { id: o.id, properties };
        }),
      ),
    );
    await rest(
      "POST",
      "/v1/batch/references",
      ids.slice(0, 2).map((id) => ({
        from: `weaviate://localhost/${bad}/${id}/author`,
        to: `weaviate://localhost/${authors}/${authorId}`,
      })),
    );

    const lost = await verify(server.url, src, bad);
    assert.equal(lost.code, 1, lost.stderr);
    assert.doesNotMatch(lost.stderr, /different:/, "the objects themselves are alike");
    assert.match(lost.stderr, /isNull\(author\) is 1 in the source, 3 in the target/);
    assert.match(lost.stderr, /len\(author\)>0 is 2 in the source, 0 in the target/);

    const kept = await verify(server.url, src, good);
    assert.equal(kept.code, 0, kept.stderr);
    assert.match(kept.stderr, /identical \(3 source objects, 3 target objects, \d+ index counts\)/);

    // The other way round, the source's index is the stale one and the copy is right:
    // worth a warning, not a difference of the copy.
    const staleSource = await verify(server.url, bad, good);
    assert.equal(staleSource.code, 0, staleSource.stderr);
    assert.match(
      staleSource.stderr,
      /isNull\(author\) is 3 in the source's index but 1 in the target's, which matches the objects: the source's index is stale/,
    );
  },
});

Deno.test({
  name: "verify compares index counts per tenant, COLD tenants included, and sets them COLD again",
  ...integration,
  async fn() {
    const { create, authors, authorId } = await setUp({ multiTenant: true });
    const [src, bad] = [await create("Src"), await create("Bad")];
    const ids = [crypto.randomUUID(), crypto.randomUUID()];
    for (const name of [src, bad]) {
      await rest("POST", `/v1/schema/${name}/tenants`, [{ name: "hot" }, { name: "cold" }]);
    }
    for (const tenant of ["hot", "cold"]) {
      const objects = ids.map((id) => ({
        id,
        properties: { title: tenant, author: [beacon(authors, authorId)] },
      }));
      await rest("POST", "/v1/batch/objects", batch(src, objects, tenant));
      if (tenant === "hot") {
        await rest("POST", "/v1/batch/objects", batch(bad, objects, tenant));
        continue;
      }
      await rest(
        "POST",
        "/v1/batch/objects",
        batch(
          bad,
          ids.map((id) => ({
            id,
            properties: { title: tenant },
          })),
          tenant,
        ),
      );
      await rest(
        "POST",
        `/v1/batch/references?tenant=${tenant}`,
        ids.map((id) => ({
          from: `weaviate://localhost/${bad}/${id}/author`,
          to: `weaviate://localhost/${authors}/${authorId}`,
          tenant,
        })),
      );
    }
    for (const name of [src, bad]) {
      await rest("PUT", `/v1/schema/${name}/tenants`, [{ name: "cold", activityStatus: "COLD" }]);
    }

    const lost = await verify(server.url, src, bad);
    assert.equal(lost.code, 1, lost.stderr);
    assert.match(
      lost.stderr,
      /tenant "cold": isNull\(author\) is 0 in the source, 2 in the target/,
    );
    assert.doesNotMatch(lost.stderr, /tenant "hot"/);
    for (const name of [src, bad]) {
      const tenants = await rest<{ name: string; activityStatus: string }[]>(
        "GET",
        `/v1/schema/${name}/tenants`,
      );
      assert.equal(tenants.find((t) => t.name === "cold")?.activityStatus, "COLD", name);
    }
  },
});

Deno.test({
  name: "verify from a backup directory reports the index-state loss",
  ...integration,
  async fn() {
    const { create, authors, authorId } = await setUp();
    const [src, bad] = [await create("Src"), await create("Bad")];
    const id = crypto.randomUUID();
    await rest(
      "POST",
      "/v1/batch/objects",
      batch(src, [{
        id,
        properties: { title: "by Ada", author: [beacon(authors, authorId)] },
      }]),
    );
    await rest("POST", "/v1/batch/objects", batch(bad, [{ id, properties: { title: "by Ada" } }]));
    await rest("POST", "/v1/batch/references", [{
      from: `weaviate://localhost/${bad}/${id}/author`,
      to: `weaviate://localhost/${authors}/${authorId}`,
    }]);
    const dir = await backupTo(server, [src]);

    const lost = await verify(dir, src, bad);
    assert.equal(lost.code, 1, lost.stderr);
    assert.match(lost.stderr, /isNull\(author\) is 0 in the source, 1 in the target/);
    const kept = await verify(dir, src, src);
    assert.equal(kept.code, 0, kept.stderr);
    assert.match(kept.stderr, /\d+ index counts/);
  },
});
