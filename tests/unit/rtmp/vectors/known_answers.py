#!/usr/bin/env python3
"""Prints the known-answer constants of tests/unit/rtmp/digest_test.cc.

Computed with Python's hmac/hashlib through flash_digest.py, independently of
proxy/rtmp/digest.cc; run once, pasted into the test. The packet is
p[i] = (i * 7 + 3) & 0xFF, i in 0..1535.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import flash_digest as fd  # noqa: E402

p = bytes((i * 7 + 3) & 0xFF for i in range(fd.PACKET))
at8 = fd.digest_offset(p, 8)
at772 = fd.digest_offset(p, 772)
print("offset (8 scheme)   =", at8)
print("offset (772 scheme) =", at772)
print("client digest at 8-scheme offset   =", fd.packet_digest(p, at8, fd.CLIENT_PARTIAL).hex())
print("server digest at 772-scheme offset =", fd.packet_digest(p, at772, fd.SERVER_PARTIAL).hex())
peer = bytes(range(32))
key = fd.signature_key(fd.SERVER_KEY, peer)
print("server signature key from digest 00..1f =", key.hex())
print("signature of p with that key            =", fd.hmac_sha256(key, p[:1504]).hex())
print("client signature key from digest 00..1f =", fd.signature_key(fd.CLIENT_KEY, peer).hex())
