//! Finding recipes: the ones built into the binary, under directories the user names.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::{Recipe, RecipeError, RecipeFile, ToolchainRecipe, parse, parse_builtin};

/// The recipes shipped in `recipes/`, compiled into the binary so it works from any directory.
pub const BUILTIN_RECIPES: &[(&str, &str)] = &[
    ("zig.toml", include_str!("../../recipes/zig.toml")),
    ("musl.toml", include_str!("../../recipes/musl.toml")),
    ("zlib.toml", include_str!("../../recipes/zlib.toml")),
    ("openssl.toml", include_str!("../../recipes/openssl.toml")),
    ("nghttp2.toml", include_str!("../../recipes/nghttp2.toml")),
    ("c-ares.toml", include_str!("../../recipes/c-ares.toml")),
    ("curl.toml", include_str!("../../recipes/curl.toml")),
    ("sqlite.toml", include_str!("../../recipes/sqlite.toml")),
    ("zstd.toml", include_str!("../../recipes/zstd.toml")),
    ("xz.toml", include_str!("../../recipes/xz.toml")),
    ("libffi.toml", include_str!("../../recipes/libffi.toml")),
    ("pcre2.toml", include_str!("../../recipes/pcre2.toml")),
];

/// The signing keys the built-in recipes pin (`recipes/keys/`), by the path the recipes use.
/// A recipe in a `--recipes` directory finds its keys beside it first, then these.
pub const BUILTIN_KEYS: &[(&str, &[u8])] = &[
    (
        "keys/curl.asc",
        include_bytes!("../../recipes/keys/curl.asc"),
    ),
    (
        "keys/openssl.asc",
        include_bytes!("../../recipes/keys/openssl.asc"),
    ),
];

/// Every recipe crossroot can see: the user's directories first, then the built-in ones.
#[derive(Debug, Clone, Default)]
pub struct RecipeSet {
    libraries: BTreeMap<String, Recipe>,
    toolchains: BTreeMap<String, ToolchainRecipe>,
}

impl RecipeSet {
    /// The built-in recipes only.
    pub fn builtin() -> Result<Self, RecipeError> {
        Self::load(&[])
    }

    /// Loads `overlays` (searched in order, before the built-in recipes). A recipe in an
    /// overlay replaces the built-in one of the same name.
    pub fn load(overlays: &[PathBuf]) -> Result<Self, RecipeError> {
        let mut set = RecipeSet::default();
        for dir in overlays {
            let mut files = Vec::new();
            let entries = std::fs::read_dir(dir).map_err(|source| RecipeError::Read {
                path: dir.clone(),
                source,
            })?;
            for entry in entries {
                let entry = entry.map_err(|source| RecipeError::Read {
                    path: dir.clone(),
                    source,
                })?;
                let path = entry.path();
                if path.extension().is_some_and(|e| e == "toml") {
                    files.push(path);
                }
            }
            files.sort();
            let mut here = RecipeSet::default();
            for path in files {
                let text = std::fs::read_to_string(&path).map_err(|source| RecipeError::Read {
                    path: path.clone(),
                    source,
                })?;
                here.add(&path, &text, false)?;
            }
            set.merge_missing(here);
        }
        let mut builtin = RecipeSet::default();
        for (file, text) in BUILTIN_RECIPES {
            builtin.add(&Path::new("recipes").join(file), text, true)?;
        }
        set.merge_missing(builtin);
        Ok(set)
    }

    fn add(&mut self, path: &Path, text: &str, builtin: bool) -> Result<(), RecipeError> {
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default();
        let parsed = if builtin {
            parse_builtin(path, text)?
        } else {
            parse(path, text)?
        };
        let (name, other) = match parsed {
            RecipeFile::Library(r) => {
                let name = r.name.clone();
                (
                    name.clone(),
                    self.libraries.insert(name, *r).map(|o| o.origin.path),
                )
            }
            RecipeFile::Toolchain(t) => {
                let name = t.name.clone();
                (
                    name.clone(),
                    self.toolchains.insert(name, *t).map(|o| o.origin.path),
                )
            }
        };
        if let Some(other) = other {
            return Err(RecipeError::Duplicate {
                name,
                path: path.to_path_buf(),
                other,
            });
        }
        if stem != name {
            return Err(RecipeError::File {
                path: path.to_path_buf(),
                message: format!("the file defines `{name}`; name the file `{name}.toml`"),
            });
        }
        Ok(())
    }

    fn merge_missing(&mut self, other: RecipeSet) {
        for (k, v) in other.libraries {
            self.libraries.entry(k).or_insert(v);
        }
        for (k, v) in other.toolchains {
            self.toolchains.entry(k).or_insert(v);
        }
    }

    pub fn library(&self, name: &str) -> Result<&Recipe, RecipeError> {
        self.libraries
            .get(name)
            .ok_or_else(|| RecipeError::UnknownPackage {
                name: name.to_string(),
                known: self
                    .libraries
                    .keys()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }

    pub fn toolchain(&self, name: &str) -> Result<&ToolchainRecipe, RecipeError> {
        self.toolchains
            .get(name)
            .ok_or_else(|| RecipeError::UnknownPackage {
                name: name.to_string(),
                known: self
                    .toolchains
                    .keys()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }

    pub fn libraries(&self) -> impl Iterator<Item = &Recipe> {
        self.libraries.values()
    }

    pub fn toolchains(&self) -> impl Iterator<Item = &ToolchainRecipe> {
        self.toolchains.values()
    }
}
