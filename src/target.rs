//! Target triples and the names other tools give them.
//!
//! One [`Target`] carries everything a stage needs to know about an architecture:
//! Go's GOARCH/GOARM, OpenSSL's Configure target, the autotools host, CMake's processor,
//! zig's `-target`, qemu's user-mode binary and the ELF machine number.

use std::fmt;
use std::str::FromStr;

/// A musl target crossroot knows how to build for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Target {
    /// Canonical name, e.g. `aarch64-linux-musl`.
    pub triple: &'static str,
    /// GOARCH value.
    pub goarch: &'static str,
    /// GOARM value where it applies.
    pub goarm: Option<&'static str>,
    /// OpenSSL `Configure` target.
    pub openssl_target: &'static str,
    /// `--host` for autotools.
    pub autotools_host: &'static str,
    /// `CMAKE_SYSTEM_PROCESSOR`.
    pub cmake_processor: &'static str,
    /// zig `-target` value.
    pub zig_target: &'static str,
    /// Extra zig flags (CPU baseline) the target needs.
    pub zig_cpu: Option<&'static str>,
    /// The GNU triple of Debian's cross gcc for this architecture (`aarch64-linux-gnu`), which
    /// the gcc toolchain drives with musl; `None` where crossroot has no gcc route.
    pub gnu_triple: Option<&'static str>,
    /// qemu user-mode emulator binary.
    pub qemu: &'static str,
    /// ELF `e_machine`.
    pub elf_machine: u16,
    /// ELF class: 64-bit?
    pub elf_64: bool,
    /// Rust target triple.
    pub rust_triple: &'static str,
    /// Docker/OCI platform (`os/arch[/variant]`).
    pub docker_platform: &'static str,
    /// Debian architecture name (for cross packages and `dpkg --print-architecture`).
    pub debian_arch: &'static str,
    /// Whether the end-to-end test proves this target in CI.
    pub verified: bool,
}

const EM_386: u16 = 3;
const EM_S390: u16 = 22;
const EM_PPC64: u16 = 21;
const EM_ARM: u16 = 40;
const EM_X86_64: u16 = 62;
const EM_AARCH64: u16 = 183;
const EM_RISCV: u16 = 243;
const EM_LOONGARCH: u16 = 258;

/// Every target crossroot knows, in the order `list` prints them.
pub const TARGETS: &[Target] = &[
    Target {
        triple: "aarch64-linux-musl",
        goarch: "arm64",
        goarm: None,
        openssl_target: "linux-aarch64",
        autotools_host: "aarch64-linux-musl",
        cmake_processor: "aarch64",
        zig_target: "aarch64-linux-musl",
        zig_cpu: None,
        gnu_triple: Some("aarch64-linux-gnu"),
        qemu: "qemu-aarch64",
        elf_machine: EM_AARCH64,
        elf_64: true,
        rust_triple: "aarch64-unknown-linux-musl",
        docker_platform: "linux/arm64",
        debian_arch: "arm64",
        verified: true,
    },
    Target {
        triple: "riscv64-linux-musl",
        goarch: "riscv64",
        goarm: None,
        openssl_target: "linux64-riscv64",
        autotools_host: "riscv64-linux-musl",
        cmake_processor: "riscv64",
        zig_target: "riscv64-linux-musl",
        zig_cpu: None,
        gnu_triple: Some("riscv64-linux-gnu"),
        qemu: "qemu-riscv64",
        elf_machine: EM_RISCV,
        elf_64: true,
        rust_triple: "riscv64gc-unknown-linux-musl",
        docker_platform: "linux/riscv64",
        debian_arch: "riscv64",
        verified: true,
    },
    Target {
        triple: "x86_64-linux-musl",
        goarch: "amd64",
        goarm: None,
        openssl_target: "linux-x86_64",
        autotools_host: "x86_64-linux-musl",
        cmake_processor: "x86_64",
        zig_target: "x86_64-linux-musl",
        zig_cpu: None,
        gnu_triple: Some("x86_64-linux-gnu"),
        qemu: "qemu-x86_64",
        elf_machine: EM_X86_64,
        elf_64: true,
        rust_triple: "x86_64-unknown-linux-musl",
        docker_platform: "linux/amd64",
        debian_arch: "amd64",
        verified: true,
    },
    Target {
        triple: "armv7-linux-musleabihf",
        goarch: "arm",
        goarm: Some("7"),
        openssl_target: "linux-armv4",
        autotools_host: "armv7-linux-musleabihf",
        cmake_processor: "armv7",
        zig_target: "arm-linux-musleabihf",
        zig_cpu: Some("-mcpu=generic+v7a"),
        gnu_triple: Some("arm-linux-gnueabihf"),
        qemu: "qemu-arm",
        elf_machine: EM_ARM,
        elf_64: false,
        rust_triple: "armv7-unknown-linux-musleabihf",
        docker_platform: "linux/arm/v7",
        debian_arch: "armhf",
        verified: true,
    },
    Target {
        triple: "arm-linux-musleabihf",
        goarch: "arm",
        goarm: Some("6"),
        openssl_target: "linux-armv4",
        autotools_host: "arm-linux-musleabihf",
        cmake_processor: "arm",
        zig_target: "arm-linux-musleabihf",
        zig_cpu: Some("-mcpu=arm1176jzf_s"),
        gnu_triple: None,
        qemu: "qemu-arm",
        elf_machine: EM_ARM,
        elf_64: false,
        rust_triple: "arm-unknown-linux-musleabihf",
        docker_platform: "linux/arm/v6",
        debian_arch: "armel",
        verified: true,
    },
    Target {
        triple: "i686-linux-musl",
        goarch: "386",
        goarm: None,
        openssl_target: "linux-elf",
        autotools_host: "i686-linux-musl",
        cmake_processor: "i686",
        zig_target: "x86-linux-musl",
        zig_cpu: None,
        gnu_triple: Some("i686-linux-gnu"),
        qemu: "qemu-i386",
        elf_machine: EM_386,
        elf_64: false,
        rust_triple: "i686-unknown-linux-musl",
        docker_platform: "linux/386",
        debian_arch: "i386",
        verified: true,
    },
    Target {
        triple: "powerpc64le-linux-musl",
        goarch: "ppc64le",
        goarm: None,
        openssl_target: "linux-ppc64le",
        autotools_host: "powerpc64le-linux-musl",
        cmake_processor: "ppc64le",
        zig_target: "powerpc64le-linux-musl",
        zig_cpu: None,
        gnu_triple: Some("powerpc64le-linux-gnu"),
        qemu: "qemu-ppc64le",
        elf_machine: EM_PPC64,
        elf_64: true,
        rust_triple: "powerpc64le-unknown-linux-musl",
        docker_platform: "linux/ppc64le",
        debian_arch: "ppc64el",
        verified: true,
    },
    Target {
        triple: "s390x-linux-musl",
        goarch: "s390x",
        goarm: None,
        openssl_target: "linux64-s390x",
        autotools_host: "s390x-linux-musl",
        cmake_processor: "s390x",
        zig_target: "s390x-linux-musl",
        zig_cpu: None,
        gnu_triple: Some("s390x-linux-gnu"),
        qemu: "qemu-s390x",
        elf_machine: EM_S390,
        elf_64: true,
        rust_triple: "s390x-unknown-linux-musl",
        docker_platform: "linux/s390x",
        debian_arch: "s390x",
        verified: true,
    },
    Target {
        triple: "loongarch64-linux-musl",
        goarch: "loong64",
        goarm: None,
        openssl_target: "linux64-loongarch64",
        autotools_host: "loongarch64-linux-musl",
        cmake_processor: "loongarch64",
        zig_target: "loongarch64-linux-musl",
        // zig's default CPU for LoongArch is la464 with the LSX vector extension, which
        // qemu-loongarch64 7.2 does not implement (even `puts` dies with SIGILL there) and not
        // every LoongArch CPU has; the baseline without LSX/LASX runs everywhere.
        zig_cpu: Some("-mcpu=la464-lsx-lasx"),
        // The apt sources here carry no loongarch64 cross gcc.
        gnu_triple: None,
        qemu: "qemu-loongarch64",
        elf_machine: EM_LOONGARCH,
        elf_64: true,
        rust_triple: "loongarch64-unknown-linux-musl",
        docker_platform: "linux/loong64",
        debian_arch: "loong64",
        verified: true,
    },
];

/// A `--target` value that names no known target.
#[derive(Debug, thiserror::Error)]
#[error("unknown target `{given}`.{hint} Known targets: {known}")]
pub struct UnknownTarget {
    pub given: String,
    /// What the user probably meant, as a sentence after a space, or empty.
    pub hint: String,
    pub known: String,
}

impl Target {
    /// Looks a target up by any of the names people type: the triple, a Rust triple,
    /// a Go `GOOS/GOARCH` pair or a bare `GOARCH`, a Docker platform, a bare architecture,
    /// or `<arch>-unknown-linux-musl`.
    pub fn parse(name: &str) -> Result<&'static Target, UnknownTarget> {
        let name = name.trim();
        let lower = name.to_ascii_lowercase();
        let found = TARGETS
            .iter()
            .find(|t| t.matches(&lower) || t.matches_bare(&lower));
        found.ok_or_else(|| UnknownTarget {
            given: name.to_string(),
            hint: hint_for(&lower),
            known: TARGETS
                .iter()
                .map(|t| format!("{} ({})", t.triple, t.docker_platform))
                .collect::<Vec<_>>()
                .join(", "),
        })
    }

    /// A bare `GOARCH` or architecture name (`arm64`, `amd64`, `aarch64`, `riscv64` …), where
    /// it names one target: bare `arm` is v6 or v7, so it is not taken.
    fn matches_bare(&self, name: &str) -> bool {
        let arch = self.triple.split('-').next().unwrap_or(self.triple);
        name != "arm" && (name == self.goarch || name == arch)
    }

    fn matches(&self, name: &str) -> bool {
        if name == self.triple || name == self.rust_triple || name == self.docker_platform {
            return true;
        }
        // `<arch>-unknown-linux-musl` and `<arch>-pc-linux-musl` spell the same thing.
        if let Some((arch, rest)) = name.split_once('-') {
            let rest = rest
                .strip_prefix("unknown-")
                .or_else(|| rest.strip_prefix("pc-"))
                .unwrap_or(rest);
            if format!("{arch}-{rest}") == self.triple {
                return true;
            }
        }
        // Go's GOOS/GOARCH, and Docker's spellings with a variant or an alias.
        let go = match self.goarm {
            Some(arm) => format!("linux/{}/v{}", self.goarch, arm),
            None => format!("linux/{}", self.goarch),
        };
        if name == go {
            return true;
        }
        match self.triple {
            "aarch64-linux-musl" => matches!(name, "linux/arm64/v8" | "linux/aarch64"),
            "x86_64-linux-musl" => matches!(name, "linux/x86_64" | "linux/amd64/v1"),
            "armv7-linux-musleabihf" => matches!(name, "linux/arm" | "linux/armv7"),
            "arm-linux-musleabihf" => matches!(name, "linux/armv6"),
            "i686-linux-musl" => matches!(name, "linux/i386" | "linux/i686"),
            _ => false,
        }
    }

    /// Compiler flags that pin the CPU baseline, if any.
    pub fn zig_flags(&self) -> Vec<&'static str> {
        self.zig_cpu.into_iter().collect()
    }

    /// meson's `cpu_family` (its reference table of CPU families).
    pub fn meson_cpu_family(&self) -> &'static str {
        match self.goarch {
            "arm64" => "aarch64",
            "amd64" => "x86_64",
            "386" => "x86",
            "ppc64le" => "ppc64",
            "loong64" => "loongarch64",
            // riscv64, s390x and arm are spelled the same.
            other => other,
        }
    }

    /// What the `verified` flag rests on, or why a target lacks it.
    pub fn verification(&self) -> &'static str {
        match (self.verified, self.triple) {
            (true, "aarch64-linux-musl") => {
                "CI end to end: curl stack built; a static cgo program, a C++ program and a Rust crate (cargo snippet) linked, verified and run"
            }
            (true, "i686-linux-musl") => {
                "CI end to end: curl stack built; a static cgo program and a C++ program linked, verified and run (natively on the x86_64 host: qemu-i386 7.2 crashes Go's 386 runtime)"
            }
            (true, "loongarch64-linux-musl") => {
                "CI end to end: curl stack built; a static cgo program (with Go 1.20 or later: Go 1.19's loong64 linker writes relocations of the old stack-based LoongArch ELF ABI, which zig's linker rejects) and a C++ program linked, verified and run"
            }
            (true, _) => {
                "CI end to end: curl stack built; a static cgo program and a C++ program linked, verified and run"
            }
            (false, _) => {
                "not in the end-to-end test: CI builds no sysroot and runs no program for it"
            }
        }
    }

    /// Whether the target stores the most significant byte first.
    pub fn big_endian(&self) -> bool {
        matches!(self.goarch, "s390x")
    }
}

impl FromStr for &'static Target {
    type Err = UnknownTarget;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Target::parse(s)
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.triple)
    }
}

/// The strings of `const <name>: &[&str] = &[…];` in a test's source, so that a table here
/// can be checked against what the test really runs.
#[cfg(test)]
pub(crate) fn listed_in<'a>(source: &'a str, name: &str) -> Vec<&'a str> {
    source
        .split_once(&format!("const {name}: &[&str] = &["))
        .and_then(|(_, rest)| rest.split_once("];"))
        .unwrap_or_else(|| panic!("the test source lists its {name}"))
        .0
        .split(',')
        .map(|item| item.trim().trim_matches('"'))
        .filter(|item| !item.is_empty())
        .collect()
}

/// What to suggest for a target name that is not known: musl for a glibc or other libc
/// triple of a known architecture, both arm variants for bare `arm`, else the nearest name.
fn hint_for(name: &str) -> String {
    if name == "arm" || name == "linux/arm/v5" {
        return " Did you mean `linux/arm/v7` (armv7-linux-musleabihf) or `linux/arm/v6` (arm-linux-musleabihf)?".into();
    }
    let arch = name.split(['-', '/']).next().unwrap_or(name);
    if name.contains("-linux-")
        && !name.contains("musl")
        && let Ok(t) = Target::parse(arch)
    {
        return format!(
            " crossroot builds static binaries against musl, not glibc: did you mean `{}` ({})?",
            t.triple, t.docker_platform
        );
    }
    let nearest = TARGETS
        .iter()
        .flat_map(|t| {
            [t.triple, t.rust_triple, t.docker_platform, t.goarch]
                .into_iter()
                .map(move |n| (edit_distance(name, n), n, t))
        })
        .min_by_key(|&(d, _, _)| d);
    match nearest {
        Some((d, n, t)) if d <= 3.max(name.len() / 4) => {
            format!(" Did you mean `{n}` ({})?", t.triple)
        }
        _ => String::new(),
    }
}

/// Levenshtein distance between two short names.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_spelling() {
        for (given, triple) in [
            ("aarch64-linux-musl", "aarch64-linux-musl"),
            ("aarch64-unknown-linux-musl", "aarch64-linux-musl"),
            ("linux/arm64", "aarch64-linux-musl"),
            ("linux/arm64/v8", "aarch64-linux-musl"),
            ("linux/riscv64", "riscv64-linux-musl"),
            ("riscv64gc-unknown-linux-musl", "riscv64-linux-musl"),
            ("riscv64-unknown-linux-musl", "riscv64-linux-musl"),
            ("linux/amd64", "x86_64-linux-musl"),
            ("x86_64-unknown-linux-musl", "x86_64-linux-musl"),
            ("X86_64-Linux-Musl", "x86_64-linux-musl"),
            ("linux/arm/v7", "armv7-linux-musleabihf"),
            ("linux/arm/v6", "arm-linux-musleabihf"),
            ("linux/386", "i686-linux-musl"),
            ("linux/ppc64le", "powerpc64le-linux-musl"),
            ("linux/s390x", "s390x-linux-musl"),
            ("linux/loong64", "loongarch64-linux-musl"),
            ("loongarch64-unknown-linux-musl", "loongarch64-linux-musl"),
            // Bare GOARCH and architecture names, as Go users type them.
            ("arm64", "aarch64-linux-musl"),
            ("aarch64", "aarch64-linux-musl"),
            ("amd64", "x86_64-linux-musl"),
            ("x86_64", "x86_64-linux-musl"),
            ("riscv64", "riscv64-linux-musl"),
            ("386", "i686-linux-musl"),
            ("ppc64le", "powerpc64le-linux-musl"),
            ("s390x", "s390x-linux-musl"),
            ("loong64", "loongarch64-linux-musl"),
            ("armv7", "armv7-linux-musleabihf"),
        ] {
            assert_eq!(Target::parse(given).unwrap().triple, triple, "{given}");
        }
    }

    #[test]
    fn unknown_names_get_a_suggestion() {
        let err = |n: &str| Target::parse(n).unwrap_err().to_string();
        let e = err("x86_64-unknown-linux-gnu");
        assert!(
            e.contains("against musl, not glibc: did you mean `x86_64-linux-musl` (linux/amd64)?"),
            "{e}"
        );
        let e = err("aarch64-linux-gnu");
        assert!(e.contains("`aarch64-linux-musl`"), "{e}");
        let e = err("arm");
        assert!(
            e.contains("Did you mean `linux/arm/v7`") && e.contains("`linux/arm/v6`"),
            "{e}"
        );
        let e = err("linux/arm46");
        assert!(
            e.contains("Did you mean `linux/arm64` (aarch64-linux-musl)?"),
            "{e}"
        );
        let e = err("riscv46-linux-musl");
        assert!(e.contains("Did you mean `riscv64-linux-musl`"), "{e}");
        // Nothing near: no guess, but the list.
        let e = err("windows-zzzzzzzzzzzz");
        assert!(!e.to_lowercase().contains("did you mean"), "{e}");
        assert!(
            e.contains("`windows-zzzzzzzzzzzz`. Known targets: aarch64-linux-musl (linux/arm64)"),
            "{e}"
        );
    }

    #[test]
    fn maps_tools() {
        let t = Target::parse("linux/arm64").unwrap();
        assert_eq!(t.goarch, "arm64");
        assert_eq!(t.openssl_target, "linux-aarch64");
        assert_eq!(t.qemu, "qemu-aarch64");
        let r = Target::parse("riscv64-linux-musl").unwrap();
        assert_eq!(r.openssl_target, "linux64-riscv64");
        assert_eq!(r.goarch, "riscv64");
        let v7 = Target::parse("linux/arm/v7").unwrap();
        assert_eq!((v7.goarch, v7.goarm), ("arm", Some("7")));
    }

    /// `verified` means exactly the targets the end-to-end test builds and runs.
    #[test]
    fn verified_targets_are_the_end_to_end_targets() {
        let e2e = include_str!("../tests/e2e.rs");
        let list = |name: &str| listed_in(e2e, name);
        let mut e2e_targets: Vec<&str> = list("TARGETS")
            .into_iter()
            .chain(list("MORE_TARGETS"))
            .collect();
        e2e_targets.sort();
        let mut verified: Vec<&str> = TARGETS
            .iter()
            .filter(|t| t.verified)
            .map(|t| t.triple)
            .collect();
        verified.sort();
        assert_eq!(verified, e2e_targets);
    }

    #[test]
    fn unknown_target_lists_known_ones() {
        let err = Target::parse("mips-linux-musl").unwrap_err().to_string();
        assert!(err.contains("unknown target `mips-linux-musl`"), "{err}");
        assert!(err.contains("aarch64-linux-musl (linux/arm64)"), "{err}");
        assert!(err.contains("riscv64-linux-musl"), "{err}");
        assert!(Target::parse("linux/mips64").is_err());
        assert!(Target::parse("").is_err());
    }
}

/// Property tests: any string is looked up or refused, never a panic; every name a target
/// answers to leads back to it, and to it alone. `cargo test` runs 256 cases each;
/// `PROPTEST_CASES=100000 cargo test --lib target::proptests` runs them long.
#[cfg(test)]
mod proptests {
    use super::*;
    use proptest::prelude::*;

    /// Every spelling `parse` promises for `t`, lower-case and untrimmed.
    fn spellings(t: &Target) -> Vec<String> {
        let (arch, rest) = t.triple.split_once('-').unwrap();
        let go = match t.goarm {
            Some(arm) => format!("linux/{}/v{arm}", t.goarch),
            None => format!("linux/{}", t.goarch),
        };
        let aliases: &[&str] = match t.triple {
            "aarch64-linux-musl" => &["linux/arm64/v8", "linux/aarch64"],
            "x86_64-linux-musl" => &["linux/x86_64", "linux/amd64/v1"],
            "armv7-linux-musleabihf" => &["linux/arm", "linux/armv7"],
            "arm-linux-musleabihf" => &["linux/armv6"],
            "i686-linux-musl" => &["linux/i386", "linux/i686"],
            _ => &[],
        };
        let mut names = vec![
            t.triple.to_string(),
            t.rust_triple.to_string(),
            t.docker_platform.to_string(),
            go,
            format!("{arch}-unknown-{rest}"),
            format!("{arch}-pc-{rest}"),
        ];
        names.extend(aliases.iter().map(|a| a.to_string()));
        // Bare GOARCH and architecture names, but not `arm` (v6 or v7).
        names.extend(
            [t.goarch, arch]
                .into_iter()
                .filter(|n| *n != "arm")
                .map(str::to_string),
        );
        names.sort();
        names.dedup();
        names
    }

    fn any_spelling() -> impl Strategy<Value = (usize, String)> {
        (0..TARGETS.len())
            .prop_flat_map(|i| (Just(i), prop::sample::select(spellings(&TARGETS[i]))))
    }

    /// `name` with the letters whose bit is set in `mask` upper-cased.
    fn recase(name: &str, mask: u64) -> String {
        name.chars()
            .enumerate()
            .map(|(i, c)| {
                if mask >> (i % 64) & 1 == 1 {
                    c.to_ascii_uppercase()
                } else {
                    c
                }
            })
            .collect()
    }

    fn config() -> ProptestConfig {
        ProptestConfig {
            failure_persistence: None,
            ..ProptestConfig::default()
        }
    }

    #[test]
    fn no_name_leads_to_two_targets() {
        for t in TARGETS {
            for name in spellings(t) {
                let owners: Vec<&str> = TARGETS
                    .iter()
                    .filter(|o| o.matches(&name) || o.matches_bare(&name))
                    .map(|o| o.triple)
                    .collect();
                assert_eq!(owners, [t.triple], "`{name}`");
            }
        }
    }

    proptest! {
        #![proptest_config(config())]

        #[test]
        fn any_string_is_found_or_refused_naming_itself(s in any::<String>()) {
            match Target::parse(&s) {
                Ok(t) => {
                    let name = s.trim().to_ascii_lowercase();
                    prop_assert!(spellings(t).contains(&name), "`{s}` -> {}", t.triple);
                }
                Err(e) => {
                    let msg = e.to_string();
                    prop_assert!(msg.contains(&format!("`{}`", s.trim())), "{msg}");
                    prop_assert!(msg.contains("aarch64-linux-musl (linux/arm64)"), "{msg}");
                }
            }
        }

        /// Any case, any surrounding whitespace.
        #[test]
        fn every_spelling_of_every_target_leads_back_to_it(
            (i, name) in any_spelling(),
            mask in any::<u64>(),
            before in "[ \t\n]{0,3}",
            after in "[ \t\r\n]{0,3}",
        ) {
            let given = format!("{before}{}{after}", recase(&name, mask));
            let t = Target::parse(&given).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(t.triple, TARGETS[i].triple, "`{}`", given);
            prop_assert_eq!(Target::parse(t.triple).unwrap(), t);
            prop_assert_eq!(t.to_string(), t.triple);
        }

        /// A name one edit away from a real one is that target's only if it is one of its
        /// spellings: no prefix, suffix or look-alike slips through.
        #[test]
        fn a_near_name_is_found_only_when_it_is_a_spelling(
            (_, name) in any_spelling(),
            at in any::<prop::sample::Index>(),
            edit in 0..3u8,
            c in prop::sample::select("-/_.0123456789abcdeilmnpstuvx ".chars().collect::<Vec<_>>()),
        ) {
            let mut chars: Vec<char> = name.chars().collect();
            let i = at.index(chars.len() + 1);
            match edit {
                0 => chars.insert(i, c),
                1 if i < chars.len() => { chars.remove(i); }
                _ if i < chars.len() => chars[i] = c,
                _ => chars.push(c),
            }
            let near: String = chars.into_iter().collect();
            if let Ok(t) = Target::parse(&near) {
                let name = near.trim().to_ascii_lowercase();
                prop_assert!(spellings(t).contains(&name), "`{near}` -> {}", t.triple);
            }
        }
    }
}
