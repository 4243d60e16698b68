#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
# An independent check of a cosign signature in a registry: the tag
# sha256-<hex>.sig of REPO is read over HTTP, and each simple-signing layer's
# payload must hash to its digest, name DIGEST and a reference in REPO, and
# carry a signature that openssl verifies with KEY.pub. Prints
# "verified REFERENCE" per good layer; exits 1 when none is good.
#
#   cosignverify.py URL REPO DIGEST KEY.pub
import base64
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import urllib.request

SIG_MT = "application/vnd.dev.cosign.simplesigning.v1+json"
ANNOTATION = "dev.cosignproject.cosign/signature"


def get(url, accept=None):
    req = urllib.request.Request(url, headers={"Accept": accept} if accept else {})
    with urllib.request.urlopen(req, timeout=30) as r:
        return r.read()


def main():
    url, repo, digest, key = sys.argv[1:5]
    host = url.split("://", 1)[1]
    tag = digest.replace(":", "-") + ".sig"
    m = json.loads(get(f"{url}/v2/{repo}/manifests/{tag}",
                       "application/vnd.oci.image.manifest.v1+json"))
    good = 0
    for layer in m["layers"]:
        if layer["mediaType"] != SIG_MT:
            continue
        payload = get(f"{url}/v2/{repo}/blobs/{layer['digest']}")
        if "sha256:" + hashlib.sha256(payload).hexdigest() != layer["digest"]:
            print("payload does not hash to its digest", file=sys.stderr)
            continue
        sig = base64.b64decode(layer["annotations"][ANNOTATION], validate=True)
        with tempfile.TemporaryDirectory() as d:
            open(os.path.join(d, "p"), "wb").write(payload)
            open(os.path.join(d, "s"), "wb").write(sig)
            r = subprocess.run(["openssl", "dgst", "-sha256", "-verify", key, "-signature",
                                os.path.join(d, "s"), os.path.join(d, "p")], capture_output=True)
        if r.returncode != 0:
            print("openssl: " + r.stdout.decode().strip(), file=sys.stderr)
            continue
        c = json.loads(payload)["critical"]
        ref = c["identity"]["docker-reference"]
        if c["image"]["docker-manifest-digest"] != digest:
            print(f"payload names {c['image']['docker-manifest-digest']}", file=sys.stderr)
        elif c["type"] != "cosign container image signature":
            print(f"payload type {c['type']}", file=sys.stderr)
        elif ref.split("@")[0].rsplit(":", 1)[0] != f"{host}/{repo}" and ref != f"{host}/{repo}":
            print(f"payload names {ref}", file=sys.stderr)
        else:
            print(f"verified {ref}")
            good += 1
    return 0 if good else 1


if __name__ == "__main__":
    sys.exit(main())
