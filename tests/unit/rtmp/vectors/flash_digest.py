"""Flash Player 9 handshake digests in plain Python (hmac, hashlib).

An implementation independent of proxy/rtmp/digest.cc, used once to produce
the known-answer constants in tests/unit/rtmp/digest_test.cc
(known_answers.py) and to play the server while capturing real clients
(capture.py). Written from the descriptions in ffmpeg's rtmpproto.c and
nginx-rtmp's ngx_rtmp_handshake.c.
"""
import hashlib
import hmac

KEY_TAIL = bytes([0xF0, 0xEE, 0xC2, 0x4A, 0x80, 0x68, 0xBE, 0xE8, 0x2E, 0x00, 0xD0, 0xD1,
                  0x02, 0x9E, 0x7E, 0x57, 0x6E, 0xEC, 0x5D, 0x2D, 0x29, 0x80, 0x6F, 0xAB,
                  0x93, 0xB8, 0xE6, 0x36, 0xCF, 0xEB, 0x31, 0xAE])
CLIENT_KEY = b"Genuine Adobe Flash Player 001" + KEY_TAIL        # 62 bytes
SERVER_KEY = b"Genuine Adobe Flash Media Server 001" + KEY_TAIL  # 68 bytes
CLIENT_PARTIAL = CLIENT_KEY[:30]
SERVER_PARTIAL = SERVER_KEY[:36]
PACKET = 1536


def hmac_sha256(key, data):
    return hmac.new(key, data, hashlib.sha256).digest()


def digest_offset(packet, base):
    """base 8: offset bytes 8..11, digest at 12 + sum % 728; base 772: 776 + ..."""
    return base + 4 + sum(packet[base:base + 4]) % 728


def packet_digest(packet, at, key):
    return hmac_sha256(key, packet[:at] + packet[at + 32:])


def find_digest(packet, partial_key):
    """(base, offset) of a valid digest, 772 tried first; None if none."""
    for base in (772, 8):
        at = digest_offset(packet, base)
        if packet_digest(packet, at, partial_key) == packet[at:at + 32]:
            return base, at
    return None


def write_digest(packet, base, partial_key):
    packet = bytearray(packet)
    at = digest_offset(packet, base)
    packet[at:at + 32] = packet_digest(packet, at, partial_key)
    return bytes(packet), at


def signature_key(full_key, peer_digest):
    return hmac_sha256(full_key, peer_digest)


def sign(packet, key):
    return bytes(packet[:PACKET - 32]) + hmac_sha256(key, bytes(packet[:PACKET - 32]))


def signature_valid(packet, key):
    return hmac_sha256(key, bytes(packet[:PACKET - 32])) == bytes(packet[PACKET - 32:])
