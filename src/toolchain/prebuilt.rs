//! The `prebuilt` toolchain kind: a pinned tarball per target in the musl-cross-make layout,
//! `<triple>-cross/bin/<triple>-gcc` (and `-ar`, `-ranlib`, optionally `-g++`), unpacked once
//! into the toolchains bucket and used where it lies.

use std::fs;
use std::path::{Path, PathBuf};

use super::{ToolchainError, ToolchainId, host_name, is_executable};
use crate::cache::{self, Home};
use crate::recipe::{SourceArtifact, ToolchainRecipe, ToolchainRelease};
use crate::target::Target;

/// A prebuilt toolchain for one target, unpacked or not yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prebuilt {
    pub recipe: String,
    pub version: String,
    pub target: &'static Target,
    pub release: ToolchainRelease,
    pub dir: PathBuf,
}

impl Prebuilt {
    /// The recipe's archive for this host and `target`.
    pub fn find(
        home: &Home,
        recipe: &ToolchainRecipe,
        target: &'static Target,
    ) -> Result<Prebuilt, ToolchainError> {
        let host = host_name();
        let release = recipe
            .releases
            .iter()
            .find(|r| r.host == host && r.target.as_deref() == Some(target.triple))
            .ok_or_else(|| ToolchainError::NoPrebuilt {
                recipe: recipe.origin.to_string(),
                host: host.clone(),
                target: target.triple.to_string(),
            })?
            .clone();
        let dir = home.toolchains().join(format!(
            "prebuilt-{}-{}-{}",
            recipe.name,
            target.triple,
            &release.sha256[..16]
        ));
        Ok(Prebuilt {
            recipe: recipe.name.clone(),
            version: recipe.version.to_string(),
            target,
            release,
            dir,
        })
    }

    pub fn id(&self) -> ToolchainId {
        ToolchainId {
            name: self.recipe.clone(),
            version: self.version.clone(),
            sha256: self.release.sha256.clone(),
            flags: Vec::new(),
        }
    }

    pub fn artifact(&self) -> SourceArtifact {
        SourceArtifact {
            file: self.release.file.clone(),
            sha256: self.release.sha256.clone(),
            size: self.release.size,
            urls: self.release.urls.clone(),
            debian: None,
            signature: None,
        }
    }

    pub fn is_installed(&self) -> bool {
        cache::is_complete(&self.dir, &self.release.sha256)
    }

    /// The compiler, `bin/<triple>-gcc`.
    pub fn gcc(&self) -> PathBuf {
        self.dir
            .join("bin")
            .join(format!("{}-gcc", self.target.triple))
    }

    /// Unpacks the verified `archive` (its top folder, `<triple>-cross/`, stripped) unless it
    /// is there already, and checks that it holds `bin/<triple>-gcc`.
    pub fn install(
        &self,
        archive: &Path,
        reporter: &dyn crate::report::Reporter,
    ) -> Result<(), ToolchainError> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| ToolchainError::Io { path, source }
        };
        let (_lock, Some(stage)) =
            super::begin_toolchain_dir(&self.dir, || self.is_installed(), reporter)?
        else {
            return Ok(());
        };
        let out = stage.path().join("tc");
        crate::extract::extract(archive, &out, &Default::default())?;
        let gcc = out.join("bin").join(format!("{}-gcc", self.target.triple));
        if !is_executable(&gcc) {
            return Err(ToolchainError::BadPrebuilt {
                archive: archive.to_path_buf(),
                want: format!(
                    "{t}-cross/bin/{t}-gcc (the musl-cross-make layout)",
                    t = self.target.triple
                ),
            });
        }
        fs::rename(&out, &self.dir).map_err(io(&self.dir))?;
        cache::mark_complete(&self.dir, &self.release.sha256)?;
        Ok(())
    }
}
