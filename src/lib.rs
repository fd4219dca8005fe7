//! crossroot: static musl cross sysroots for C libraries, and the environment that uses them.
//!
//! The pipeline, one module per stage:
//! `recipe → plan → fetch → build → sysroot → env`.

pub mod build;
pub mod bundle;
pub mod cache;
pub mod cli;
pub mod commands;
pub mod env;
pub mod extract;
pub mod fetch;
pub mod host;
pub mod openpgp;
pub mod pc;
pub mod plan;
pub mod recipe;
pub mod registry;
pub mod report;
pub mod sbom;
pub mod settings;
pub mod shell;
pub mod sign;
pub mod store;
pub mod sysroot;
pub mod target;
pub mod time;
pub mod toolchain;
pub mod verify;

// `crossroot::elf` as before the move into `verify/`, for callers outside (tests/more_recipes.rs).
pub use verify::elf;
