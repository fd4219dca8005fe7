#!/usr/bin/env python3
"""Benchmarks for BENCHMARKS.md, every number from one run on one machine.

  python3 ci/bench.py [TARGET]      (default aarch64-linux-musl)

1. Downloads the sources once (`crossroot fetch`, not timed).
2. Cold `crossroot build curl` for TARGET in a fresh home (fresh zig cache too): wall time and
   the CPU seconds of all its children; the floor is CPU seconds / cores.
3. The same sources and flags built by ci/serial-build.sh (one package after another,
   make -j$(nproc) inside each), with a fresh zig cache: wall time.
4. Warm no-op `crossroot build` and `crossroot env`: median of 20 runs each.
"""
import os, resource, shutil, statistics, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.environ.get("CROSSROOT", os.path.join(ROOT, "target/release/crossroot"))
TARGET = sys.argv[1] if len(sys.argv) > 1 else "aarch64-linux-musl"
CORES = os.cpu_count()


def run(cmd, env=None):
    """Runs cmd; returns (wall seconds, CPU seconds of the children it waited for)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.monotonic() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def median_ms(cmd, env, n=20):
    times = []
    for _ in range(n):
        t0 = time.monotonic()
        subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append((time.monotonic() - t0) * 1000)
    return statistics.median(times)


def main():
    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
    work = tempfile.mkdtemp(prefix="crossroot-bench-")
    downloads_home = os.path.join(work, "downloads-home")
    env = dict(os.environ, CROSSROOT_HOME=downloads_home)
    subprocess.run([BIN, "fetch", "curl"], env=env, check=True)
    downloads = os.path.join(downloads_home, "downloads-v1")

    home = os.path.join(work, "home")
    os.makedirs(home)
    shutil.copytree(downloads, os.path.join(home, "downloads-v1"))
    env = dict(os.environ, CROSSROOT_HOME=home)
    cold_wall, cold_cpu = run([BIN, "-q", "build", "--target", TARGET, "curl"], env)

    serial_wall, serial_cpu = run(
        [os.path.join(ROOT, "ci/serial-build.sh"), TARGET, downloads, os.path.join(work, "serial")]
    )

    warm = median_ms([BIN, "-q", "build", "--target", TARGET, "curl"], env)
    env_ms = median_ms([BIN, "env", "--target", TARGET], env)
    lib = subprocess.run(
        ["sh", "-c", f'du -cb "$(readlink -f {home}/sysroots-v1/{TARGET}/current)"/lib/*.a | tail -1'],
        capture_output=True, text=True, check=True,
    ).stdout.split()[0]

    floor = cold_cpu / CORES
    print(f"target: {TARGET}, cores: {CORES}")
    print(f"| measurement | value |")
    print(f"|---|---|")
    print(f"| crossroot cold build, wall | {cold_wall:.0f} s |")
    print(f"| crossroot CPU seconds (all steps) / cores = floor | {cold_cpu:.0f} s / {CORES} = {floor:.0f} s |")
    print(f"| hand-written serial build (same sources and flags), wall | {serial_wall:.0f} s (CPU {serial_cpu:.0f} s) |")
    print(f"| crossroot / serial | {cold_wall / serial_wall:.2f} |")
    print(f"| crossroot / floor | {cold_wall / floor:.2f} |")
    print(f"| warm no-op `build`, median of 20 | {warm:.0f} ms |")
    print(f"| `env`, median of 20 | {env_ms:.0f} ms |")
    print(f"| `lib/*.a` total | {int(lib) / 1e6:.1f} MB |")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
