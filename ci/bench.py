#!/usr/bin/env python3
"""Benchmarks for BENCHMARKS.md, every number from one run on one machine.

  python3 ci/bench.py [--part one|three|all] [TARGET]   (default: all, aarch64-linux-musl)

Part one (TARGET):
1. Downloads the sources once (`crossroot fetch`, not timed).
2. Cold `crossroot build curl` for TARGET in a fresh home (fresh zig cache too): wall time and
   the CPU seconds of all its children; the floor is CPU seconds / cores. Then the same with
   CROSSROOT_ZIG_DIRECT=0 (every compile through zig cc, as the serial build does).
3. The same sources and flags built by ci/serial-build.sh (one package after another,
   make -j$(nproc) inside each), with a fresh zig cache: wall time.
4. The Crossdev-style build by ci/crossdev-style-build.sh (autotools everywhere, default
   flags, make && make install one package after another), with a fresh zig cache.
5. Warm no-op `crossroot build` and `crossroot env`: median of 20 runs each.
Part three (aarch64, riscv64, x86_64):
6. Cold `crossroot build` of aarch64 alone, then of all three in one command, against three
   Crossdev-style builds one after another (fresh zig caches).
7. `crossroot cache export` of that three-target home and `cache import` into an empty home
   (twice: the second finds everything there).
"""
import os, resource, shutil, statistics, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.environ.get("CROSSROOT", os.path.join(ROOT, "target/release/crossroot"))
ARGS = sys.argv[1:]
PART = "all"
if ARGS[:1] == ["--part"]:
    PART, ARGS = ARGS[1], ARGS[2:]
TARGET = ARGS[0] if ARGS else "aarch64-linux-musl"
THREE = ["aarch64-linux-musl", "riscv64-linux-musl", "x86_64-linux-musl"]
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


def crossdev_style(target, downloads, work):
    """Times ci/crossdev-style-build.sh for one target (its untimed prepare step first)."""
    script = os.path.join(ROOT, "ci/crossdev-style-build.sh")
    subprocess.run([script, target, downloads, work, "prepare"], check=True)
    return run([script, target, downloads, work, "build"])


def fresh_home(work, name, downloads):
    home = os.path.join(work, name)
    os.makedirs(home)
    shutil.copytree(downloads, os.path.join(home, "downloads-v1"))
    return home, dict(os.environ, CROSSROOT_HOME=home)


def part_one(work, downloads):
    home, env = fresh_home(work, "home", downloads)
    cold_wall, cold_cpu = run([BIN, "-q", "build", "--target", TARGET, "curl"], env)
    # The same with every compile through zig cc, to tell the scheduler's share from the
    # direct compile path's (src/toolchain/direct.rs).
    _, env_zcc = fresh_home(work, "home-zig-cc", downloads)
    env_zcc["CROSSROOT_ZIG_DIRECT"] = "0"
    zcc_wall, zcc_cpu = run([BIN, "-q", "build", "--target", TARGET, "curl"], env_zcc)

    serial_wall, serial_cpu = run(
        [os.path.join(ROOT, "ci/serial-build.sh"), TARGET, downloads, os.path.join(work, "serial")]
    )
    cd_wall, cd_cpu = crossdev_style(TARGET, downloads, os.path.join(work, "crossdev"))

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
    print(f"| crossroot cold build, every compile through zig cc (`CROSSROOT_ZIG_DIRECT=0`), wall | {zcc_wall:.0f} s (CPU {zcc_cpu:.0f} s, floor {zcc_cpu / CORES:.0f} s) |")
    print(f"| hand-written serial build (same sources and flags), wall | {serial_wall:.0f} s (CPU {serial_cpu:.0f} s) |")
    print(f"| Crossdev-style serial build (autotools, default flags), wall | {cd_wall:.0f} s (CPU {cd_cpu:.0f} s) |")
    print(f"| crossroot / Crossdev-style | {cold_wall / cd_wall:.2f} |")
    print(f"| crossroot / serial | {cold_wall / serial_wall:.2f} |")
    print(f"| crossroot / floor | {cold_wall / floor:.3f} |")
    print(f"| crossroot with zig cc only / serial | {zcc_wall / serial_wall:.2f} |")
    print(f"| crossroot with zig cc only / its floor | {zcc_wall / (zcc_cpu / CORES):.3f} |")
    print(f"| warm no-op `build`, median of 20 | {warm:.0f} ms |")
    print(f"| `env`, median of 20 | {env_ms:.0f} ms |")
    print(f"| `lib/*.a` total | {int(lib) / 1e6:.1f} MB |", flush=True)


def part_three(work, downloads):
    # One target first (the first of THREE), to set against that target's Crossdev-style build.
    _, env1 = fresh_home(work, "home1", downloads)
    one_wall, one_cpu = run([BIN, "-q", "build", "--target", THREE[0], "curl"], env1)
    home, env = fresh_home(work, "home3", downloads)
    targets = [a for t in THREE for a in ("--target", t)]
    cold_wall, cold_cpu = run([BIN, "-q", "build", *targets, "curl"], env)
    serial = [crossdev_style(t, downloads, os.path.join(work, f"crossdev-{t}")) for t in THREE]
    serial_wall = sum(w for w, _ in serial)
    serial_cpu = sum(c for _, c in serial)

    bundle = os.path.join(work, "three.tar.zst")
    export_wall, _ = run([BIN, "-q", "cache", "export", bundle], env)
    _, new_env = fresh_home(work, "imported", os.path.join(work, "empty"))
    import_wall, _ = run([BIN, "-q", "cache", "import", bundle], new_env)
    reimport_wall, _ = run([BIN, "-q", "cache", "import", bundle], new_env)
    for t in THREE:  # the imported sysroots are whole: a build there is a no-op
        subprocess.run([BIN, "-q", "build", "--offline", "--target", t, "curl"], env=new_env, check=True)
    size = os.path.getsize(bundle)

    floor = cold_cpu / CORES
    print(f"targets: {', '.join(THREE)}, cores: {CORES}")
    print(f"| measurement | value |")
    print(f"|---|---|")
    print(f"| crossroot, {THREE[0]} alone, wall | {one_wall:.0f} s (CPU {one_cpu:.0f} s, floor {one_cpu / CORES:.0f} s) |")
    print(f"| Crossdev-style serial build of {THREE[0]}, wall | {serial[0][0]:.0f} s (CPU {serial[0][1]:.0f} s) |")
    print(f"| crossroot / Crossdev-style, one target | {one_wall / serial[0][0]:.2f} |")
    print(f"| crossroot / floor, one target | {one_wall / (one_cpu / CORES):.3f} |")
    print(f"| crossroot, one `build` for three targets, wall | {cold_wall:.0f} s (CPU {cold_cpu:.0f} s, floor {floor:.0f} s) |")
    print(f"| three Crossdev-style serial builds, wall | {serial_wall:.0f} s (CPU {serial_cpu:.0f} s) |")
    print(f"| crossroot / three Crossdev-style | {cold_wall / serial_wall:.2f} |")
    print(f"| crossroot / floor | {cold_wall / floor:.2f} |")
    print(f"| bundle of the three sysroots | {size / 1e6:.1f} MB |")
    print(f"| `cache export` | {export_wall:.2f} s |")
    print(f"| `cache import` into an empty home | {import_wall:.2f} s |")
    print(f"| `cache import` again | {reimport_wall:.2f} s |", flush=True)


def main():
    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
    work = tempfile.mkdtemp(prefix="crossroot-bench-")
    downloads_home = os.path.join(work, "downloads-home")
    env = dict(os.environ, CROSSROOT_HOME=downloads_home)
    subprocess.run([BIN, "fetch", "curl"], env=env, check=True)
    downloads = os.path.join(downloads_home, "downloads-v1")
    os.makedirs(os.path.join(work, "empty"))
    if PART in ("one", "all"):
        part_one(work, downloads)
    if PART in ("three", "all"):
        part_three(work, downloads)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
