use super::*;

const SYSROOT: &str = "/opt/crossroot/aarch64-linux-musl";

fn aarch64_vars() -> Vec<(String, String)> {
    let target = Target::parse("aarch64-linux-musl").unwrap();
    variables(&EnvInput {
        target,
        sysroot: Path::new(SYSROOT),
    })
}

fn pairs(vars: &[(String, String)]) -> Vec<(&str, &str)> {
    vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

#[test]
fn aarch64_variables_in_order() {
    assert_eq!(
        pairs(&aarch64_vars()),
        [
            (
                "CC",
                "/opt/crossroot/aarch64-linux-musl/bin/aarch64-linux-musl-cc"
            ),
            (
                "CXX",
                "/opt/crossroot/aarch64-linux-musl/bin/aarch64-linux-musl-c++"
            ),
            (
                "AR",
                "/opt/crossroot/aarch64-linux-musl/bin/aarch64-linux-musl-ar"
            ),
            (
                "RANLIB",
                "/opt/crossroot/aarch64-linux-musl/bin/aarch64-linux-musl-ranlib"
            ),
            (
                "PKG_CONFIG",
                "/opt/crossroot/aarch64-linux-musl/bin/aarch64-linux-musl-pkg-config"
            ),
            (
                "PKG_CONFIG_LIBDIR",
                "/opt/crossroot/aarch64-linux-musl/lib/pkgconfig"
            ),
            ("PKG_CONFIG_PATH", ""),
            ("PKG_CONFIG_SYSROOT_DIR", ""),
            ("CGO_ENABLED", "1"),
            ("GOOS", "linux"),
            ("GOARCH", "arm64"),
            ("CROSSROOT_TARGET", "aarch64-linux-musl"),
            ("CROSSROOT_SYSROOT", "/opt/crossroot/aarch64-linux-musl"),
        ]
    );
}

#[test]
fn goarm_only_for_arm_right_after_goarch() {
    for target in crate::target::TARGETS {
        let vars = variables(&EnvInput {
            target,
            sysroot: Path::new("/s"),
        });
        let keys: Vec<&str> = vars.iter().map(|(k, _)| k.as_str()).collect();
        let goarch = keys.iter().position(|k| *k == "GOARCH").unwrap();
        assert_eq!(vars[goarch].1, target.goarch, "{target}");
        match target.goarm {
            Some(level) => {
                assert_eq!(keys[goarch + 1], "GOARM", "{target}");
                assert_eq!(vars[goarch + 1].1, level, "{target}");
            }
            None => assert!(!keys.contains(&"GOARM"), "{target}"),
        }
        assert_eq!(vars[0].1, format!("/s/bin/{}-cc", target.triple));
    }
    let v7 = Target::parse("linux/arm/v7").unwrap();
    let vars = variables(&EnvInput {
        target: v7,
        sysroot: Path::new("/s"),
    });
    assert!(vars.contains(&("GOARM".into(), "7".into())));
}

#[test]
fn relative_sysroot_is_made_absolute() {
    let target = Target::parse("riscv64-linux-musl").unwrap();
    let vars = variables(&EnvInput {
        target,
        sysroot: Path::new("sysroots/riscv64"),
    });
    let cwd = std::env::current_dir().unwrap();
    let cc = &vars.iter().find(|(k, _)| k == "CC").unwrap().1;
    assert_eq!(
        Path::new(cc),
        cwd.join("sysroots/riscv64/bin/riscv64-linux-musl-cc")
    );
    for (key, value) in &vars {
        if key.starts_with("PKG_CONFIG") && !value.is_empty() || key == "CROSSROOT_SYSROOT" {
            assert!(Path::new(value).is_absolute(), "{key}={value}");
        }
    }
}

#[test]
fn wrapper_path_names_the_triple() {
    let target = Target::parse("linux/amd64").unwrap();
    assert_eq!(
        wrapper_path(Path::new("/s"), target, "pkg-config"),
        Path::new("/s/bin/x86_64-linux-musl-pkg-config")
    );
}

#[test]
fn sh_snapshot() {
    assert_eq!(
        render(&aarch64_vars(), Format::Sh),
        "\
export CC='/opt/crossroot/aarch64-linux-musl/bin/aarch64-linux-musl-cc'
export CXX='/opt/crossroot/aarch64-linux-musl/bin/aarch64-linux-musl-c++'
export AR='/opt/crossroot/aarch64-linux-musl/bin/aarch64-linux-musl-ar'
export RANLIB='/opt/crossroot/aarch64-linux-musl/bin/aarch64-linux-musl-ranlib'
export PKG_CONFIG='/opt/crossroot/aarch64-linux-musl/bin/aarch64-linux-musl-pkg-config'
export PKG_CONFIG_LIBDIR='/opt/crossroot/aarch64-linux-musl/lib/pkgconfig'
export PKG_CONFIG_PATH=''
export PKG_CONFIG_SYSROOT_DIR=''
export CGO_ENABLED='1'
export GOOS='linux'
export GOARCH='arm64'
export CROSSROOT_TARGET='aarch64-linux-musl'
export CROSSROOT_SYSROOT='/opt/crossroot/aarch64-linux-musl'
"
    );
}

#[test]
fn fish_snapshot() {
    assert_eq!(
        render(&aarch64_vars(), Format::Fish),
        "\
set -gx CC '/opt/crossroot/aarch64-linux-musl/bin/aarch64-linux-musl-cc';
set -gx CXX '/opt/crossroot/aarch64-linux-musl/bin/aarch64-linux-musl-c++';
set -gx AR '/opt/crossroot/aarch64-linux-musl/bin/aarch64-linux-musl-ar';
set -gx RANLIB '/opt/crossroot/aarch64-linux-musl/bin/aarch64-linux-musl-ranlib';
set -gx PKG_CONFIG '/opt/crossroot/aarch64-linux-musl/bin/aarch64-linux-musl-pkg-config';
set -gx PKG_CONFIG_LIBDIR '/opt/crossroot/aarch64-linux-musl/lib/pkgconfig';
set -gx PKG_CONFIG_PATH '';
set -gx PKG_CONFIG_SYSROOT_DIR '';
set -gx CGO_ENABLED '1';
set -gx GOOS 'linux';
set -gx GOARCH 'arm64';
set -gx CROSSROOT_TARGET 'aarch64-linux-musl';
set -gx CROSSROOT_SYSROOT '/opt/crossroot/aarch64-linux-musl';
"
    );
}

#[test]
fn json_snapshot() {
    let json = render(&aarch64_vars(), Format::Json);
    assert_eq!(
        json,
        r#"{
  "CC": "/opt/crossroot/aarch64-linux-musl/bin/aarch64-linux-musl-cc",
  "CXX": "/opt/crossroot/aarch64-linux-musl/bin/aarch64-linux-musl-c++",
  "AR": "/opt/crossroot/aarch64-linux-musl/bin/aarch64-linux-musl-ar",
  "RANLIB": "/opt/crossroot/aarch64-linux-musl/bin/aarch64-linux-musl-ranlib",
  "PKG_CONFIG": "/opt/crossroot/aarch64-linux-musl/bin/aarch64-linux-musl-pkg-config",
  "PKG_CONFIG_LIBDIR": "/opt/crossroot/aarch64-linux-musl/lib/pkgconfig",
  "PKG_CONFIG_PATH": "",
  "PKG_CONFIG_SYSROOT_DIR": "",
  "CGO_ENABLED": "1",
  "GOOS": "linux",
  "GOARCH": "arm64",
  "CROSSROOT_TARGET": "aarch64-linux-musl",
  "CROSSROOT_SYSROOT": "/opt/crossroot/aarch64-linux-musl"
}
"#
    );
    let parsed: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(parsed["GOARCH"], "arm64");
}

#[test]
fn github_snapshot() {
    assert_eq!(
        render(&aarch64_vars(), Format::Github),
        "\
CC=/opt/crossroot/aarch64-linux-musl/bin/aarch64-linux-musl-cc
CXX=/opt/crossroot/aarch64-linux-musl/bin/aarch64-linux-musl-c++
AR=/opt/crossroot/aarch64-linux-musl/bin/aarch64-linux-musl-ar
RANLIB=/opt/crossroot/aarch64-linux-musl/bin/aarch64-linux-musl-ranlib
PKG_CONFIG=/opt/crossroot/aarch64-linux-musl/bin/aarch64-linux-musl-pkg-config
PKG_CONFIG_LIBDIR=/opt/crossroot/aarch64-linux-musl/lib/pkgconfig
PKG_CONFIG_PATH=
PKG_CONFIG_SYSROOT_DIR=
CGO_ENABLED=1
GOOS=linux
GOARCH=arm64
CROSSROOT_TARGET=aarch64-linux-musl
CROSSROOT_SYSROOT=/opt/crossroot/aarch64-linux-musl
"
    );
}

#[test]
fn dockerfile_snapshot() {
    assert_eq!(
        render(&aarch64_vars(), Format::Dockerfile),
        r#"ENV CC="/opt/crossroot/aarch64-linux-musl/bin/aarch64-linux-musl-cc"
ENV CXX="/opt/crossroot/aarch64-linux-musl/bin/aarch64-linux-musl-c++"
ENV AR="/opt/crossroot/aarch64-linux-musl/bin/aarch64-linux-musl-ar"
ENV RANLIB="/opt/crossroot/aarch64-linux-musl/bin/aarch64-linux-musl-ranlib"
ENV PKG_CONFIG="/opt/crossroot/aarch64-linux-musl/bin/aarch64-linux-musl-pkg-config"
ENV PKG_CONFIG_LIBDIR="/opt/crossroot/aarch64-linux-musl/lib/pkgconfig"
ENV PKG_CONFIG_PATH=""
ENV PKG_CONFIG_SYSROOT_DIR=""
ENV CGO_ENABLED="1"
ENV GOOS="linux"
ENV GOARCH="arm64"
ENV CROSSROOT_TARGET="aarch64-linux-musl"
ENV CROSSROOT_SYSROOT="/opt/crossroot/aarch64-linux-musl"
"#
    );
}

#[test]
fn armv7_adds_goarm_to_every_format() {
    let target = Target::parse("armv7-linux-musleabihf").unwrap();
    let vars = variables(&EnvInput {
        target,
        sysroot: Path::new("/opt/crossroot/armv7-linux-musleabihf"),
    });
    assert!(render(&vars, Format::Sh).contains("export GOARCH='arm'\nexport GOARM='7'\n"));
    assert!(render(&vars, Format::Github).contains("GOARCH=arm\nGOARM=7\n"));
    assert!(render(&vars, Format::Json).contains("  \"GOARCH\": \"arm\",\n  \"GOARM\": \"7\",\n"));
}

/// The `--format` values clap accepts are exactly the formats `render_for` writes.
#[test]
fn cli_format_values_are_every_format() {
    use clap::CommandFactory;
    let cli = crate::cli::Cli::command();
    let env = cli.find_subcommand("env").unwrap();
    let format = env
        .get_arguments()
        .find(|a| a.get_id() == "format")
        .unwrap();
    let values: Vec<String> = format
        .get_possible_values()
        .iter()
        .map(|v| v.get_name().to_string())
        .collect();
    let all: Vec<String> = Format::ALL.iter().map(|f| f.to_string()).collect();
    assert_eq!(values, all);
}
