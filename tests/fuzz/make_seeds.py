#!/usr/bin/env python3
"""Writes the fuzz targets' seed corpora into OUT/<target>/.

unpack_layer and oci_parsers get the layer blobs and JSON documents of the
real images in ../shared/images/prebuilt (OCI and docker-save forms);
request gets call sequences encoded with protoc from text below; filter gets
the filters containerd itself sends. Generated at build time, never in git.
"""
import argparse
import hashlib
import os
import struct
import subprocess
import sys
import tarfile

# The request fuzzer's call table, in its order (tests/fuzz/request_fuzzer.cc).
SNAPSHOT_CALLS = ["Prepare", "View", "Mounts", "Commit", "Remove", "Stat", "Update", "Usage",
                  "Cleanup"]
CALLS = ([f"containerd.{c}" for c in SNAPSHOT_CALLS] + [f"native.{c}" for c in SNAPSHOT_CALLS] +
         ["content.Info", "content.Delete", "content.Update", "content.Status",
          "content.ListStatuses", "content.Abort", "images.List", "images.Get", "images.Delete",
          "images.Commit", "layers.Diff", "leases.Create", "leases.List", "leases.Delete"])

SNAP = "containerd.services.snapshots.v1."
TYPES = {
    "Prepare": SNAP + "PrepareSnapshotRequest", "View": SNAP + "ViewSnapshotRequest",
    "Mounts": SNAP + "MountsRequest", "Commit": SNAP + "CommitSnapshotRequest",
    "Remove": SNAP + "RemoveSnapshotRequest", "Stat": SNAP + "StatSnapshotRequest",
    "Update": SNAP + "UpdateSnapshotRequest", "Usage": SNAP + "UsageRequest",
    "Cleanup": SNAP + "CleanupRequest",
    "content.Info": "strata.v1.ContentInfoRequest", "content.Abort": "strata.v1.AbortContentRequest",
    "content.Status": "strata.v1.ContentStatusRequest",
    "images.Get": "strata.v1.GetImageRequest", "images.Delete": "strata.v1.DeleteImageRequest",
    "images.Commit": "strata.v1.CommitImageRequest", "layers.Diff": "strata.v1.DiffLayerRequest",
    "leases.Create": "strata.v1.CreateLeaseRequest", "leases.Delete": "strata.v1.DeleteLeaseRequest",
}

# Each seed: a sequence of (call, text-format request).
REQUEST_SEEDS = {
    "native-chain": [
        ("native.Prepare", 'key: "a"'),
        ("native.Commit", 'name: "c" key: "a"'),
        ("native.Prepare", 'key: "b" parent: "c" labels { key: "x" value: "y" }'),
        ("native.Mounts", 'key: "b"'),
        ("native.View", 'key: "v" parent: "c"'),
        ("native.Stat", 'key: "c"'),
        ("native.Usage", 'key: "b"'),
        ("native.Update", 'info { name: "c" labels { key: "x" value: "y" } } '
                          'update_mask { paths: "labels.x" }'),
        ("native.Remove", 'key: "b"'),
        ("native.Cleanup", ''),
    ],
    "containerd-chain": [
        ("containerd.Prepare", 'snapshotter: "strata" key: "k1"'),
        ("containerd.Commit", 'snapshotter: "strata" name: "sha256:1" key: "k1"'),
        ("containerd.Prepare", 'snapshotter: "strata" key: "k2" parent: "sha256:1" '
                               'labels { key: "containerd.io/snapshot.ref" value: "sha256:1" }'),
        ("containerd.Stat", 'snapshotter: "strata" key: "sha256:1"'),
        ("containerd.Remove", 'snapshotter: "strata" key: "k2"'),
    ],
    "commit-image": [
        ("leases.Create", 'id: "l1" ttl_seconds: 60 labels { key: "a" value: "b" }'),
        ("native.Prepare", 'key: "w"'),
        ("layers.Diff", 'snapshot_key: "w" compression: "zstd"'),
        ("images.Commit", 'snapshot_key: "w" name: "img:1" compression: "none"'),
        ("images.Get", 'name: "img:1"'),
        ("images.Delete", 'name: "img:1"'),
        ("leases.Delete", 'id: "l1"'),
    ],
    "content": [
        ("content.Info", 'digest: "sha256:' + "0" * 64 + '"'),
        ("content.Status", 'ref: "r"'),
        ("content.Abort", 'ref: "r"'),
    ],
}

FILTER_SEEDS = [
    'kind==committed', 'parent==sha256:abc,labels."containerd.io/gc.root"',
    'name~=^k8s\\.io/', 'labels.a.b=="c,d"|kind!=view', 'name~=/a+b|c/',
    'labels."x"~=`[a-z]*`', '"quoted \\" name"==x',
]


def write(out, name, data):
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)


def images_seeds(images, out):
    layers, docs = os.path.join(out, "unpack_layer"), os.path.join(out, "oci_parsers")
    prebuilt = os.path.join(images, "prebuilt")
    for name in sorted(os.listdir(prebuilt)):
        if not name.endswith(".tar"):
            continue
        with tarfile.open(os.path.join(prebuilt, name)) as tar:
            for m in tar.getmembers():
                if not m.isfile():
                    continue
                data = tar.extractfile(m).read()
                key = hashlib.sha256(data).hexdigest()[:16]
                if data[:1] in (b"{", b"["):
                    write(docs, key, data)
                elif data[:2] == b"\x1f\x8b" or data[:4] == b"\x28\xb5\x2f\xfd" or \
                        data[257:262] == b"ustar":
                    write(layers, key, data)


def encode(protoc, proto_dir, msg_type, text):
    files = [os.path.join(root, f) for root, _, fs in os.walk(proto_dir) for f in fs
             if f.endswith(".proto")]
    return subprocess.run([protoc, f"-I{proto_dir}", f"--encode={msg_type}"] + files,
                          input=text.encode(), capture_output=True, check=True).stdout


def request_seeds(protoc, proto_dir, out):
    for seed, calls in REQUEST_SEEDS.items():
        data = b""
        for call, text in calls:
            method = call.split(".", 1)[1]
            msg_type = TYPES.get(call) or TYPES[method]
            body = encode(protoc, proto_dir, msg_type, text)
            data += struct.pack(">BH", CALLS.index(call), len(body)) + body
        write(os.path.join(out, "request"), seed, data)


def main():
    p = argparse.ArgumentParser()
    # As the tests find them (tests/tree_expect.cc): $STRATA_SHARED_IMAGES, or
    # ../shared/images beside the repository.
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    p.add_argument("--images", default=os.environ.get(
        "STRATA_SHARED_IMAGES", os.path.join(repo, "..", "shared", "images")))
    p.add_argument("--proto", required=True)
    p.add_argument("--protoc", default="protoc")
    p.add_argument("--out", required=True)
    a = p.parse_args()
    for t in ("unpack_layer", "oci_parsers", "filter", "request"):
        os.makedirs(os.path.join(a.out, t), exist_ok=True)
    images_seeds(a.images, a.out)
    for i, f in enumerate(FILTER_SEEDS):
        write(os.path.join(a.out, "filter"), f"seed-{i}", f.encode())
    request_seeds(a.protoc, a.proto, a.out)
    counts = {t: len(os.listdir(os.path.join(a.out, t))) for t in sorted(os.listdir(a.out))}
    print("seeds:", ", ".join(f"{t} {n}" for t, n in counts.items()))


if __name__ == "__main__":
    sys.exit(main())
