#!/usr/bin/env python3
"""The registry cache against a cold build, side by side in one run (BENCHMARKS.md).

Starts Debian's docker-registry (distribution 2.8) on 127.0.0.1 with its own configuration,
then, for the curl profile's three targets:

  cold      `crossroot build --profile sysroots/curl.toml` in a fresh home (skipped with
            --builder-home HOME, a home that has the selection built already)
  push      `cache push` of the selection, signed (a fresh registry: everything is sent)
  push-noop the same push again (nothing to send)
  pull      a fresh home at another path: `cache pull --trust` (pulled, verified, sysroots
            assembled) and `env --target` for each target
  changed   curl's recipe changed (one extra configure argument, in a --recipes directory):
            the builder rebuilds curl for each target and pushes; the puller, warm from
            `pull`, runs `build --cache` and gets only the three new packages

Usage: python3 ci/bench_registry.py [--crossroot PATH] [--builder-home HOME] [--skip-changed]
Prints one line per phase and a JSON summary.
"""

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PROFILE = REPO / "sysroots/curl.toml"
TARGETS = ["aarch64-linux-musl", "riscv64-linux-musl", "x86_64-linux-musl"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(cmd, env, what):
    started = time.monotonic()
    out = subprocess.run(cmd, env=env, capture_output=True, text=True)
    took = time.monotonic() - started
    if out.returncode != 0:
        sys.exit(f"{what} failed ({out.returncode}):\n{out.stdout}\n{out.stderr}")
    return took, out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--crossroot", default=str(REPO / "target/release/crossroot"))
    ap.add_argument("--builder-home")
    ap.add_argument("--skip-changed", action="store_true")
    args = ap.parse_args()
    cr = args.crossroot
    tmp = Path(tempfile.mkdtemp(prefix="crossroot-bench-registry-"))
    port = free_port()
    (tmp / "storage").mkdir()
    (tmp / "config.yml").write_text(
        "version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\n"
        f"storage:\n  filesystem:\n    rootdirectory: {tmp / 'storage'}\n"
        f"http:\n  addr: 127.0.0.1:{port}\n"
    )
    registry = subprocess.Popen(
        ["docker-registry", "serve", str(tmp / "config.yml")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
                break
            except OSError:
                time.sleep(0.05)
        repo = f"127.0.0.1:{port}/bench/crossroot-cache"
        env = dict(os.environ)
        for k in ["CROSSROOT_CACHE", "CROSSROOT_TRUST", "CROSSROOT_SIGN_KEY"]:
            env.pop(k, None)
        env["DOCKER_CONFIG"] = str(tmp / "no-docker-config")
        results = {}

        builder = Path(args.builder_home) if args.builder_home else tmp / "builder"
        benv = dict(env, CROSSROOT_HOME=str(builder))
        if args.builder_home:
            results["cold"] = None
            print("cold build: skipped (--builder-home)")
        else:
            took, _ = run([cr, "build", "--profile", str(PROFILE)], benv, "cold build")
            results["cold"] = took
            print(f"cold build of 3 targets: {took:.1f} s")

        run([cr, "cache", "keygen", "--out", str(tmp / "keys")], benv, "keygen")
        sk, pk = str(tmp / "keys/crossroot.key"), str(tmp / "keys/crossroot.pub")
        push = [cr, "cache", "push", repo, "--profile", str(PROFILE), "--sign-key", sk]
        took, out = run(push, benv, "push")
        results["push"] = took
        print(f"push of 3 targets: {took:.2f} s ({out.stdout.strip().splitlines()[-1][:120]})")
        took, _ = run(push, benv, "push again")
        results["push_noop"] = took
        print(f"push again (nothing to send): {took:.2f} s")

        puller = tmp / "elsewhere/puller-home"
        penv = dict(env, CROSSROOT_HOME=str(puller))
        started = time.monotonic()
        run([cr, "cache", "pull", repo, "--profile", str(PROFILE), "--trust", pk], penv, "pull")
        for t in TARGETS:
            run([cr, "env", "--target", t, "--profile", str(PROFILE)], penv, f"env {t}")
        took = time.monotonic() - started
        results["pull"] = took
        print(f"fresh home, pull + env for 3 targets: {took:.2f} s")

        if not args.skip_changed:
            recipes = tmp / "recipes"
            recipes.mkdir()
            text = (REPO / "recipes/curl.toml").read_text()
            marker = '"--disable-shared",'
            assert marker in text, "curl's recipe changed shape; update the benchmark"
            text = text.replace(marker, marker + ' "--disable-manual",', 1)
            (recipes / "curl.toml").write_text(text)
            changed = ["--recipes", str(recipes)]
            took, _ = run([cr, *changed, "build", "--profile", str(PROFILE)], benv, "rebuild curl")
            results["rebuild_curl"] = took
            print(f"builder rebuilds curl for 3 targets: {took:.1f} s")
            took, out = run([cr, *changed, *push[1:]], benv, "push changed")
            results["push_changed"] = took
            print(f"push after the change: {took:.2f} s ({out.stdout.strip().splitlines()[-1][:90]})")
            took, out = run(
                [cr, *changed, "build", "--profile", str(PROFILE), "--cache", repo, "--trust", pk],
                penv,
                "pull changed",
            )
            pulled = out.stderr.count("pulled ")
            results["pull_changed"] = took
            results["pull_changed_packages"] = pulled
            print(f"puller gets the change: {took:.2f} s, {pulled} packages pulled")
        print(json.dumps(results))
    finally:
        registry.terminate()
        registry.wait()
        if not args.builder_home:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
