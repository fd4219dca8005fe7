//! `crossroot verify`: is this file a static executable for the target?
//!
//! The file's magic picks its format (`object::FileKind`), and each format has its reader and
//! verdict in a module beside this one. Every target is Linux today, so only ELF (`elf.rs`) is
//! judged; a Windows PE or macOS Mach-O file is named as such in the error, and gets its own
//! module (on `object::read::pe` / `object::read::macho`) when a target needs it.

pub mod elf;

use std::fs;
use std::path::Path;

use crate::target::Target;

pub use elf::{ElfError, ElfFormatError, Verdict};

/// An executable format, told by its magic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Elf,
    /// A Windows PE executable or DLL.
    Pe,
    /// A macOS Mach-O file, fat (universal) ones included.
    MachO,
    /// Anything else, including files too short to tell.
    Unknown,
}

impl Format {
    /// What `object` makes of the first bytes.
    pub fn detect(bytes: &[u8]) -> Self {
        use object::FileKind;
        match FileKind::parse(bytes) {
            Ok(FileKind::Elf32 | FileKind::Elf64) => Self::Elf,
            Ok(FileKind::Pe32 | FileKind::Pe64) => Self::Pe,
            Ok(
                FileKind::MachO32
                | FileKind::MachO64
                | FileKind::MachOFat32
                | FileKind::MachOFat64
                | FileKind::DyldCache,
            ) => Self::MachO,
            _ => Self::Unknown,
        }
    }

    /// The format as a noun, for messages.
    fn describe(self) -> &'static str {
        match self {
            Self::Elf => "an ELF file",
            Self::Pe => "a Windows PE executable",
            Self::MachO => "a macOS Mach-O file",
            Self::Unknown => "an unknown format",
        }
    }
}

/// Reads `path` and judges whether it is a static executable for `target`.
pub fn verify(path: &Path, target: &Target) -> Result<Verdict, ElfError> {
    let bytes = fs::read(path).map_err(|source| ElfError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    match Format::detect(&bytes) {
        // Unknown bytes go to the ELF reader too: it says what it found and what it expected.
        Format::Elf | Format::Unknown => elf::verify_bytes(path, &bytes, target),
        format @ (Format::Pe | Format::MachO) => Err(ElfError::Format {
            path: path.to_path_buf(),
            problem: ElfFormatError::OtherFormat {
                found: elf::magic_hex(&bytes),
                format: format.describe(),
            },
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The smallest PE32+ header `object` recognises: DOS header, "PE\0\0", COFF header, and
    /// the optional header's magic.
    fn pe64() -> Vec<u8> {
        let mut bytes = vec![0u8; 0x40 + 248];
        bytes[..2].copy_from_slice(b"MZ");
        bytes[0x3c..0x40].copy_from_slice(&0x40u32.to_le_bytes());
        bytes[0x40..0x44].copy_from_slice(b"PE\0\0");
        bytes[0x40 + 24..0x40 + 26].copy_from_slice(&0x20bu16.to_le_bytes());
        bytes
    }

    fn macho64() -> Vec<u8> {
        let mut bytes = 0xfeed_facfu32.to_le_bytes().to_vec();
        bytes.resize(32, 0);
        bytes
    }

    #[test]
    fn formats_are_told_by_their_magic() {
        assert_eq!(Format::detect(&pe64()), Format::Pe);
        assert_eq!(Format::detect(&macho64()), Format::MachO);
        assert_eq!(
            Format::detect(b"#!/bin/sh\necho hi, this is long\n"),
            Format::Unknown
        );
        assert_eq!(Format::detect(b"MZ"), Format::Unknown);
        // A DOS stub without a PE header is not PE.
        let mut dos = pe64();
        dos[0x40] = b'X';
        assert_eq!(Format::detect(&dos), Format::Unknown);
    }

    #[test]
    fn pe_and_macho_files_are_named_and_refused() {
        let dir = tempfile::tempdir().unwrap();
        let target = Target::parse("linux/arm64").unwrap();
        for (name, bytes, magic, format) in [
            ("app.exe", pe64(), "4d 5a 00 00", "a Windows PE executable"),
            ("app", macho64(), "cf fa ed fe", "a macOS Mach-O file"),
        ] {
            let path = dir.path().join(name);
            fs::write(&path, bytes).unwrap();
            let err = verify(&path, target).unwrap_err();
            assert_eq!(
                err.to_string(),
                format!(
                    "{}: not an ELF file (magic {magic}): it looks like {format}, which verify does not support yet; the Linux targets' programs are ELF",
                    path.display()
                )
            );
        }
    }
}
