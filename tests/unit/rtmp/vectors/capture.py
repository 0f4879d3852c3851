#!/usr/bin/env python3
"""Captures the handshake bytes real clients send, for the unit tests.

Run once from the repository root (needs ffmpeg, rtmpdump, nginx with the
RTMP module): python3 tests/unit/rtmp/vectors/capture.py

A raw listener plays the server with flash_digest.py (not rtmpgate's code):
a C1 with a valid client digest gets a digest S1 (version 04 05 00 01,
server digest placed with the client's scheme) and a signed S2; any other C1
gets S1 with zero version bytes and S2 = C1. For each client it writes
<name>.bin = C0+C1 (1537) || S0+S1+S2 as sent (3073) || C2 (1536):
  ffmpeg_play.bin     ffmpeg -i rtmp://...  (validates S1, digest C2)
  ffmpeg_publish.bin  ffmpeg ... -f flv rtmp://...  (digest C1, echoes S1)
  rtmpdump.bin        rtmpdump -r rtmp://...  (simple C1, echoes S1)
  nginx_relay.bin     nginx-rtmp `push` relay  (digest C1, digest C2)
ffmpeg's C1 is the same on every run (time 0, fixed PRNG seed); the S1/S2
random here is seeded too, so only nginx's C1 time and random vary.
"""
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import flash_digest as fd  # noqa: E402

OUT = os.path.dirname(os.path.abspath(__file__))
SERVER_VERSION = bytes([0x04, 0x05, 0x00, 0x01])


def recv_exact(conn, n):
    buf = b""
    while len(buf) < n:
        chunk = conn.recv(n - len(buf))
        if not chunk:
            raise EOFError("peer closed after %d of %d bytes" % (len(buf), n))
        buf += chunk
    return buf


def answer(c0c1, rng):
    c1 = c0c1[1:]
    s1 = bytearray(rng.randbytes(fd.PACKET))
    s1[0:4] = (0x00001234).to_bytes(4, "big")
    found = fd.find_digest(c1, fd.CLIENT_PARTIAL)
    if found is None:
        s1[4:8] = bytes(4)
        return bytes(s1), c1, None
    base, at = found
    s1[4:8] = SERVER_VERSION
    s1, _ = fd.write_digest(bytes(s1), base, fd.SERVER_PARTIAL)
    s2 = fd.sign(rng.randbytes(fd.PACKET), fd.signature_key(fd.SERVER_KEY, c1[at:at + 32]))
    return s1, s2, found


def serve_once(listener, result):
    conn, _ = listener.accept()
    conn.settimeout(10)
    rng = random.Random(20240501)
    c0c1 = recv_exact(conn, 1 + fd.PACKET)
    s1, s2, found = answer(c0c1, rng)
    reply = bytes([c0c1[0]]) + s1 + s2
    conn.sendall(reply)
    c2 = recv_exact(conn, fd.PACKET)
    result.update(c0c1=c0c1, reply=reply, c2=c2, found=found)
    time.sleep(0.3)
    conn.close()


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


TEMP_DIRS = []


def capture(name, start_client):
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    listener.settimeout(20)
    port = listener.getsockname()[1]
    result = {}
    t = threading.Thread(target=serve_once, args=(listener, result))
    t.start()
    procs = start_client(port)
    t.join(30)
    for p in procs:
        p.terminate()
        try:
            p.wait(5)
        except subprocess.TimeoutExpired:
            p.kill()
    listener.close()
    if "c2" not in result:
        sys.exit("%s: no complete handshake captured" % name)
    c1, s1, c2 = result["c0c1"][1:], result["reply"][1:1 + fd.PACKET], result["c2"]
    echo = c2[0:4] == s1[0:4] and c2[8:] == s1[8:]
    sig = False
    if result["found"] is not None:
        s1_at = fd.find_digest(s1, fd.SERVER_PARTIAL)[1]
        sig = fd.signature_valid(c2, fd.signature_key(fd.CLIENT_KEY, s1[s1_at:s1_at + 32]))
    print("%-16s C0=%d C1[4..7]=%s client digest=%s C2: echo=%s signed=%s" % (
        name, result["c0c1"][0], c1[4:8].hex(" "), result["found"], echo, sig))
    with open(os.path.join(OUT, name + ".bin"), "wb") as f:
        f.write(result["c0c1"] + result["reply"] + result["c2"])


def url(port):
    return "rtmp://127.0.0.1:%d/live/vectors" % port


def ffmpeg_publish(port):
    return [subprocess.Popen(
        ["ffmpeg", "-nostdin", "-loglevel", "error", "-re", "-f", "lavfi", "-i",
         "testsrc=size=160x120:rate=10", "-t", "3", "-c:v", "libx264", "-f", "flv", url(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]


def ffmpeg_play(port):
    return [subprocess.Popen(["ffmpeg", "-nostdin", "-loglevel", "error", "-i", url(port),
                              "-t", "1", "-f", "null", "-"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]


def rtmpdump(port):
    return [subprocess.Popen(["rtmpdump", "-r", url(port), "-o", os.devnull, "-m", "3"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]


def nginx_relay(port):
    d = tempfile.mkdtemp(prefix="capture-nginx-")
    TEMP_DIRS.append(d)
    os.mkdir(os.path.join(d, "logs"))
    nport = free_port()
    with open(os.path.join(d, "nginx.conf"), "w") as f:
        f.write("load_module /usr/lib/nginx/modules/ngx_rtmp_module.so;\n"
                "daemon off;\nworker_processes 1;\npid logs/nginx.pid;\n"
                "error_log logs/error.log info;\nevents { worker_connections 64; }\n"
                "rtmp { server { listen 127.0.0.1:%d; application live { live on; "
                "record off; push rtmp://127.0.0.1:%d/live; } } }\n" % (nport, port))
    nginx = subprocess.Popen(["nginx", "-p", d + "/", "-c", "nginx.conf", "-e", "logs/error.log"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    return [nginx] + ffmpeg_publish(nport)


if __name__ == "__main__":
    capture("ffmpeg_play", ffmpeg_play)
    capture("ffmpeg_publish", ffmpeg_publish)
    capture("rtmpdump", rtmpdump)
    capture("nginx_relay", nginx_relay)
    for d in TEMP_DIRS:
        shutil.rmtree(d, ignore_errors=True)
