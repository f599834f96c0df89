"""The python-restore cases: the official Python client v4 restoring a dump
(bench/e2e/raw_client.ts's format) into a new collection with its batching:
`fixed` (batch.fixed_size(batch_size, concurrent_requests)), `dynamic`
(batch.dynamic()) or `stream` (batch.stream(), server-side batching).

    python restore.py --url U --grpc-url G --collection C --dump DIR --mode fixed|dynamic|stream \
        [--batch-size 500] [--concurrent-requests 2]
"""

import argparse
import json
import sys
import urllib.request

from weaviate.classes.tenants import Tenant

from backup import connect


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--grpc-url", required=True)
    parser.add_argument("--collection", required=True)
    parser.add_argument("--dump", required=True)
    parser.add_argument("--mode", choices=["fixed", "dynamic", "stream"], default="fixed")
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--concurrent-requests", type=int, default=2)
    args = parser.parse_args()

    with open(f"{args.dump}/schema.json") as f:
        schema = json.load(f)
    schema["class"] = args.collection
    if (schema.get("multiTenancyConfig") or {}).get("enabled"):
        # GET returns the sharding config of a multi-tenant collection too, which POST refuses.
        schema.pop("shardingConfig", None)
    request = urllib.request.Request(
        f"{args.url}/v1/schema",
        data=json.dumps(schema).encode(),
        headers={"content-type": "application/json"},
        method="POST",
    )
    urllib.request.urlopen(request).read()

    client = connect(args.url, args.grpc_url)
    count = 0
    try:
        if (schema.get("multiTenancyConfig") or {}).get("enabled"):
            with open(f"{args.dump}/tenants.json") as f:
                names = json.load(f)
            collection = client.collections.use(args.collection)
            for i in range(0, len(names), 100):
                collection.tenants.create([Tenant(name=n) for n in names[i : i + 100]])
        if args.mode == "fixed":
            batching = client.batch.fixed_size(
                batch_size=args.batch_size, concurrent_requests=args.concurrent_requests
            )
        elif args.mode == "dynamic":
            batching = client.batch.dynamic()
        else:
            batching = client.batch.stream()
        with batching as batch:
            with open(f"{args.dump}/objects.jsonl") as f:
                for line in f:
                    row = json.loads(line)
                    batch.add_object(
                        collection=args.collection,
                        properties=row["properties"],
                        uuid=row["id"],
                        vector=row["vectors"],
                        tenant=row.get("tenant"),
                    )
                    count += 1
        failed = client.batch.failed_objects
        if failed:
            print(f"{len(failed)} objects failed, first: {failed[0].message}", file=sys.stderr)
            sys.exit(1)
    finally:
        client.close()
    print("E2E_RESULT " + json.dumps({"objects": count}))


if __name__ == "__main__":
    main()
