#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
# An independent cosign signer for the tests: the "simple signing" payload
# written here, signed by openssl (ECDSA or RSA over SHA-256), stored the way
# cosign stores it: the tag sha256-<hex>.sig of the image's repository, a
# manifest whose layers are the payloads with their signatures in the
# dev.cosignproject.cosign/signature annotation. An existing .sig manifest
# gets one more layer (a second signature), as cosign does.
#
#   cosignsign.py URL REPO DIGEST KEY.pem [--reference REF] [--payload-digest D]
#                 [--type T] [--garbage-signature] [--tamper] [--replace]
#
#   URL      the registry (http://127.0.0.1:PORT; plain HTTP, no auth)
#   REPO     the repository (test/bb)
#   DIGEST   the manifest digest signed for (sha256:...)
#   --reference       the payload's docker-reference (default: HOST:PORT/REPO)
#   --payload-digest  the digest the payload names (default: DIGEST): a
#                     signature for another image
#   --type            critical.type (default: cosign's)
#   --garbage-signature  an annotation that is no signature at all
#   --tamper          sign, then change one byte of the payload
#   --replace         drop the signatures already there
import argparse
import base64
import hashlib
import json
import subprocess
import sys
import urllib.error
import urllib.request

SIG_MT = "application/vnd.dev.cosign.simplesigning.v1+json"
ANNOTATION = "dev.cosignproject.cosign/signature"
MANIFEST_MT = "application/vnd.oci.image.manifest.v1+json"


def request(method, url, data=None, headers=None):
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    return urllib.request.urlopen(req, timeout=30)


def put_blob(base, repo, data):
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    with request("POST", f"{base}/v2/{repo}/blobs/uploads/") as r:
        loc = r.headers["Location"]
    if loc.startswith("/"):
        loc = base + loc
    sep = "&" if "?" in loc else "?"
    request("PUT", f"{loc}{sep}digest={digest}", data,
            {"Content-Type": "application/octet-stream"}).close()
    return {"digest": digest, "size": len(data)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("repo")
    ap.add_argument("digest")
    ap.add_argument("key")
    ap.add_argument("--reference")
    ap.add_argument("--payload-digest")
    ap.add_argument("--type", default="cosign container image signature")
    ap.add_argument("--garbage-signature", action="store_true")
    ap.add_argument("--tamper", action="store_true")
    ap.add_argument("--replace", action="store_true")
    a = ap.parse_args()
    host = a.url.split("://", 1)[1]
    ref = a.reference or f"{host}/{a.repo}"
    payload = json.dumps({
        "critical": {
            "identity": {"docker-reference": ref},
            "image": {"docker-manifest-digest": a.payload_digest or a.digest},
            "type": a.type,
        },
        "optional": None,
    }).encode()
    sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", a.key],
                         input=payload, check=True, capture_output=True).stdout
    if a.garbage_signature:
        sig = b"this is not a signature"
    if a.tamper:
        payload = payload.replace(b"cosign container", b"cosign Container")
    tag = a.digest.replace(":", "-") + ".sig"
    layers = []
    if not a.replace:
        try:
            with request("GET", f"{a.url}/v2/{a.repo}/manifests/{tag}",
                         headers={"Accept": MANIFEST_MT}) as r:
                layers = json.load(r)["layers"]
        except urllib.error.HTTPError as err:
            if err.code != 404:
                raise
    layer = put_blob(a.url, a.repo, payload)
    layer["mediaType"] = SIG_MT
    layer["annotations"] = {ANNOTATION: base64.b64encode(sig).decode()}
    layers.append(layer)
    config = put_blob(a.url, a.repo, json.dumps({
        "architecture": "", "os": "", "config": {},
        "rootfs": {"type": "layers", "diff_ids": [l["digest"] for l in layers]},
    }).encode())
    config["mediaType"] = "application/vnd.oci.image.config.v1+json"
    manifest = json.dumps({"schemaVersion": 2, "mediaType": MANIFEST_MT, "config": config,
                           "layers": layers}).encode()
    request("PUT", f"{a.url}/v2/{a.repo}/manifests/{tag}", manifest,
            {"Content-Type": MANIFEST_MT}).close()
    print(tag)


if __name__ == "__main__":
    sys.exit(main())
