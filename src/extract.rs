//! The one extraction policy for everything crossroot unpacks (habit 5): source archives,
//! bundles (`cache import`), and registry layers. Callers hand [`unpack`] a tar stream, a
//! destination, limits and their own [`Admission`] rules; it hands back a staged tree.
//!
//! Policy, decided once here:
//! - For archive files ([`extract`]), the name's suffix picks the decoder; magic bytes are the
//!   fallback (downloads stored under their hash have no suffix), and a suffix that
//!   contradicts the magic bytes is an error.
//! - [`Layout::StripTopFolder`] (source archives): the archive must hold a single top-level
//!   folder (`curl-8.14.1/…`); it is stripped, so its contents land directly in `dest`. An
//!   entry outside that folder, or a non-directory at the top level, is an error, not a guess.
//!   [`Layout::AsIs`] (bundles, layers): paths land as they are. `pax_global_header` entries
//!   and `./` are ignored.
//! - Entries with absolute paths or `..` components are refused.
//! - Symlinks must have a relative target that stays inside `dest`, with `..` only at the start
//!   of the target (`../../lib/x.h`); `a/../b` is refused because `..` after a symlink resolves
//!   physically, not lexically. Every directory on the way to an entry is a real directory
//!   made here (never a symlink), so a link's leading `..` climbs the same directories the
//!   kernel will; a caller confines links further (to an entry of a bundle) with
//!   [`symlink_stays_within`]. No entry is ever written through a symlink.
//! - Hard links must name an earlier regular file of the same archive.
//! - Devices, FIFOs, sparse files and unknown entry types are refused.
//! - Modes keep the owner/group/other read and execute bits; setuid, setgid, sticky and
//!   group/other write are dropped; files are always owner-readable/writable. Ownership is ignored.
//! - File mtimes come from the archive (autotools compares configure with configure.ac), as do
//!   those of explicit directory entries. Symlink mtimes are not set.
//! - `ExtractOptions` caps written bytes and entries; the decompressed stream is capped too
//!   (bytes + 4 KiB per entry + 1 MiB), so data that is skipped rather than written is bounded.
//!   When the caller's manifest declares the bytes ([`UnpackSpec::declared_bytes`]), they must
//!   fit the cap and the free space of the destination's file system before anything is
//!   written, and they become the cap.
//! - A caller's [`Admission`] sees every entry before any byte of it is written, may refuse it,
//!   and may pin a regular file's sha256, which is checked as the file is written.
//!
//! On error `unpack` may leave a partial tree in `dest` but never writes outside it: callers
//! unpack into a staging dir beside the final place and rename it once `unpack` returns `Ok`.

use std::cell::Cell;
use std::collections::{HashMap, HashSet};
use std::ffi::OsString;
use std::fmt;
use std::fs::{self, File, FileTimes, OpenOptions, Permissions};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};
use std::rc::Rc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sha2::{Digest, Sha256};
use tar::EntryType;

/// How the tar stream inside an archive file is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Compression {
    Gzip,
    Xz,
    Bzip2,
    Zstd,
    None,
}

impl Compression {
    /// Compression named by a file name's suffix (case-insensitive), if it is a known one.
    pub fn from_file_name(name: &str) -> Option<Compression> {
        const SUFFIXES: &[(&str, Compression)] = &[
            (".tar.gz", Compression::Gzip),
            (".tgz", Compression::Gzip),
            (".tar.xz", Compression::Xz),
            (".txz", Compression::Xz),
            (".tar.bz2", Compression::Bzip2),
            (".tbz2", Compression::Bzip2),
            (".tar.zst", Compression::Zstd),
            (".tzst", Compression::Zstd),
            (".tar", Compression::None),
        ];
        let name = name.to_ascii_lowercase();
        SUFFIXES
            .iter()
            .find(|(suffix, _)| name.ends_with(suffix))
            .map(|&(_, compression)| compression)
    }

    /// Compression recognised from the first bytes of a file (at least 262 for plain tar).
    pub fn sniff(head: &[u8]) -> Option<Compression> {
        if head.starts_with(&[0x1f, 0x8b]) {
            Some(Compression::Gzip)
        } else if head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0x00]) {
            Some(Compression::Xz)
        } else if head.len() >= 4 && head.starts_with(b"BZh") && head[3].is_ascii_digit() {
            Some(Compression::Bzip2)
        } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Some(Compression::Zstd)
        } else if head.get(257..262) == Some(b"ustar") {
            Some(Compression::None)
        } else {
            None
        }
    }

    fn decoder<'a>(self, input: impl BufRead + 'a) -> io::Result<Box<dyn Read + 'a>> {
        Ok(match self {
            // Multi-member decoders: pigz/pixz/pbzip2 and zstd -T write concatenated streams.
            Compression::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(input)),
            Compression::Xz => Box::new(xz2::bufread::XzDecoder::new_multi_decoder(input)),
            Compression::Bzip2 => Box::new(bzip2::bufread::MultiBzDecoder::new(input)),
            Compression::Zstd => Box::new(zstd::stream::read::Decoder::with_buffer(input)?),
            Compression::None => Box::new(input),
        })
    }
}

impl fmt::Display for Compression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Compression::Gzip => "gzip",
            Compression::Xz => "xz",
            Compression::Bzip2 => "bzip2",
            Compression::Zstd => "zstd",
            Compression::None => "uncompressed tar",
        })
    }
}

/// Limits that stop a hostile or broken archive from filling the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExtractOptions {
    /// Sum of the sizes of all regular files written.
    pub max_total_bytes: u64,
    /// Number of tar entries, including directories, links and ignored headers.
    pub max_entries: u64,
}

impl Default for ExtractOptions {
    fn default() -> Self {
        // The largest real source here (openssl) is ~30k entries and well under 1 GiB unpacked.
        ExtractOptions {
            max_total_bytes: 2 * 1024 * 1024 * 1024,
            max_entries: 200_000,
        }
    }
}

/// What `extract` wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ExtractReport {
    /// Regular files and hard links created.
    pub files: u64,
    /// Bytes of regular-file content written.
    pub bytes: u64,
}

/// How entry paths map into the destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// Source archives: everything inside one top-level folder, which is stripped.
    StripTopFolder,
    /// Bundles and registry layers: paths land as they are.
    AsIs,
}

/// What [`unpack`] needs besides the stream.
#[derive(Debug, Clone, Copy)]
pub struct UnpackSpec<'a> {
    /// Names the archive in errors: a path, a URL or a digest.
    pub label: &'a Path,
    pub layout: Layout,
    pub limits: ExtractOptions,
    /// Bytes of file content the caller's manifest declares. Checked against
    /// `limits.max_total_bytes` and the free space at the destination before anything is
    /// written; then the cap while unpacking.
    pub declared_bytes: Option<u64>,
}

/// One entry as the policy will write it, shown to the caller's [`Admission`] first.
#[derive(Debug, Clone, Copy)]
pub struct EntryView<'a> {
    /// Relative to the destination, after the layout's stripping.
    pub path: &'a Path,
    pub kind: EntryKind<'a>,
}

#[derive(Debug, Clone, Copy)]
pub enum EntryKind<'a> {
    Directory,
    /// A regular file of `size` bytes (from its header: nothing is read yet).
    File {
        size: u64,
        executable: bool,
    },
    /// A symlink the policy already judged to stay inside the destination.
    Symlink {
        target: &'a Path,
    },
    /// A hard link to an earlier regular file (relative to the destination), with that
    /// file's sha256 when it was pinned and checked.
    Hardlink {
        target: &'a Path,
        sha256: Option<&'a str>,
    },
}

/// A caller's own rules on top of the policy (a bundle's manifest, a layer's index).
pub trait Admission {
    /// Asked for every entry before any byte of it is written. `Err(reason)` refuses the
    /// archive; for a regular file, `Ok(Some(sha256))` pins its content, checked as it is
    /// written.
    fn admit(&mut self, entry: &EntryView<'_>) -> Result<Option<String>, String>;
}

/// No rules beyond the policy: source archives.
pub struct AnyEntry;

impl Admission for AnyEntry {
    fn admit(&mut self, _: &EntryView<'_>) -> Result<Option<String>, String> {
        Ok(None)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ExtractError {
    #[error("cannot open archive {}", .archive.display())]
    Open {
        archive: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error(
        "cannot tell how {} is compressed: expected a name ending in .tar.gz, .tgz, .tar.xz, .txz, \
         .tar.bz2, .tbz2, .tar.zst, .tzst or .tar, or known magic bytes",
        .archive.display()
    )]
    UnknownCompression { archive: PathBuf },
    #[error("{} is named as {expected} but its first bytes are {found}", .archive.display())]
    CompressionMismatch {
        archive: PathBuf,
        expected: Compression,
        found: Compression,
    },
    #[error("cannot extract into {}: expected an empty or missing directory, found entries in it", .dest.display())]
    DestNotEmpty { dest: PathBuf },
    #[error("cannot prepare destination {}", .dest.display())]
    Dest {
        dest: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("reading {} failed{}", .archive.display(), after_entry(.after))]
    Read {
        archive: PathBuf,
        after: Option<String>,
        #[source]
        source: io::Error,
    },
    #[error("reading the data of entry `{entry}` in {} failed", .archive.display())]
    ReadEntry {
        archive: PathBuf,
        entry: String,
        #[source]
        source: io::Error,
    },
    #[error("{} has no entries: expected a source tree in one top-level folder", .archive.display())]
    Empty { archive: PathBuf },
    #[error("entry `{entry}` in {}: expected a relative path without `..`, found {found}", .archive.display())]
    UnsafePath {
        archive: PathBuf,
        entry: String,
        found: &'static str,
    },
    #[error(
        "entry `{entry}` in {}: expected it inside the single top-level folder `{top}`",
        .archive.display()
    )]
    NotInTopFolder {
        archive: PathBuf,
        entry: String,
        top: String,
    },
    #[error(
        "entry `{entry}` in {} is not a directory yet sits at the top level: expected the whole \
         tree inside one top-level folder",
        .archive.display()
    )]
    NoTopFolder { archive: PathBuf, entry: String },
    #[error(
        "entry `{entry}` in {}: expected a file, directory or link, found {kind}",
        .archive.display()
    )]
    UnsupportedEntry {
        archive: PathBuf,
        entry: String,
        kind: String,
    },
    #[error(
        "symlink `{entry}` in {} points to `{target}`, which leaves the destination: expected a \
         relative target inside the tree, with `..` only at its start",
        .archive.display()
    )]
    SymlinkEscapes {
        archive: PathBuf,
        entry: String,
        target: String,
    },
    #[error(
        "entry `{entry}` in {} would be written through the symlink `{}` made by an earlier entry",
        .archive.display(), .symlink.display()
    )]
    ThroughSymlink {
        archive: PathBuf,
        entry: String,
        symlink: PathBuf,
    },
    #[error(
        "hard link `{entry}` in {} points to `{target}`: expected an earlier regular file of the archive",
        .archive.display()
    )]
    HardlinkTarget {
        archive: PathBuf,
        entry: String,
        target: String,
    },
    #[error(
        "entry `{entry}` in {}: expected `{}` to be a directory, found a {found}",
        .archive.display(), .path.display()
    )]
    NotADirectory {
        archive: PathBuf,
        entry: String,
        path: PathBuf,
        found: &'static str,
    },
    #[error("entry `{entry}` in {} would replace the directory `{}`", .archive.display(), .path.display())]
    ReplacesDirectory {
        archive: PathBuf,
        entry: String,
        path: PathBuf,
    },
    #[error("{} has more than {limit} entries (limit against decompression bombs)", .archive.display())]
    TooManyEntries { archive: PathBuf, limit: u64 },
    #[error(
        "entry `{entry}` in {} ({size} bytes) takes the extracted size past {limit} bytes \
         (limit against decompression bombs)",
        .archive.display()
    )]
    TooManyBytes {
        archive: PathBuf,
        entry: String,
        size: u64,
        limit: u64,
    },
    #[error(
        "{} decompresses to a tar stream of more than {limit} bytes (limit against decompression bombs)",
        .archive.display()
    )]
    StreamTooLarge { archive: PathBuf, limit: u64 },
    #[error("entry `{entry}` in {} is truncated: expected {expected} bytes, got {actual}", .archive.display())]
    Truncated {
        archive: PathBuf,
        entry: String,
        expected: u64,
        actual: u64,
    },
    #[error("entry `{entry}` in {} is refused: {reason}", .archive.display())]
    Refused {
        archive: PathBuf,
        entry: String,
        reason: String,
    },
    #[error(
        "entry `{entry}` in {} has sha256 {actual}, expected {expected}",
        .archive.display()
    )]
    ContentMismatch {
        archive: PathBuf,
        entry: String,
        expected: String,
        actual: String,
    },
    #[error(
        "{} declares {declared} bytes of content, more than the limit of {limit} bytes",
        .archive.display()
    )]
    DeclaredTooLarge {
        archive: PathBuf,
        declared: u64,
        limit: u64,
    },
    #[error(
        "{} declares {declared} bytes of content, but {} has only {free} bytes free: free some \
         space or point --home at a larger disk",
        .archive.display(), .dest.display()
    )]
    NoSpace {
        archive: PathBuf,
        dest: PathBuf,
        declared: u64,
        free: u64,
    },
    #[error("entry `{entry}` in {} has a corrupt header", .archive.display())]
    Header {
        archive: PathBuf,
        entry: String,
        #[source]
        source: io::Error,
    },
    #[error("writing {} for entry `{entry}` of {}", .path.display(), .archive.display())]
    Write {
        archive: PathBuf,
        entry: String,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

fn after_entry(after: &Option<String>) -> String {
    match after {
        Some(entry) => format!(" after entry `{entry}`"),
        None => String::new(),
    }
}

/// Header and padding allowance per entry when bounding the decompressed stream.
const STREAM_OVERHEAD_PER_ENTRY: u64 = 4096;
const STREAM_OVERHEAD_FIXED: u64 = 1 << 20;
const READ_BUFFER: usize = 256 * 1024;
const COPY_BUFFER: usize = 128 * 1024;

/// Extracts `archive` into `dest`, stripping its single top-level folder; blocking.
///
/// `dest` must be an empty directory or not exist yet (it is then created). See the module
/// docs for what is refused; on error `dest` may hold a partial tree, so extract into a temp dir.
pub fn extract(
    archive: &Path,
    dest: &Path,
    opts: &ExtractOptions,
) -> Result<ExtractReport, ExtractError> {
    let file = File::open(archive).map_err(|source| ExtractError::Open {
        archive: archive.to_path_buf(),
        source,
    })?;
    let mut input = BufReader::with_capacity(READ_BUFFER, file);
    let head = input.fill_buf().map_err(|source| ExtractError::Read {
        archive: archive.to_path_buf(),
        after: None,
        source,
    })?;
    let compression = detect_compression(archive, head)?;
    let decoder = compression
        .decoder(input)
        .map_err(|source| ExtractError::Read {
            archive: archive.to_path_buf(),
            after: None,
            source,
        })?;
    let spec = UnpackSpec {
        label: archive,
        layout: Layout::StripTopFolder,
        limits: *opts,
        declared_bytes: None,
    };
    unpack(decoder, dest, &spec, &mut AnyEntry)
}

/// Unpacks a (decompressed) tar stream into `dest` under the policy of this module and the
/// caller's `admission`; blocking. `dest` must be an empty directory or not exist yet.
pub fn unpack(
    tar_stream: impl Read,
    dest: &Path,
    spec: &UnpackSpec<'_>,
    admission: &mut dyn Admission,
) -> Result<ExtractReport, ExtractError> {
    let archive = spec.label;
    let mut max_bytes = spec.limits.max_total_bytes;
    if let Some(declared) = spec.declared_bytes {
        if declared > max_bytes {
            return Err(ExtractError::DeclaredTooLarge {
                archive: archive.to_path_buf(),
                declared,
                limit: max_bytes,
            });
        }
        check_free_space(archive, dest, declared)?;
        max_bytes = declared;
    }
    prepare_dest(dest)?;
    let limits = ExtractOptions {
        max_total_bytes: max_bytes,
        max_entries: spec.limits.max_entries,
    };
    let stream_limit = limits
        .max_total_bytes
        .saturating_add(limits.max_entries.saturating_mul(STREAM_OVERHEAD_PER_ENTRY))
        .saturating_add(STREAM_OVERHEAD_FIXED);
    let exceeded = Rc::new(Cell::new(false));
    let budget = StreamBudget {
        inner: tar_stream,
        remaining: stream_limit,
        exceeded: Rc::clone(&exceeded),
    };
    // Buffered so tar's 512-byte header reads do not each call into the decompressor.
    let mut tar = tar::Archive::new(BufReader::with_capacity(64 * 1024, budget));

    let mut extractor = Extractor {
        archive,
        dest,
        layout: spec.layout,
        admission,
        opts: limits,
        stream_limit,
        exceeded,
        top: None,
        real_dirs: HashSet::new(),
        regular_files: HashMap::new(),
        dir_times: Vec::new(),
        entries: 0,
        report: ExtractReport::default(),
        buf: vec![0; COPY_BUFFER],
    };
    let entries = tar
        .entries()
        .map_err(|source| extractor.read_error(source, None))?;
    let mut last: Option<String> = None;
    for entry in entries {
        let mut entry = entry.map_err(|source| extractor.read_error(source, last.take()))?;
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        extractor.entry(&mut entry, &name)?;
        last = Some(name);
    }
    extractor.finish()
}

/// Bytes free for an unprivileged user on the file system that holds `path` (or its nearest
/// existing ancestor).
pub fn free_space(path: &Path) -> io::Result<u64> {
    use std::os::unix::ffi::OsStrExt;
    let mut probe = path;
    while fs::symlink_metadata(probe).is_err() {
        match probe.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => probe = parent,
            _ => {
                probe = Path::new(".");
                break;
            }
        }
    }
    let c_path = std::ffi::CString::new(probe.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "path holds a NUL byte"))?;
    let mut stat = std::mem::MaybeUninit::<libc::statvfs>::uninit();
    // SAFETY: c_path is a valid C string and stat points to writable memory of the right type.
    let rc = unsafe { libc::statvfs(c_path.as_ptr(), stat.as_mut_ptr()) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: statvfs returned 0, so it filled the struct.
    let stat = unsafe { stat.assume_init() };
    // Both are 32-bit on some targets.
    #[allow(clippy::unnecessary_cast)]
    Ok((stat.f_bavail as u64).saturating_mul(stat.f_frsize as u64))
}

fn check_free_space(archive: &Path, dest: &Path, declared: u64) -> Result<(), ExtractError> {
    let free = free_space(dest).map_err(|source| ExtractError::Dest {
        dest: dest.to_path_buf(),
        source,
    })?;
    if declared > free {
        return Err(ExtractError::NoSpace {
            archive: archive.to_path_buf(),
            dest: dest.to_path_buf(),
            declared,
            free,
        });
    }
    Ok(())
}

fn detect_compression(archive: &Path, head: &[u8]) -> Result<Compression, ExtractError> {
    let by_name = archive
        .file_name()
        .and_then(|name| name.to_str())
        .and_then(Compression::from_file_name);
    match (by_name, Compression::sniff(head)) {
        (Some(expected), Some(found)) if expected != found => {
            Err(ExtractError::CompressionMismatch {
                archive: archive.to_path_buf(),
                expected,
                found,
            })
        }
        (Some(compression), _) | (None, Some(compression)) => Ok(compression),
        (None, None) => Err(ExtractError::UnknownCompression {
            archive: archive.to_path_buf(),
        }),
    }
}

fn prepare_dest(dest: &Path) -> Result<(), ExtractError> {
    let dest_error = |source| ExtractError::Dest {
        dest: dest.to_path_buf(),
        source,
    };
    match fs::read_dir(dest) {
        Ok(mut listing) => match listing.next() {
            None => Ok(()),
            Some(Ok(_)) => Err(ExtractError::DestNotEmpty {
                dest: dest.to_path_buf(),
            }),
            Some(Err(source)) => Err(dest_error(source)),
        },
        Err(source) if source.kind() == io::ErrorKind::NotFound => {
            fs::create_dir_all(dest).map_err(dest_error)
        }
        Err(source) => Err(dest_error(source)),
    }
}

/// Fails reads once the decompressed stream passes its budget; skipped entry data counts too.
struct StreamBudget<R> {
    inner: R,
    remaining: u64,
    exceeded: Rc<Cell<bool>>,
}

impl<R: Read> Read for StreamBudget<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        match self.remaining.checked_sub(n as u64) {
            Some(remaining) => {
                self.remaining = remaining;
                Ok(n)
            }
            None => {
                self.exceeded.set(true);
                Err(io::Error::other(
                    "decompressed stream exceeds its size limit",
                ))
            }
        }
    }
}

struct Extractor<'a> {
    archive: &'a Path,
    dest: &'a Path,
    layout: Layout,
    admission: &'a mut dyn Admission,
    opts: ExtractOptions,
    stream_limit: u64,
    exceeded: Rc<Cell<bool>>,
    /// The top-level folder, set by the first entry that has a path.
    top: Option<OsString>,
    /// Paths (relative to dest) known to be real directories, never symlinks.
    real_dirs: HashSet<PathBuf>,
    /// Paths (relative to dest) currently holding a regular file from this archive, with its
    /// checked sha256 when the admission pinned one.
    regular_files: HashMap<PathBuf, Option<String>>,
    dir_times: Vec<(PathBuf, String, SystemTime)>,
    entries: u64,
    report: ExtractReport,
    buf: Vec<u8>,
}

impl Extractor<'_> {
    fn entry<R: Read>(
        &mut self,
        entry: &mut tar::Entry<R>,
        name: &str,
    ) -> Result<(), ExtractError> {
        self.entries += 1;
        if self.entries > self.opts.max_entries {
            return Err(ExtractError::TooManyEntries {
                archive: self.archive.to_path_buf(),
                limit: self.opts.max_entries,
            });
        }
        let kind = entry.header().entry_type();
        if kind == EntryType::XGlobalHeader {
            return Ok(());
        }
        let raw_path = entry
            .path()
            .map_err(|source| self.header_error(name, source))?;
        let rel = self.strip_top(&raw_path, name, true)?;
        if rel.as_os_str().is_empty() {
            // The top folder itself (or `./`): dest stands in for it.
            return match (kind, self.layout) {
                (EntryType::Directory, _) => Ok(()),
                (_, Layout::StripTopFolder) => Err(ExtractError::NoTopFolder {
                    archive: self.archive.to_path_buf(),
                    entry: name.to_owned(),
                }),
                (_, Layout::AsIs) => Err(self.unsafe_path(name, "an empty path")),
            };
        }
        match kind {
            EntryType::Directory => self.directory(entry, &rel, name),
            EntryType::Regular | EntryType::Continuous => self.regular(entry, &rel, name),
            EntryType::Symlink => self.symlink(entry, &rel, name),
            EntryType::Link => self.hardlink(entry, &rel, name),
            other => Err(ExtractError::UnsupportedEntry {
                archive: self.archive.to_path_buf(),
                entry: name.to_owned(),
                kind: describe_kind(other),
            }),
        }
    }

    /// Maps an archive path to a path relative to dest; `claim` lets it fix the top folder.
    fn strip_top(&mut self, raw: &Path, name: &str, claim: bool) -> Result<PathBuf, ExtractError> {
        let mut parts = Vec::new();
        for component in raw.components() {
            match component {
                Component::Normal(part) => parts.push(part),
                Component::CurDir => {}
                Component::ParentDir => return Err(self.unsafe_path(name, "a `..` component")),
                Component::RootDir | Component::Prefix(_) => {
                    return Err(self.unsafe_path(name, "an absolute path"));
                }
            }
        }
        if self.layout == Layout::AsIs {
            return Ok(parts.iter().collect());
        }
        let Some((first, rest)) = parts.split_first() else {
            return Ok(PathBuf::new());
        };
        match &self.top {
            Some(top) if top.as_os_str() == *first => {}
            Some(_) => return Err(self.not_in_top(name)),
            None if claim => self.top = Some(first.to_os_string()),
            None => return Err(self.not_in_top(name)),
        }
        Ok(rest.iter().collect())
    }

    fn directory<R: Read>(
        &mut self,
        entry: &mut tar::Entry<R>,
        rel: &Path,
        name: &str,
    ) -> Result<(), ExtractError> {
        let mode = entry
            .header()
            .mode()
            .map_err(|source| self.header_error(name, source))?;
        self.admit(rel, EntryKind::Directory, name)?;
        self.ensure_dir(rel, name)?;
        let path = self.dest.join(rel);
        fs::set_permissions(&path, Permissions::from_mode(dir_mode(mode)))
            .map_err(|source| self.write_error(name, &path, source))?;
        if let Some(mtime) = entry_mtime(entry) {
            // Applied at the end: creating children would bump it again.
            self.dir_times
                .push((rel.to_path_buf(), name.to_owned(), mtime));
        }
        Ok(())
    }

    fn regular<R: Read>(
        &mut self,
        entry: &mut tar::Entry<R>,
        rel: &Path,
        name: &str,
    ) -> Result<(), ExtractError> {
        let size = entry.size();
        let mode = entry
            .header()
            .mode()
            .map_err(|source| self.header_error(name, source))?;
        let executable = mode & 0o111 != 0;
        // The caller's declared size first: its refusal says more than the total's.
        let pinned = self.admit(rel, EntryKind::File { size, executable }, name)?;
        if self.report.bytes.saturating_add(size) > self.opts.max_total_bytes {
            return Err(ExtractError::TooManyBytes {
                archive: self.archive.to_path_buf(),
                entry: name.to_owned(),
                size,
                limit: self.opts.max_total_bytes,
            });
        }
        let mut hasher = pinned.as_ref().map(|_| Sha256::new());
        let mtime = entry_mtime(entry);
        self.ensure_parent(rel, name)?;
        let path = self.dest.join(rel);
        // create_new (O_EXCL) never follows a symlink left at the final component.
        let create = |path: &Path| {
            OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(path)
        };
        let mut file = match create(&path) {
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                self.clear_slot(rel, name)?;
                create(&path)
            }
            other => other,
        }
        .map_err(|source| self.write_error(name, &path, source))?;

        let mut written = 0u64;
        loop {
            let n = match entry.read(&mut self.buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(source) => return Err(self.entry_read_error(source, name)),
            };
            if let Some(h) = hasher.as_mut() {
                h.update(&self.buf[..n]);
            }
            file.write_all(&self.buf[..n])
                .map_err(|source| self.write_error(name, &path, source))?;
            written += n as u64;
        }
        if written != size {
            return Err(ExtractError::Truncated {
                archive: self.archive.to_path_buf(),
                entry: name.to_owned(),
                expected: size,
                actual: written,
            });
        }
        if let (Some(expected), Some(h)) = (&pinned, hasher) {
            let actual = hex::encode(h.finalize());
            if actual != *expected {
                return Err(ExtractError::ContentMismatch {
                    archive: self.archive.to_path_buf(),
                    entry: name.to_owned(),
                    expected: expected.clone(),
                    actual,
                });
            }
        }
        file.set_permissions(Permissions::from_mode(file_mode(mode)))
            .map_err(|source| self.write_error(name, &path, source))?;
        if let Some(mtime) = mtime {
            file.set_times(FileTimes::new().set_modified(mtime))
                .map_err(|source| self.write_error(name, &path, source))?;
        }
        self.report.files += 1;
        self.report.bytes += written;
        self.regular_files.insert(rel.to_path_buf(), pinned);
        Ok(())
    }

    fn symlink<R: Read>(
        &mut self,
        entry: &mut tar::Entry<R>,
        rel: &Path,
        name: &str,
    ) -> Result<(), ExtractError> {
        let target = entry
            .link_name()
            .map_err(|source| self.header_error(name, source))?
            .ok_or_else(|| self.header_error(name, io::Error::other("symlink without a target")))?
            .into_owned();
        if !symlink_stays_inside(rel, &target) {
            return Err(ExtractError::SymlinkEscapes {
                archive: self.archive.to_path_buf(),
                entry: name.to_owned(),
                target: target.to_string_lossy().into_owned(),
            });
        }
        self.admit(rel, EntryKind::Symlink { target: &target }, name)?;
        self.ensure_parent(rel, name)?;
        let path = self.dest.join(rel);
        let result = match std::os::unix::fs::symlink(&target, &path) {
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                self.clear_slot(rel, name)?;
                std::os::unix::fs::symlink(&target, &path)
            }
            other => other,
        };
        result.map_err(|source| self.write_error(name, &path, source))
    }

    fn hardlink<R: Read>(
        &mut self,
        entry: &mut tar::Entry<R>,
        rel: &Path,
        name: &str,
    ) -> Result<(), ExtractError> {
        let raw_target = entry
            .link_name()
            .map_err(|source| self.header_error(name, source))?
            .ok_or_else(|| self.header_error(name, io::Error::other("hard link without a target")))?
            .into_owned();
        let archive = self.archive;
        let refused = || ExtractError::HardlinkTarget {
            archive: archive.to_path_buf(),
            entry: name.to_owned(),
            target: raw_target.to_string_lossy().into_owned(),
        };
        let target = self
            .strip_top(&raw_target, name, false)
            .map_err(|_| refused())?;
        let Some(sha256) = self.regular_files.get(&target).filter(|_| target != rel) else {
            return Err(refused());
        };
        let sha256 = sha256.clone();
        self.admit(
            rel,
            EntryKind::Hardlink {
                target: &target,
                sha256: sha256.as_deref(),
            },
            name,
        )?;
        self.ensure_parent(rel, name)?;
        let source_path = self.dest.join(&target);
        let path = self.dest.join(rel);
        let result = match fs::hard_link(&source_path, &path) {
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                self.clear_slot(rel, name)?;
                fs::hard_link(&source_path, &path)
            }
            other => other,
        };
        result.map_err(|source| self.write_error(name, &path, source))?;
        self.report.files += 1;
        self.regular_files.insert(rel.to_path_buf(), sha256);
        Ok(())
    }

    /// The caller's rules; a refusal names the entry and the caller's reason.
    fn admit(
        &mut self,
        rel: &Path,
        kind: EntryKind<'_>,
        name: &str,
    ) -> Result<Option<String>, ExtractError> {
        self.admission
            .admit(&EntryView { path: rel, kind })
            .map_err(|reason| ExtractError::Refused {
                archive: self.archive.to_path_buf(),
                entry: name.to_owned(),
                reason,
            })
    }

    fn ensure_parent(&mut self, rel: &Path, name: &str) -> Result<(), ExtractError> {
        match rel.parent() {
            Some(parent) => self.ensure_dir(parent, name),
            None => Ok(()),
        }
    }

    /// Creates `rel` and its ancestors as real directories, refusing any symlink on the way.
    fn ensure_dir(&mut self, rel: &Path, name: &str) -> Result<(), ExtractError> {
        if rel.as_os_str().is_empty() || self.real_dirs.contains(rel) {
            return Ok(());
        }
        let mut prefix = PathBuf::new();
        for part in rel.components() {
            prefix.push(part);
            if self.real_dirs.contains(&prefix) {
                continue;
            }
            let path = self.dest.join(&prefix);
            match fs::symlink_metadata(&path) {
                Ok(meta) if meta.file_type().is_dir() => {}
                Ok(meta) if meta.file_type().is_symlink() => {
                    return Err(ExtractError::ThroughSymlink {
                        archive: self.archive.to_path_buf(),
                        entry: name.to_owned(),
                        symlink: prefix,
                    });
                }
                Ok(_) => {
                    return Err(ExtractError::NotADirectory {
                        archive: self.archive.to_path_buf(),
                        entry: name.to_owned(),
                        path: prefix,
                        found: "file",
                    });
                }
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    fs::create_dir(&path)
                        .map_err(|source| self.write_error(name, &path, source))?;
                }
                Err(source) => return Err(self.write_error(name, &path, source)),
            }
            self.real_dirs.insert(prefix.clone());
        }
        Ok(())
    }

    /// Removes a file or symlink at `rel` so a later entry can replace it, as tar does.
    fn clear_slot(&mut self, rel: &Path, name: &str) -> Result<(), ExtractError> {
        let path = self.dest.join(rel);
        let meta =
            fs::symlink_metadata(&path).map_err(|source| self.write_error(name, &path, source))?;
        if meta.is_dir() {
            return Err(ExtractError::ReplacesDirectory {
                archive: self.archive.to_path_buf(),
                entry: name.to_owned(),
                path: rel.to_path_buf(),
            });
        }
        fs::remove_file(&path).map_err(|source| self.write_error(name, &path, source))?;
        self.regular_files.remove(rel);
        Ok(())
    }

    fn finish(self) -> Result<ExtractReport, ExtractError> {
        if self.top.is_none() && self.layout == Layout::StripTopFolder {
            return Err(ExtractError::Empty {
                archive: self.archive.to_path_buf(),
            });
        }
        for (rel, name, mtime) in &self.dir_times {
            let path = self.dest.join(rel);
            File::open(&path)
                .and_then(|dir| dir.set_times(FileTimes::new().set_modified(*mtime)))
                .map_err(|source| self.write_error(name, &path, source))?;
        }
        Ok(self.report)
    }

    fn read_error(&self, source: io::Error, after: Option<String>) -> ExtractError {
        if self.exceeded.get() {
            ExtractError::StreamTooLarge {
                archive: self.archive.to_path_buf(),
                limit: self.stream_limit,
            }
        } else {
            ExtractError::Read {
                archive: self.archive.to_path_buf(),
                after,
                source,
            }
        }
    }

    fn entry_read_error(&self, source: io::Error, name: &str) -> ExtractError {
        match self.read_error(source, None) {
            ExtractError::Read {
                archive, source, ..
            } => ExtractError::ReadEntry {
                archive,
                entry: name.to_owned(),
                source,
            },
            other => other,
        }
    }

    fn write_error(&self, name: &str, path: &Path, source: io::Error) -> ExtractError {
        ExtractError::Write {
            archive: self.archive.to_path_buf(),
            entry: name.to_owned(),
            path: path.to_path_buf(),
            source,
        }
    }

    fn header_error(&self, name: &str, source: io::Error) -> ExtractError {
        ExtractError::Header {
            archive: self.archive.to_path_buf(),
            entry: name.to_owned(),
            source,
        }
    }

    fn unsafe_path(&self, name: &str, found: &'static str) -> ExtractError {
        ExtractError::UnsafePath {
            archive: self.archive.to_path_buf(),
            entry: name.to_owned(),
            found,
        }
    }

    fn not_in_top(&self, name: &str) -> ExtractError {
        ExtractError::NotInTopFolder {
            archive: self.archive.to_path_buf(),
            entry: name.to_owned(),
            top: self
                .top
                .as_ref()
                .map(|top| top.to_string_lossy().into_owned())
                .unwrap_or_default(),
        }
    }
}

/// True if a symlink at `link` (relative to dest) with `target` resolves inside dest.
fn symlink_stays_inside(link: &Path, target: &Path) -> bool {
    symlink_stays_within(link, target, 0)
}

/// True if a symlink at `link` (relative to dest) with `target` resolves inside the first
/// `root_depth` components of `link` (`packages-v1/<key>` is depth 2): a bundle's entry.
///
/// `..` is allowed only before the first name: after a name, which may itself be a symlink,
/// the kernel resolves `..` physically and a lexical check would be fooled (`s -> ..`,
/// `t -> s/s/../..`). The leading `..`s climb real directories, as the policy makes every
/// directory on the way to an entry, and every symlink they may pass later obeys this rule
/// too, so what holds lexically here holds physically.
pub fn symlink_stays_within(link: &Path, target: &Path, root_depth: usize) -> bool {
    let parts = link.components().count();
    if link
        .components()
        .any(|c| !matches!(c, Component::Normal(_)))
        || parts <= root_depth
    {
        return false;
    }
    let depth = parts - 1 - root_depth;
    let mut up = 0;
    let mut named = false;
    for component in target.components() {
        match component {
            Component::RootDir | Component::Prefix(_) => return false,
            Component::CurDir => {}
            Component::ParentDir if named => return false,
            Component::ParentDir => up += 1,
            Component::Normal(_) => named = true,
        }
    }
    !target.as_os_str().is_empty() && up <= depth
}

fn describe_kind(kind: EntryType) -> String {
    match kind {
        EntryType::Char => "a character device".to_owned(),
        EntryType::Block => "a block device".to_owned(),
        EntryType::Fifo => "a FIFO".to_owned(),
        EntryType::GNUSparse => "a GNU sparse file".to_owned(),
        other => format!("an entry of type {:?}", other.as_byte() as char),
    }
}

/// Read/exec bits as archived, owner read/write forced; no setuid/setgid/sticky, no g/o write.
fn file_mode(mode: u32) -> u32 {
    (mode & 0o755) | 0o600
}

/// As `file_mode`, plus owner search so later entries can be written inside.
fn dir_mode(mode: u32) -> u32 {
    (mode & 0o755) | 0o700
}

/// The entry's mtime, from its pax record when present (sub-second), else its header.
fn entry_mtime<R: Read>(entry: &mut tar::Entry<R>) -> Option<SystemTime> {
    if let Ok(Some(extensions)) = entry.pax_extensions() {
        for extension in extensions.flatten() {
            if extension.key() == Ok("mtime")
                && let Some(mtime) = extension.value().ok().and_then(parse_pax_time)
            {
                return Some(mtime);
            }
        }
    }
    let seconds = entry.header().mtime().ok()?;
    UNIX_EPOCH.checked_add(Duration::from_secs(seconds))
}

/// Parses a non-negative pax time such as `1700000000.25`.
fn parse_pax_time(value: &str) -> Option<SystemTime> {
    let (seconds, fraction) = value.split_once('.').unwrap_or((value, ""));
    let seconds: u64 = seconds.parse().ok()?;
    let digits: String = fraction.chars().take(9).collect();
    let nanos = if digits.is_empty() {
        0
    } else {
        let parsed: u32 = digits.parse().ok()?;
        parsed * 10u32.pow(9 - digits.len() as u32)
    };
    UNIX_EPOCH.checked_add(Duration::new(seconds, nanos))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;
    use tempfile::TempDir;

    const MTIME: u64 = 1_700_000_000;

    /// Builds tar streams; `raw` writes name bytes straight into the header so `..` and
    /// absolute names reach the archive (the tar crate's path setters refuse them).
    struct TarStream {
        builder: tar::Builder<Vec<u8>>,
    }

    impl TarStream {
        fn new() -> Self {
            TarStream {
                builder: tar::Builder::new(Vec::new()),
            }
        }

        fn raw(&mut self, name: &[u8], kind: EntryType, mode: u32, link: &[u8], data: &[u8]) {
            let mut header = tar::Header::new_gnu();
            {
                let old = header.as_old_mut();
                old.name[..name.len()].copy_from_slice(name);
                old.linkname[..link.len()].copy_from_slice(link);
            }
            header.set_entry_type(kind);
            if kind == EntryType::GNUSparse {
                // A well-formed empty sparse map, so the tar crate hands the entry to us.
                header.as_gnu_mut().unwrap().set_real_size(0);
            }
            header.set_mode(mode);
            header.set_size(data.len() as u64);
            header.set_mtime(MTIME);
            header.set_cksum();
            self.builder.append(&header, data).unwrap();
        }

        fn dir(&mut self, name: &str) {
            self.raw(name.as_bytes(), EntryType::Directory, 0o755, b"", b"");
        }

        fn file(&mut self, name: &str, data: &[u8]) {
            self.raw(name.as_bytes(), EntryType::Regular, 0o644, b"", data);
        }

        fn symlink(&mut self, name: &str, target: &str) {
            self.raw(
                name.as_bytes(),
                EntryType::Symlink,
                0o777,
                target.as_bytes(),
                b"",
            );
        }

        fn hardlink(&mut self, name: &str, target: &str) {
            self.raw(
                name.as_bytes(),
                EntryType::Link,
                0o644,
                target.as_bytes(),
                b"",
            );
        }

        fn pax_global_header(&mut self, record: &str) {
            let data = format!("{} {record}\n", record.len() + 2 + 1 + 1);
            assert_eq!(data.len(), record.len() + 2 + 1 + 1);
            self.raw(
                b"pax_global_header",
                EntryType::XGlobalHeader,
                0o666,
                b"",
                data.as_bytes(),
            );
        }

        fn finish(self) -> Vec<u8> {
            self.builder.into_inner().unwrap()
        }
    }

    fn compress(tar_bytes: &[u8], compression: Compression) -> Vec<u8> {
        match compression {
            Compression::Gzip => {
                let mut encoder =
                    flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                encoder.write_all(tar_bytes).unwrap();
                encoder.finish().unwrap()
            }
            Compression::Xz => {
                let mut encoder = xz2::write::XzEncoder::new(Vec::new(), 1);
                encoder.write_all(tar_bytes).unwrap();
                encoder.finish().unwrap()
            }
            Compression::Bzip2 => {
                let mut encoder =
                    bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::fast());
                encoder.write_all(tar_bytes).unwrap();
                encoder.finish().unwrap()
            }
            Compression::Zstd => zstd::stream::encode_all(tar_bytes, 1).unwrap(),
            Compression::None => tar_bytes.to_vec(),
        }
    }

    const ALL: [(Compression, &str); 5] = [
        (Compression::Gzip, "tar.gz"),
        (Compression::Xz, "tar.xz"),
        (Compression::Bzip2, "tar.bz2"),
        (Compression::Zstd, "tar.zst"),
        (Compression::None, "tar"),
    ];

    /// A temp root holding `dest`, the archive, and a sentinel path hostile entries aim at.
    struct Scene {
        _tmp: TempDir,
        root: PathBuf,
        dest: PathBuf,
        sentinel: PathBuf,
    }

    impl Scene {
        fn new() -> Self {
            let tmp = TempDir::new().unwrap();
            let root = tmp.path().to_path_buf();
            Scene {
                dest: root.join("dest"),
                sentinel: root.join("sentinel"),
                root,
                _tmp: tmp,
            }
        }

        fn archive(&self, tar_bytes: &[u8]) -> PathBuf {
            let path = self.root.join("input.tar");
            fs::write(&path, tar_bytes).unwrap();
            path
        }

        fn extract(&self, tar_bytes: &[u8]) -> Result<ExtractReport, ExtractError> {
            extract(
                &self.archive(tar_bytes),
                &self.dest,
                &ExtractOptions::default(),
            )
        }

        /// Extracts a hostile archive, expects an error, and checks nothing appeared outside dest.
        fn refuse(&self, tar_bytes: &[u8]) -> ExtractError {
            let archive = self.archive(tar_bytes);
            let before = self.outside_listing();
            let err = extract(&archive, &self.dest, &ExtractOptions::default())
                .expect_err("hostile archive was accepted");
            assert!(
                fs::symlink_metadata(&self.sentinel).is_err(),
                "sentinel outside dest was created ({err})"
            );
            assert_eq!(
                before,
                self.outside_listing(),
                "something appeared outside dest"
            );
            err
        }

        fn outside_listing(&self) -> Vec<OsString> {
            let mut names: Vec<_> = fs::read_dir(&self.root)
                .unwrap()
                .map(|e| e.unwrap().file_name())
                .filter(|n| n != "dest")
                .collect();
            names.sort();
            names
        }
    }

    // ---- compression detection ----

    #[test]
    fn compression_from_file_name() {
        let cases = [
            ("curl-8.14.1.tar.gz", Some(Compression::Gzip)),
            ("zlib.TGZ", Some(Compression::Gzip)),
            ("openssl-3.5.0.tar.xz", Some(Compression::Xz)),
            ("x.txz", Some(Compression::Xz)),
            ("x.tar.bz2", Some(Compression::Bzip2)),
            ("x.tbz2", Some(Compression::Bzip2)),
            ("x.tar.zst", Some(Compression::Zstd)),
            ("x.tzst", Some(Compression::Zstd)),
            ("x.tar", Some(Compression::None)),
            ("x.zip", None),
            ("0123abcd", None),
        ];
        for (name, expected) in cases {
            assert_eq!(Compression::from_file_name(name), expected, "{name}");
        }
    }

    #[test]
    fn compression_sniffed_from_magic_bytes() {
        let mut stream = TarStream::new();
        stream.file("top/a", b"a");
        let tar_bytes = stream.finish();
        for (compression, _) in ALL {
            let bytes = compress(&tar_bytes, compression);
            assert_eq!(
                Compression::sniff(&bytes),
                Some(compression),
                "{compression}"
            );
        }
        assert_eq!(Compression::sniff(b"PK\x03\x04"), None);
        assert_eq!(Compression::sniff(b""), None);
    }

    #[test]
    fn extensionless_archive_is_sniffed() {
        let mut stream = TarStream::new();
        stream.file("top/a.txt", b"hello");
        let tar_bytes = stream.finish();
        for (compression, _) in ALL {
            let scene = Scene::new();
            // Like a download stored under its hash, with no suffix.
            let path = scene.root.join("9f2c4e");
            fs::write(&path, compress(&tar_bytes, compression)).unwrap();
            extract(&path, &scene.dest, &ExtractOptions::default()).unwrap();
            assert_eq!(fs::read(scene.dest.join("a.txt")).unwrap(), b"hello");
        }
    }

    #[test]
    fn name_and_magic_disagreeing_is_an_error() {
        let mut stream = TarStream::new();
        stream.file("top/a", b"a");
        let scene = Scene::new();
        let path = scene.root.join("x.tar.xz");
        fs::write(&path, compress(&stream.finish(), Compression::Gzip)).unwrap();
        let err = extract(&path, &scene.dest, &ExtractOptions::default()).unwrap_err();
        assert!(
            matches!(
                err,
                ExtractError::CompressionMismatch {
                    expected: Compression::Xz,
                    found: Compression::Gzip,
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn unknown_compression_is_an_error() {
        let scene = Scene::new();
        let path = scene.root.join("blob");
        fs::write(&path, b"not an archive at all").unwrap();
        let err = extract(&path, &scene.dest, &ExtractOptions::default()).unwrap_err();
        assert!(
            matches!(err, ExtractError::UnknownCompression { .. }),
            "{err}"
        );
    }

    // ---- realistic round trip ----

    struct Expected {
        files: Vec<(String, Vec<u8>)>,
    }

    /// A source-like tree: pax global header, nested dirs, ~400 files, an executable
    /// configure newer than configure.ac, a relative symlink, a hard link, a long path.
    fn realistic_tarball() -> (Vec<u8>, Expected) {
        let mut builder = tar::Builder::new(Vec::new());
        let mut files = Vec::new();
        let top = "curl-8.14.1";

        let mut global = tar::Header::new_ustar();
        let record = "52 comment=0123456789abcdef0123456789abcdef01234567\n";
        global.set_entry_type(EntryType::XGlobalHeader);
        global.set_size(record.len() as u64);
        global.set_mode(0o666);
        builder
            .append_data(&mut global, "pax_global_header", record.as_bytes())
            .unwrap();

        let add_dir = |builder: &mut tar::Builder<Vec<u8>>, name: &str| {
            let mut header = tar::Header::new_ustar();
            header.set_entry_type(EntryType::Directory);
            header.set_mode(0o755);
            header.set_mtime(MTIME);
            header.set_size(0);
            builder
                .append_data(&mut header, format!("{top}/{name}"), io::empty())
                .unwrap();
        };
        let add_file = |builder: &mut tar::Builder<Vec<u8>>,
                        files: &mut Vec<(String, Vec<u8>)>,
                        name: &str,
                        data: Vec<u8>,
                        mode: u32,
                        mtime: u64| {
            let mut header = tar::Header::new_ustar();
            header.set_entry_type(EntryType::Regular);
            header.set_mode(mode);
            header.set_mtime(mtime);
            header.set_size(data.len() as u64);
            builder
                .append_data(&mut header, format!("{top}/{name}"), &data[..])
                .unwrap();
            files.push((name.to_owned(), data));
        };

        add_dir(&mut builder, "");
        add_file(
            &mut builder,
            &mut files,
            "configure.ac",
            b"AC_INIT\n".to_vec(),
            0o644,
            MTIME,
        );
        add_file(
            &mut builder,
            &mut files,
            "configure",
            b"#!/bin/sh\necho configured\n".to_vec(),
            0o755,
            MTIME + 60,
        );
        for d in ["lib", "lib/vtls", "include", "include/curl", "src", "docs"] {
            add_dir(&mut builder, d);
        }
        for i in 0..400 {
            // tests/data is never listed as a directory entry: parents are created implicitly.
            let dir = ["lib", "lib/vtls", "src", "docs", "tests/data"][i % 5];
            let data = format!("/* file {i} */\n").repeat(i % 50 + 1).into_bytes();
            add_file(
                &mut builder,
                &mut files,
                &format!("{dir}/file_{i}.c"),
                data,
                0o644,
                MTIME,
            );
        }
        let long = format!("tests/{}/deep.txt", "long-directory-name".repeat(8));
        add_file(
            &mut builder,
            &mut files,
            &long,
            b"deep\n".to_vec(),
            0o644,
            MTIME,
        );

        let mut link = tar::Header::new_ustar();
        link.set_entry_type(EntryType::Symlink);
        link.set_mode(0o777);
        link.set_mtime(MTIME);
        link.set_size(0);
        builder
            .append_link(
                &mut link,
                format!("{top}/include/curl/alias.c"),
                "../../lib/file_0.c",
            )
            .unwrap();

        let mut hard = tar::Header::new_ustar();
        hard.set_entry_type(EntryType::Link);
        hard.set_mode(0o644);
        hard.set_mtime(MTIME);
        hard.set_size(0);
        builder
            .append_link(
                &mut hard,
                format!("{top}/docs/configure.copy"),
                format!("{top}/configure"),
            )
            .unwrap();

        (builder.into_inner().unwrap(), Expected { files })
    }

    #[test]
    fn realistic_tarball_round_trips_in_every_format() {
        let (tar_bytes, expected) = realistic_tarball();
        for (compression, suffix) in ALL {
            let scene = Scene::new();
            let path = scene.root.join(format!("curl-8.14.1.{suffix}"));
            fs::write(&path, compress(&tar_bytes, compression)).unwrap();
            let report = extract(&path, &scene.dest, &ExtractOptions::default())
                .unwrap_or_else(|e| panic!("{compression}: {e}"));

            let bytes: u64 = expected.files.iter().map(|(_, d)| d.len() as u64).sum();
            assert_eq!(
                report.files,
                expected.files.len() as u64 + 1,
                "{compression}"
            );
            assert_eq!(report.bytes, bytes, "{compression}");
            for (name, data) in &expected.files {
                assert_eq!(&fs::read(scene.dest.join(name)).unwrap(), data, "{name}");
            }
            assert!(!scene.dest.join("pax_global_header").exists());
            assert!(
                !scene.dest.join("curl-8.14.1").exists(),
                "top folder not stripped"
            );

            let configure = fs::metadata(scene.dest.join("configure")).unwrap();
            assert_eq!(configure.mode() & 0o7777, 0o755);
            let configure_ac = fs::metadata(scene.dest.join("configure.ac")).unwrap();
            assert_eq!(configure_ac.mode() & 0o7777, 0o644);
            assert_eq!(configure.mtime() as u64, MTIME + 60);
            assert_eq!(configure_ac.mtime() as u64, MTIME);
            assert!(configure.modified().unwrap() > configure_ac.modified().unwrap());
            let lib = fs::metadata(scene.dest.join("lib")).unwrap();
            assert_eq!(lib.mtime() as u64, MTIME, "directory mtime");

            let alias = scene.dest.join("include/curl/alias.c");
            assert_eq!(
                fs::read_link(&alias).unwrap(),
                Path::new("../../lib/file_0.c")
            );
            assert_eq!(
                fs::read(&alias).unwrap(),
                fs::read(scene.dest.join("lib/file_0.c")).unwrap()
            );
            let copy = fs::metadata(scene.dest.join("docs/configure.copy")).unwrap();
            assert_eq!(copy.ino(), configure.ino(), "hard link shares the inode");
        }
    }

    #[test]
    fn dest_is_created_when_missing_and_must_be_empty_otherwise() {
        let mut stream = TarStream::new();
        stream.file("top/a", b"a");
        let tar_bytes = stream.finish();
        let scene = Scene::new();
        let archive = scene.archive(&tar_bytes);
        let nested = scene.dest.join("x/y");
        extract(&archive, &nested, &ExtractOptions::default()).unwrap();
        assert!(nested.join("a").is_file());
        let err = extract(&archive, &nested, &ExtractOptions::default()).unwrap_err();
        assert!(matches!(err, ExtractError::DestNotEmpty { .. }), "{err}");
        let empty = scene.dest.join("empty");
        fs::create_dir(&empty).unwrap();
        extract(&archive, &empty, &ExtractOptions::default()).unwrap();
    }

    #[test]
    fn pax_mtime_and_later_duplicates_win() {
        let mut builder = tar::Builder::new(Vec::new());
        builder
            .append_pax_extensions([("mtime", b"1600000000.5".as_slice())])
            .unwrap();
        let mut header = tar::Header::new_ustar();
        header.set_mode(0o644);
        header.set_mtime(MTIME);
        header.set_size(3);
        builder
            .append_data(&mut header, "top/a", &b"old"[..])
            .unwrap();
        header.set_size(3);
        builder
            .append_data(&mut header, "top/b", &b"new"[..])
            .unwrap();
        header.set_size(5);
        builder
            .append_data(&mut header, "top/b", &b"newer"[..])
            .unwrap();
        let scene = Scene::new();
        scene.extract(&builder.into_inner().unwrap()).unwrap();
        let a = fs::metadata(scene.dest.join("a")).unwrap();
        assert_eq!((a.mtime(), a.mtime_nsec()), (1_600_000_000, 500_000_000));
        assert_eq!(fs::read(scene.dest.join("b")).unwrap(), b"newer");
    }

    // ---- hostile archives ----

    #[test]
    fn parent_dir_entry_is_refused() {
        let scene = Scene::new();
        let mut stream = TarStream::new();
        stream.dir("top/");
        // After stripping `top`, `../sentinel` from dest is the sentinel.
        stream.file("top/../sentinel", b"pwned");
        let err = scene.refuse(&stream.finish());
        match err {
            ExtractError::UnsafePath { entry, found, .. } => {
                assert_eq!(entry, "top/../sentinel");
                assert_eq!(found, "a `..` component");
            }
            other => panic!("unexpected: {other}"),
        }
    }

    #[test]
    fn absolute_entry_is_refused() {
        let scene = Scene::new();
        let mut stream = TarStream::new();
        stream.file(scene.sentinel.to_str().unwrap(), b"pwned");
        let err = scene.refuse(&stream.finish());
        assert!(
            matches!(
                &err,
                ExtractError::UnsafePath {
                    found: "an absolute path",
                    ..
                }
            ),
            "{err}"
        );
        assert!(
            err.to_string().contains("sentinel"),
            "error names the entry: {err}"
        );
    }

    #[test]
    fn symlink_escaping_with_dotdot_is_refused() {
        let scene = Scene::new();
        let mut stream = TarStream::new();
        stream.dir("top/");
        stream.symlink("top/esc", "..");
        stream.file("top/esc/sentinel", b"pwned");
        let err = scene.refuse(&stream.finish());
        assert!(matches!(err, ExtractError::SymlinkEscapes { .. }), "{err}");
        assert!(fs::symlink_metadata(scene.dest.join("esc")).is_err());
    }

    #[test]
    fn symlink_deep_dotdot_escape_is_refused() {
        let scene = Scene::new();
        let mut stream = TarStream::new();
        stream.symlink("top/a/b/esc", "../../../..");
        let err = scene.refuse(&stream.finish());
        assert!(matches!(err, ExtractError::SymlinkEscapes { .. }), "{err}");
    }

    #[test]
    fn symlink_with_absolute_target_is_refused() {
        let scene = Scene::new();
        let mut stream = TarStream::new();
        stream.symlink("top/abs", scene.root.to_str().unwrap());
        stream.file("top/abs/sentinel", b"pwned");
        let err = scene.refuse(&stream.finish());
        assert!(matches!(err, ExtractError::SymlinkEscapes { .. }), "{err}");

        let scene = Scene::new();
        let mut stream = TarStream::new();
        stream.symlink("top/passwd", "/etc/passwd");
        let err = scene.refuse(&stream.finish());
        assert!(matches!(err, ExtractError::SymlinkEscapes { .. }), "{err}");
    }

    #[test]
    fn symlink_dotdot_after_a_symlink_is_refused() {
        // Lexically `self/..` is dest, physically it is dest's parent.
        let scene = Scene::new();
        let mut stream = TarStream::new();
        stream.symlink("top/self", ".");
        stream.symlink("top/up", "self/..");
        stream.file("top/up/sentinel", b"pwned");
        let err = scene.refuse(&stream.finish());
        match err {
            ExtractError::SymlinkEscapes { entry, target, .. } => {
                assert_eq!((entry.as_str(), target.as_str()), ("top/up", "self/.."));
            }
            other => panic!("unexpected: {other}"),
        }
    }

    #[test]
    fn writing_through_a_symlink_is_refused() {
        // Two-step: an inside symlink is fine, but a later entry beneath it is not.
        let scene = Scene::new();
        let mut stream = TarStream::new();
        stream.dir("top/inner/");
        stream.symlink("top/link", "inner");
        stream.file("top/link/file", b"through");
        let err = scene.refuse(&stream.finish());
        match err {
            ExtractError::ThroughSymlink { symlink, .. } => {
                assert_eq!(symlink, Path::new("link"))
            }
            other => panic!("unexpected: {other}"),
        }
        assert!(!scene.dest.join("inner/file").exists());
    }

    #[test]
    fn directory_entry_at_a_symlink_is_refused() {
        let scene = Scene::new();
        let mut stream = TarStream::new();
        stream.dir("top/inner/");
        stream.symlink("top/link", "inner");
        stream.dir("top/link/");
        let err = scene.refuse(&stream.finish());
        assert!(matches!(err, ExtractError::ThroughSymlink { .. }), "{err}");
    }

    #[test]
    fn file_replacing_a_symlink_does_not_write_through_it() {
        let scene = Scene::new();
        let mut stream = TarStream::new();
        stream.file("top/target.txt", b"original");
        stream.symlink("top/link", "target.txt");
        stream.file("top/link", b"replacement");
        scene.extract(&stream.finish()).unwrap();
        assert_eq!(
            fs::read(scene.dest.join("target.txt")).unwrap(),
            b"original"
        );
        let link = scene.dest.join("link");
        assert!(fs::symlink_metadata(&link).unwrap().is_file());
        assert_eq!(fs::read(&link).unwrap(), b"replacement");
    }

    #[test]
    fn inside_symlinks_are_allowed() {
        let scene = Scene::new();
        let mut stream = TarStream::new();
        stream.file("top/lib/x.h", b"x");
        stream.symlink("top/include/curl/x.h", "../../lib/x.h");
        stream.symlink("top/include/here", ".");
        stream.symlink("top/include/root", "..");
        stream.symlink("top/dangling", "not/yet/there");
        scene.extract(&stream.finish()).unwrap();
        assert_eq!(fs::read(scene.dest.join("include/curl/x.h")).unwrap(), b"x");
    }

    #[test]
    fn hardlink_to_absolute_outside_file_is_refused() {
        let scene = Scene::new();
        let outside = scene.root.join("outside.txt");
        fs::write(&outside, b"secret").unwrap();
        let mut stream = TarStream::new();
        stream.file("top/a", b"a");
        stream.hardlink("top/h", outside.to_str().unwrap());
        let err = scene.refuse(&stream.finish());
        assert!(matches!(err, ExtractError::HardlinkTarget { .. }), "{err}");
        assert_eq!(fs::metadata(&outside).unwrap().nlink(), 1);
        assert!(fs::symlink_metadata(scene.dest.join("h")).is_err());
    }

    #[test]
    fn hardlink_with_dotdot_target_is_refused() {
        let scene = Scene::new();
        fs::write(scene.root.join("outside.txt"), b"secret").unwrap();
        let mut stream = TarStream::new();
        stream.file("top/a", b"a");
        stream.hardlink("top/h", "top/../../outside.txt");
        let err = scene.refuse(&stream.finish());
        assert!(matches!(err, ExtractError::HardlinkTarget { .. }), "{err}");
    }

    #[test]
    fn hardlink_to_anything_but_an_earlier_regular_file_is_refused() {
        type Build = fn(&mut TarStream);
        let cases: [(&str, Build); 5] = [
            ("later file", |s| {
                s.hardlink("top/h", "top/later");
                s.file("top/later", b"x");
            }),
            ("symlink", |s| {
                s.file("top/a", b"a");
                s.symlink("top/l", "a");
                s.hardlink("top/h", "top/l");
            }),
            ("directory", |s| {
                s.dir("top/d/");
                s.hardlink("top/h", "top/d");
            }),
            ("itself", |s| {
                s.file("top/h", b"h");
                s.hardlink("top/h", "top/h");
            }),
            ("other top folder", |s| {
                s.file("top/a", b"a");
                s.hardlink("top/h", "other/a");
            }),
        ];
        for (label, build) in cases {
            let scene = Scene::new();
            let mut stream = TarStream::new();
            build(&mut stream);
            let err = scene.refuse(&stream.finish());
            assert!(
                matches!(err, ExtractError::HardlinkTarget { .. }),
                "{label}: {err}"
            );
        }
    }

    #[test]
    fn hardlink_to_file_replaced_by_symlink_is_refused() {
        let scene = Scene::new();
        let mut stream = TarStream::new();
        stream.file("top/a", b"a");
        stream.file("top/b", b"b");
        stream.symlink("top/a", "b");
        stream.hardlink("top/h", "top/a");
        let err = scene.refuse(&stream.finish());
        assert!(matches!(err, ExtractError::HardlinkTarget { .. }), "{err}");
    }

    #[test]
    fn devices_and_fifos_are_refused() {
        for (kind, word) in [
            (EntryType::Char, "character device"),
            (EntryType::Block, "block device"),
            (EntryType::Fifo, "FIFO"),
            (EntryType::GNUSparse, "sparse"),
        ] {
            let scene = Scene::new();
            let mut stream = TarStream::new();
            stream.file("top/a", b"a");
            stream.raw(b"top/node", kind, 0o666, b"", b"");
            let err = scene.refuse(&stream.finish());
            assert!(
                matches!(&err, ExtractError::UnsupportedEntry { entry, .. } if entry == "top/node"),
                "{err}"
            );
            assert!(err.to_string().contains(word), "{err}");
            assert!(fs::symlink_metadata(scene.dest.join("node")).is_err());
        }
    }

    #[test]
    fn modes_are_neutralised() {
        let scene = Scene::new();
        let mut stream = TarStream::new();
        stream.raw(b"top/sticky/", EntryType::Directory, 0o1777, b"", b"");
        stream.raw(b"top/locked/", EntryType::Directory, 0o555, b"", b"");
        stream.raw(b"top/locked/inside", EntryType::Regular, 0o644, b"", b"in");
        stream.raw(b"top/suid", EntryType::Regular, 0o6755, b"", b"x");
        stream.raw(b"top/unreadable", EntryType::Regular, 0o000, b"", b"x");
        stream.raw(b"top/world-writable", EntryType::Regular, 0o777, b"", b"x");
        scene.extract(&stream.finish()).unwrap();
        let mode = |name: &str| fs::metadata(scene.dest.join(name)).unwrap().mode() & 0o7777;
        assert_eq!(mode("sticky"), 0o755);
        assert_eq!(mode("locked"), 0o755);
        assert_eq!(mode("suid"), 0o755);
        assert_eq!(mode("unreadable"), 0o600);
        assert_eq!(mode("world-writable"), 0o755);
        assert_eq!(fs::read(scene.dest.join("locked/inside")).unwrap(), b"in");
    }

    #[test]
    fn total_bytes_limit_stops_a_compressible_bomb() {
        let mut stream = TarStream::new();
        stream.file("top/small", b"ok");
        stream.file("top/bomb", &vec![0u8; 8 << 20]);
        // At the best level: flate2's zlib-rs backend (which pgp enables) makes the fastest
        // level's output of 8 MiB of zeros larger than a bomb's.
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        encoder.write_all(&stream.finish()).unwrap();
        let compressed = encoder.finish().unwrap();
        assert!(compressed.len() < 64 * 1024, "payload should compress well");
        let scene = Scene::new();
        let path = scene.root.join("bomb.tar.gz");
        fs::write(&path, compressed).unwrap();
        let opts = ExtractOptions {
            max_total_bytes: 1 << 20,
            ..ExtractOptions::default()
        };
        let err = extract(&path, &scene.dest, &opts).unwrap_err();
        match err {
            ExtractError::TooManyBytes {
                entry, size, limit, ..
            } => {
                assert_eq!(
                    (entry.as_str(), size, limit),
                    ("top/bomb", 8 << 20, 1 << 20)
                );
            }
            other => panic!("unexpected: {other}"),
        }
        assert!(
            !scene.dest.join("bomb").exists(),
            "nothing written before the check"
        );
    }

    #[test]
    fn entry_limit_stops_many_tiny_entries() {
        let mut stream = TarStream::new();
        for i in 0..50 {
            stream.file(&format!("top/f{i}"), b"");
        }
        let scene = Scene::new();
        let opts = ExtractOptions {
            max_entries: 10,
            ..ExtractOptions::default()
        };
        let err = extract(&scene.archive(&stream.finish()), &scene.dest, &opts).unwrap_err();
        assert!(
            matches!(err, ExtractError::TooManyEntries { limit: 10, .. }),
            "{err}"
        );
    }

    #[test]
    fn stream_limit_stops_data_that_is_never_written() {
        // A global header carrying 8 MiB is skipped, not written, yet must not be inflated forever.
        let mut stream = TarStream::new();
        stream.raw(
            b"pax_global_header",
            EntryType::XGlobalHeader,
            0o666,
            b"",
            &vec![b'x'; 8 << 20],
        );
        stream.file("top/a", b"a");
        let scene = Scene::new();
        let path = scene.root.join("skip.tar.zst");
        fs::write(&path, compress(&stream.finish(), Compression::Zstd)).unwrap();
        let opts = ExtractOptions {
            max_total_bytes: 1 << 20,
            max_entries: 10,
        };
        let err = extract(&path, &scene.dest, &opts).unwrap_err();
        assert!(matches!(err, ExtractError::StreamTooLarge { .. }), "{err}");
    }

    #[test]
    fn entries_outside_a_single_top_folder_are_refused() {
        let scene = Scene::new();
        let mut stream = TarStream::new();
        stream.file("one/a", b"a");
        stream.file("two/b", b"b");
        let err = scene.refuse(&stream.finish());
        match err {
            ExtractError::NotInTopFolder { entry, top, .. } => {
                assert_eq!((entry.as_str(), top.as_str()), ("two/b", "one"));
            }
            other => panic!("unexpected: {other}"),
        }

        let scene = Scene::new();
        let mut stream = TarStream::new();
        stream.file("README", b"no folder");
        let err = scene.refuse(&stream.finish());
        assert!(matches!(err, ExtractError::NoTopFolder { .. }), "{err}");
    }

    #[test]
    fn dot_slash_prefixed_archive_is_accepted() {
        let scene = Scene::new();
        let mut stream = TarStream::new();
        stream.dir("./");
        stream.dir("./top/");
        stream.file("./top/a", b"a");
        scene.extract(&stream.finish()).unwrap();
        assert_eq!(fs::read(scene.dest.join("a")).unwrap(), b"a");
    }

    #[test]
    fn file_replacing_a_directory_is_refused() {
        let scene = Scene::new();
        let mut stream = TarStream::new();
        stream.dir("top/d/");
        stream.file("top/d/keep", b"k");
        stream.file("top/d", b"file");
        let err = scene.refuse(&stream.finish());
        assert!(
            matches!(err, ExtractError::ReplacesDirectory { .. }),
            "{err}"
        );
    }

    #[test]
    fn entry_beneath_a_file_is_refused() {
        let scene = Scene::new();
        let mut stream = TarStream::new();
        stream.file("top/f", b"file");
        stream.file("top/f/x", b"x");
        let err = scene.refuse(&stream.finish());
        assert!(matches!(err, ExtractError::NotADirectory { .. }), "{err}");
    }

    #[test]
    fn truncated_and_empty_archives_are_errors() {
        let mut stream = TarStream::new();
        stream.file("top/a", &vec![7u8; 10_000]);
        let mut tar_bytes = stream.finish();
        tar_bytes.truncate(512 + 4096);
        let scene = Scene::new();
        let err = scene.refuse(&tar_bytes);
        assert!(
            matches!(
                err,
                ExtractError::Truncated { .. } | ExtractError::ReadEntry { .. }
            ),
            "{err}"
        );

        let scene = Scene::new();
        let mut stream = TarStream::new();
        stream.pax_global_header("comment=x");
        let err = scene.refuse(&stream.finish());
        assert!(matches!(err, ExtractError::Empty { .. }), "{err}");
    }

    // ---- properties (proptest: 256 cases each by default; PROPTEST_CASES=N for a long run) ----

    mod properties {
        use super::*;
        use proptest::prelude::*;

        /// One tar entry of a generated sequence.
        #[derive(Debug, Clone)]
        enum Op {
            Dir(String),
            File(String, usize, u32),
            Symlink(String, String),
            Hardlink(String, String),
            Fifo(String),
        }

        fn component() -> impl Strategy<Value = String> {
            prop_oneof![
                Just("a".to_string()),
                Just("b".to_string()),
                Just("s".to_string()),
                Just("..".to_string()),
                Just(".".to_string()),
                Just(String::new()),
                Just("outside".to_string()),
                Just("etc".to_string()),
                "[a-z.]{1,4}",
            ]
        }

        /// Hostile names: `..`, `.`, empty parts, absolute, names of things outside; most under
        /// `top/` so that the source-archive layout gets past its first check too.
        fn name() -> impl Strategy<Value = String> {
            let random =
                (0u8..10, prop::collection::vec(component(), 1..5)).prop_map(|(how, parts)| {
                    let p = parts.join("/");
                    match how {
                        0 => format!("/{p}"),
                        1 => p,
                        _ => format!("top/{p}"),
                    }
                });
            // Few names, so that entries meet: a link, then an entry or a link through it.
            let few = (
                any::<bool>(),
                prop::sample::select(vec!["s", "a/s", "a/t", "a/s/x", "s/a", "b", "a"]),
            )
                .prop_map(|(top, n)| {
                    if top {
                        format!("top/{n}")
                    } else {
                        n.to_string()
                    }
                });
            prop_oneof![2 => random, 3 => few]
        }

        /// Targets that climb through earlier links: `s/s/../..` walks down two names that
        /// may be links (`s -> .`, `a/s -> ..`) and back up, which lexically stays where it
        /// started and physically need not.
        fn climbing() -> impl Strategy<Value = String> {
            (
                1usize..3,
                prop::sample::select(vec!["s", "a/s"]),
                1usize..5,
                prop::sample::select(vec!["", "outside"]),
            )
                .prop_map(|(down, via, up, last)| {
                    let mut t = format!("{via}/").repeat(down);
                    t.push_str(&"../".repeat(up));
                    t.push_str(last);
                    if t.is_empty() { ".".to_string() } else { t }
                })
        }

        /// Link targets: relative with `..` anywhere, climbing through links, absolute, at the
        /// scene's outside dir.
        fn target() -> impl Strategy<Value = String> {
            prop_oneof![
                3 => prop::collection::vec(component(), 1..7).prop_map(|p| p.join("/")),
                4 => climbing(),
                2 => Just("..".to_string()),
                1 => Just(".".to_string()),
                1 => name(),
                1 => Just("/etc".to_string()),
                1 => Just("../outside".to_string()),
            ]
        }

        /// Link sequences: few short names, so that links meet and later ones go through
        /// earlier ones.
        fn link_name() -> impl Strategy<Value = String> {
            prop::collection::vec(prop::sample::select(vec!["a", "b", "s", "t"]), 1..4)
                .prop_map(|p| p.join("/"))
        }

        fn link_target() -> impl Strategy<Value = String> {
            prop_oneof![
                2 => climbing(),
                1 => Just("..".to_string()),
                1 => Just(".".to_string()),
                1 => prop::collection::vec(prop::sample::select(vec!["a", "s", "..", "."]), 1..8)
                    .prop_map(|p| p.join("/")),
            ]
        }

        fn op() -> impl Strategy<Value = Op> {
            prop_oneof![
                2 => name().prop_map(Op::Dir),
                3 => (name(), 0usize..64, prop::sample::select(vec![0o644, 0o755, 0o4755, 0o2777, 0o1777, 0o000]))
                    .prop_map(|(n, len, mode)| Op::File(n, len, mode)),
                6 => (name(), target()).prop_map(|(n, t)| Op::Symlink(n, t)),
                8 => (link_name(), link_target()).prop_map(|(n, t)| Op::Symlink(n, t)),
                2 => (name(), name()).prop_map(|(n, t)| Op::Hardlink(n, t)),
                1 => name().prop_map(Op::Fifo),
            ]
        }

        fn archive(ops: &[Op]) -> Vec<u8> {
            let mut stream = TarStream::new();
            for op in ops {
                match op {
                    Op::Dir(n) => stream.raw(n.as_bytes(), EntryType::Directory, 0o777, b"", b""),
                    Op::File(n, len, mode) => stream.raw(
                        n.as_bytes(),
                        EntryType::Regular,
                        *mode,
                        b"",
                        &vec![b'x'; *len],
                    ),
                    Op::Symlink(n, t) => {
                        stream.raw(n.as_bytes(), EntryType::Symlink, 0o777, t.as_bytes(), b"")
                    }
                    Op::Hardlink(n, t) => {
                        stream.raw(n.as_bytes(), EntryType::Link, 0o644, t.as_bytes(), b"")
                    }
                    Op::Fifo(n) => stream.raw(n.as_bytes(), EntryType::Fifo, 0o666, b"", b""),
                }
            }
            stream.finish()
        }

        /// Where `path` leads, following symlinks as the kernel does; components that do not
        /// exist are taken as they are. `None` for a loop (which leads nowhere).
        fn resolve(path: &Path) -> Option<PathBuf> {
            let mut out = PathBuf::from("/");
            let mut todo: Vec<OsString> = Vec::new();
            let push = |todo: &mut Vec<OsString>, p: &Path| {
                for c in p.components().rev() {
                    todo.push(c.as_os_str().to_os_string());
                }
            };
            push(&mut todo, path);
            let mut hops = 0;
            while let Some(c) = todo.pop() {
                match c.to_str() {
                    Some("/") => out = PathBuf::from("/"),
                    Some(".") => {}
                    Some("..") => {
                        out.pop();
                    }
                    _ => {
                        let next = out.join(&c);
                        match fs::symlink_metadata(&next) {
                            Ok(m) if m.file_type().is_symlink() => {
                                hops += 1;
                                if hops > 64 {
                                    return None;
                                }
                                push(&mut todo, &fs::read_link(&next).unwrap());
                            }
                            _ => out = next,
                        }
                    }
                }
            }
            Some(out)
        }

        /// Every path under `dir`, not following links.
        fn tree(dir: &Path, out: &mut Vec<PathBuf>) {
            for e in fs::read_dir(dir).into_iter().flatten().flatten() {
                let p = e.path();
                out.push(p.clone());
                if e.file_type().is_ok_and(|t| t.is_dir()) {
                    tree(&p, out);
                }
            }
        }

        /// The scene after an unpack, whatever its result: nothing outside `dest` changed, no
        /// link in it leads out of it, no device or FIFO, no setuid/setgid/sticky, no
        /// group/other write.
        fn check_contained(scene: &Scene, keep: &Path) -> Result<(), TestCaseError> {
            let mut outside = scene.outside_listing();
            outside.sort();
            prop_assert_eq!(outside, vec![OsString::from("outside")]);
            prop_assert_eq!(fs::read(keep).unwrap(), b"keep".to_vec());
            prop_assert_eq!(fs::metadata(keep).unwrap().nlink(), 1);
            prop_assert_eq!(fs::read_dir(keep.parent().unwrap()).unwrap().count(), 1);
            let Ok(dest) = fs::canonicalize(&scene.dest) else {
                return Ok(());
            };
            let mut all = Vec::new();
            tree(&dest, &mut all);
            for p in all {
                let meta = fs::symlink_metadata(&p).unwrap();
                let kind = meta.file_type();
                if kind.is_symlink() {
                    if let Some(to) = resolve(&p) {
                        prop_assert!(
                            to.starts_with(&dest),
                            "{} leads to {}",
                            p.display(),
                            to.display()
                        );
                    }
                } else {
                    prop_assert!(
                        kind.is_file() || kind.is_dir(),
                        "{} is special",
                        p.display()
                    );
                    prop_assert_eq!(meta.mode() & 0o7022, 0, "{}", p.display());
                }
            }
            Ok(())
        }

        proptest! {
            #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]

            /// Arbitrary sequences of hostile entries, in both layouts: never a panic, never
            /// anything outside the destination.
            #[test]
            fn nothing_escapes_whatever_the_entries(ops in prop::collection::vec(op(), 1..12)) {
                let bytes = archive(&ops);
                for layout in [Layout::AsIs, Layout::StripTopFolder] {
                    let scene = Scene::new();
                    let keep = scene.root.join("outside/keep");
                    fs::create_dir(keep.parent().unwrap()).unwrap();
                    fs::write(&keep, b"keep").unwrap();
                    let label = scene.root.join("input.tar");
                    let spec = UnpackSpec {
                        label: &label,
                        layout,
                        limits: ExtractOptions { max_total_bytes: 1 << 20, max_entries: 64 },
                        declared_bytes: None,
                    };
                    let _ = unpack(bytes.as_slice(), &scene.dest, &spec, &mut AnyEntry);
                    check_contained(&scene, &keep)?;
                }
            }

            /// Arbitrary bytes as a tar stream: an error or a tree, never a panic or an escape.
            #[test]
            fn garbage_streams_are_errors(bytes in prop::collection::vec(any::<u8>(), 0..4096)) {
                let scene = Scene::new();
                let keep = scene.root.join("outside/keep");
                fs::create_dir(keep.parent().unwrap()).unwrap();
                fs::write(&keep, b"keep").unwrap();
                let label = scene.root.join("input.tar");
                let spec = UnpackSpec {
                    label: &label,
                    layout: Layout::AsIs,
                    limits: ExtractOptions { max_total_bytes: 1 << 20, max_entries: 64 },
                    declared_bytes: None,
                };
                let _ = unpack(bytes.as_slice(), &scene.dest, &spec, &mut AnyEntry);
                check_contained(&scene, &keep)?;
            }

            /// The link rule itself, with an entry root (`root_depth` leading components, as
            /// bundles use): links it admits, made in order over real directories, resolve
            /// physically inside their root, through any earlier link.
            #[test]
            fn links_the_rule_admits_stay_in_their_root(
                links in prop::collection::vec((link_name(), link_target()), 1..10),
                depth in 0usize..3,
            ) {
                let scene = Scene::new();
                fs::create_dir(&scene.dest).unwrap();
                let dest = fs::canonicalize(&scene.dest).unwrap();
                let mut made = Vec::new();
                for (link, target) in links {
                    let link = PathBuf::from(link);
                    let target = PathBuf::from(target);
                    if !symlink_stays_within(&link, &target, depth) {
                        continue;
                    }
                    // The policy's invariant: every directory on the way is a real one.
                    let mut on_the_way = dest.clone();
                    let mut blocked = false;
                    for part in link.parent().unwrap().components() {
                        on_the_way.push(part);
                        match fs::symlink_metadata(&on_the_way) {
                            Ok(m) if m.is_dir() => {}
                            Ok(_) => { blocked = true; break; }
                            Err(_) => fs::create_dir(&on_the_way).unwrap(),
                        }
                    }
                    if blocked || fs::symlink_metadata(dest.join(&link)).is_ok() {
                        continue;
                    }
                    std::os::unix::fs::symlink(&target, dest.join(&link)).unwrap();
                    made.push(link);
                }
                for link in made {
                    let root: PathBuf = dest.join(link.components().take(depth).collect::<PathBuf>());
                    if let Some(to) = resolve(&dest.join(&link)) {
                        prop_assert!(to.starts_with(&root), "{} leads to {}, outside {}", link.display(), to.display(), root.display());
                    }
                }
            }
        }
    }
}
