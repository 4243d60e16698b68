#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
# A private key in cosign's encrypted format, as skopeo's
# --sign-by-sigstore-private-key reads it (skopeo 1.9.3 cannot make one):
# PEM "ENCRYPTED COSIGN PRIVATE KEY" around JSON {kdf: scrypt, cipher:
# nacl/secretbox, ciphertext} whose plaintext is the PKCS#8 DER key.
#
#   cosignkey.py PKCS8.pem PASSPHRASE-FILE OUT.key
#
# The key itself comes from openssl (genpkey / ecparam), so the public half
# is `openssl pkey -pubout` of the same file.
import base64
import hashlib
import json
import os
import subprocess
import sys

import nacl.secret


def main():
    pem, passfile, out = sys.argv[1:4]
    der = subprocess.run(["openssl", "pkcs8", "-topk8", "-nocrypt", "-outform", "DER", "-in", pem],
                         check=True, capture_output=True).stdout
    with open(passfile, "rb") as f:
        passphrase = f.read()
    # skopeo's --sign-passphrase-file drops the line end: the key is
    # sealed with the passphrase without it.
    passphrase = passphrase.rstrip(b"\n")
    # go-tuf's "standard" scrypt parameters: the only ones its reader takes.
    n, r, p = 32768, 8, 1
    salt = os.urandom(32)
    key = hashlib.scrypt(passphrase, salt=salt, n=n, r=r, p=p, maxmem=64 << 20, dklen=32)
    nonce = os.urandom(24)
    box = nacl.secret.SecretBox(key)
    ct = box.encrypt(der, nonce).ciphertext
    doc = {
        "kdf": {"name": "scrypt", "params": {"N": n, "r": r, "p": p},
                "salt": base64.b64encode(salt).decode()},
        "cipher": {"name": "nacl/secretbox", "nonce": base64.b64encode(nonce).decode()},
        "ciphertext": base64.b64encode(ct).decode(),
    }
    body = base64.encodebytes(json.dumps(doc).encode()).decode()
    with open(out, "w") as f:
        f.write("-----BEGIN ENCRYPTED COSIGN PRIVATE KEY-----\n")
        f.write(body)
        f.write("-----END ENCRYPTED COSIGN PRIVATE KEY-----\n")


if __name__ == "__main__":
    main()
