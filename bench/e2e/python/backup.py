"""The python-backup case: the official Python client v4 reading a collection
with `collection.iterator(include_vector=True)` (per tenant) into the dump
format of bench/e2e/raw_client.ts: schema.json, tenants.json, objects.jsonl.

    python backup.py --url U --grpc-url G --collection C --out DIR
"""

import argparse
import datetime
import json
import os
import urllib.request
import uuid as uuidlib
from urllib.parse import urlparse

import weaviate
from weaviate.classes.init import AdditionalConfig, Timeout


def connect(url: str, grpc_url: str) -> weaviate.WeaviateClient:
    http, grpc = urlparse(url), urlparse(grpc_url)
    return weaviate.connect_to_custom(
        http_host=http.hostname,
        http_port=http.port,
        http_secure=False,
        grpc_host=grpc.hostname,
        grpc_port=grpc.port,
        grpc_secure=False,
        additional_config=AdditionalConfig(timeout=Timeout(init=30, query=300, insert=600)),
    )


def plain(value):
    """JSON for what the client returns besides JSON types (dates, UUIDs)."""
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    if isinstance(value, uuidlib.UUID):
        return str(value)
    raise TypeError(f"Cannot write a {type(value).__name__} as JSON")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--grpc-url", required=True)
    parser.add_argument("--collection", required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()

    os.makedirs(args.out, exist_ok=True)
    with urllib.request.urlopen(f"{args.url}/v1/schema/{args.collection}") as res:
        schema = json.load(res)
    with open(f"{args.out}/schema.json", "w") as f:
        json.dump(schema, f)

    client = connect(args.url, args.grpc_url)
    count = 0
    try:
        collection = client.collections.use(args.collection)
        tenants = [None]
        if (schema.get("multiTenancyConfig") or {}).get("enabled"):
            tenants = sorted(collection.tenants.get().keys())
            with open(f"{args.out}/tenants.json", "w") as f:
                json.dump(tenants, f)
        with open(f"{args.out}/objects.jsonl", "w") as f:
            for tenant in tenants:
                target = collection if tenant is None else collection.with_tenant(tenant)
                for obj in target.iterator(include_vector=True):
                    row = {"id": str(obj.uuid), "properties": obj.properties, "vectors": obj.vector}
                    if tenant is not None:
                        row["tenant"] = tenant
                    f.write(json.dumps(row, default=plain))
                    f.write("\n")
                    count += 1
    finally:
        client.close()
    print("E2E_RESULT " + json.dumps({"objects": count}))


if __name__ == "__main__":
    main()
