//! Reads an ELF file's headers and judges whether it is a static executable for a target.
//!
//! Only what the verdict needs is parsed: the identification, `e_type`, `e_machine`, the
//! program headers, `PT_INTERP`, and the dynamic section (`DT_NEEDED`, `DT_SONAME`,
//! `DT_FLAGS_1`). Every read is bounds-checked, so hostile input yields an error, not a panic.

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

use crate::target::Target;

const MAGIC: [u8; 4] = [0x7f, b'E', b'L', b'F'];
const IDENT_LEN: usize = 16;

const ELFCLASS32: u8 = 1;
const ELFCLASS64: u8 = 2;
const ELFDATA2LSB: u8 = 1;
const ELFDATA2MSB: u8 = 2;

const ET_REL: u16 = 1;
const ET_EXEC: u16 = 2;
const ET_DYN: u16 = 3;
const ET_CORE: u16 = 4;

const PT_LOAD: u32 = 1;
const PT_DYNAMIC: u32 = 2;
const PT_INTERP: u32 = 3;

/// `e_phnum` value meaning "the real count is in section header 0's `sh_info`".
const PN_XNUM: u16 = 0xffff;

const DT_NULL: u64 = 0;
const DT_NEEDED: u64 = 1;
const DT_STRTAB: u64 = 5;
const DT_STRSZ: u64 = 10;
const DT_SONAME: u64 = 14;
const DT_FLAGS_1: u64 = 0x6fff_fffb;
const DF_1_PIE: u64 = 0x0800_0000;

/// What is wrong with the bytes of an ELF file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ElfFormatError {
    #[error("not an ELF file (magic {found}, expected 7f 45 4c 46)")]
    NotElf { found: String },
    #[error("truncated ELF header: file is {len} bytes, the header needs {need}")]
    TruncatedHeader { len: usize, need: u64 },
    #[error("unknown ELF class {class} (expected 1 for 32-bit or 2 for 64-bit)")]
    BadClass { class: u8 },
    #[error("unknown ELF data encoding {data} (expected 1 for little or 2 for big endian)")]
    BadEncoding { data: u8 },
    #[error("program header entries are {found} bytes, expected at least {expected}")]
    BadPhentsize { found: u16, expected: u16 },
    #[error(
        "truncated program header table at offset {offset:#x}: {count} entries of {entsize} bytes, file is {len} bytes"
    )]
    TruncatedPhdrs {
        offset: u64,
        count: u64,
        entsize: u16,
        len: usize,
    },
    #[error(
        "truncated section header 0 at offset {offset:#x} (needed for the program header count), file is {len} bytes"
    )]
    TruncatedSectionHeader { offset: u64, len: usize },
    #[error("truncated {segment} segment: {size} bytes at offset {offset:#x}, file is {len} bytes")]
    TruncatedSegment {
        segment: &'static str,
        offset: u64,
        size: u64,
        len: usize,
    },
    #[error("dynamic section has DT_NEEDED or DT_SONAME entries but no DT_STRTAB")]
    MissingStrtab,
    #[error("DT_STRTAB address {addr:#x} lies in no PT_LOAD segment's file contents")]
    UnmappedStrtab { addr: u64 },
    #[error(
        "{tag} name at string table offset {offset:#x} is outside the {size}-byte string table or unterminated"
    )]
    BadString {
        tag: &'static str,
        offset: u64,
        size: u64,
    },
}

/// Reading or parsing an ELF file failed.
#[derive(Debug, thiserror::Error)]
pub enum ElfError {
    #[error("cannot read {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    // `problem` is not a #[source]: the message already carries it, and chains would repeat it.
    #[error("{path}: {problem}")]
    Format {
        path: PathBuf,
        problem: ElfFormatError,
    },
}

/// The ELF `e_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ElfKind {
    /// `ET_EXEC`: a fixed-address executable.
    Exec,
    /// `ET_DYN`: a position-independent executable or a shared library.
    Dyn,
    /// `ET_REL`: an object file.
    Rel,
    /// `ET_CORE`: a core dump.
    Core,
    /// Any other `e_type` value.
    Other(u16),
}

impl ElfKind {
    fn from_raw(e_type: u16) -> Self {
        match e_type {
            ET_EXEC => Self::Exec,
            ET_DYN => Self::Dyn,
            ET_REL => Self::Rel,
            ET_CORE => Self::Core,
            other => Self::Other(other),
        }
    }
}

impl fmt::Display for ElfKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Exec => f.write_str("executable"),
            Self::Dyn => f.write_str("shared object"),
            Self::Rel => f.write_str("relocatable object"),
            Self::Core => f.write_str("core dump"),
            Self::Other(t) => write!(f, "e_type {t:#x}"),
        }
    }
}

/// What the headers of one ELF file say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ElfInfo {
    /// ELFCLASS64 rather than ELFCLASS32.
    pub class64: bool,
    /// ELFDATA2LSB rather than ELFDATA2MSB.
    pub little_endian: bool,
    /// `e_machine`.
    pub machine: u16,
    /// A short name for `machine` (`aarch64`, `x86-64`, `s390x`), or `unknown`.
    pub machine_name: &'static str,
    /// `e_type`.
    pub kind: ElfKind,
    /// `e_entry`.
    pub entry: u64,
    /// The `PT_INTERP` path.
    pub interpreter: Option<String>,
    /// Whether a `PT_DYNAMIC` segment exists.
    pub has_dynamic: bool,
    /// `DT_NEEDED` names, in file order.
    pub needed: Vec<String>,
    /// `DT_SONAME`, which marks a shared library.
    pub soname: Option<String>,
    /// `DF_1_PIE` in `DT_FLAGS_1`, which linkers set on position-independent executables.
    pub pie_flag: bool,
}

impl ElfInfo {
    /// Whether the kernel can run this file directly: `ET_EXEC`, or an `ET_DYN` that is a PIE.
    pub fn is_executable(&self) -> bool {
        match self.kind {
            ElfKind::Exec => true,
            // Old linkers do not set DF_1_PIE; a library usually has a soname and a zero entry.
            ElfKind::Dyn => {
                self.interpreter.is_some()
                    || self.pie_flag
                    || (self.soname.is_none() && self.entry != 0)
            }
            _ => false,
        }
    }

    /// No interpreter and no shared libraries: the kernel maps it and jumps in.
    pub fn is_static(&self) -> bool {
        self.interpreter.is_none() && self.needed.is_empty()
    }

    /// An `ET_DYN` executable that relocates itself.
    pub fn is_static_pie(&self) -> bool {
        self.kind == ElfKind::Dyn && self.is_static() && self.is_executable()
    }

    fn bits(&self) -> u8 {
        if self.class64 { 64 } else { 32 }
    }
}

/// The judgement on one file for one target.
#[derive(Debug, Clone)]
pub struct Verdict {
    /// The file that was judged, as given.
    pub path: PathBuf,
    /// The target it was judged against.
    pub target: Target,
    /// True when `problems` is empty.
    pub ok: bool,
    /// Why the file is not a static executable for the target, one short phrase each.
    pub problems: Vec<String>,
    /// What the headers say.
    pub info: ElfInfo,
}

impl Verdict {
    /// Judges parsed headers against a target.
    pub fn judge(path: &Path, info: ElfInfo, target: &Target) -> Self {
        let mut problems = Vec::new();
        if info.machine != target.elf_machine {
            problems.push(format!(
                "machine is {} (expected {})",
                describe_machine(info.machine, info.class64, info.little_endian),
                describe_machine(
                    target.elf_machine,
                    target.elf_64,
                    target_little_endian(target)
                ),
            ));
        }
        if info.class64 != target.elf_64 {
            let expected = if target.elf_64 { 64 } else { 32 };
            problems.push(format!("ELF {}-bit (expected {expected}-bit)", info.bits()));
        }
        if info.little_endian != target_little_endian(target) {
            problems.push(format!(
                "{} (expected {})",
                endian_name(info.little_endian),
                endian_name(target_little_endian(target))
            ));
        }
        if !info.is_executable() {
            let what = match (&info.kind, &info.soname) {
                (ElfKind::Dyn, Some(soname)) => format!("shared library {soname}"),
                (ElfKind::Dyn, None) => "shared library".to_string(),
                (kind, _) => kind.to_string(),
            };
            problems.push(format!("not an executable ({what})"));
        }
        if let Some(interp) = &info.interpreter {
            problems.push(format!("interpreter {interp}"));
        }
        if !info.needed.is_empty() {
            problems.push(format!("needs {}", info.needed.join(", ")));
        }
        Verdict {
            path: path.to_path_buf(),
            target: *target,
            ok: problems.is_empty(),
            problems,
            info,
        }
    }

    /// The one-line verdict, e.g.
    /// `hello: static ELF 64-bit aarch64 executable, no interpreter, no shared libraries: OK for aarch64-linux-musl`.
    pub fn line(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = self.path.display();
        let target = self.target.triple;
        if self.ok {
            let linkage = if self.info.is_static_pie() {
                "static-pie"
            } else {
                "static"
            };
            write!(
                f,
                "{path}: {linkage} ELF {}-bit {} executable, no interpreter, no shared libraries: OK for {target}",
                self.info.bits(),
                describe_machine(
                    self.info.machine,
                    self.info.class64,
                    self.info.little_endian
                ),
            )
        } else {
            write!(
                f,
                "{path}: NOT static for {target}: {}",
                self.problems.join("; ")
            )
        }
    }
}

/// Reads `path` and judges whether it is a static executable for `target`.
pub fn verify(path: &Path, target: &Target) -> Result<Verdict, ElfError> {
    let bytes = fs::read(path).map_err(|source| ElfError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let info = parse_elf(&bytes).map_err(|problem| ElfError::Format {
        path: path.to_path_buf(),
        problem,
    })?;
    Ok(Verdict::judge(path, info, target))
}

/// A short name for an ELF machine, refined by class and byte order where they tell variants apart.
pub fn machine_name(machine: u16, class64: bool, little_endian: bool) -> &'static str {
    match machine {
        0 => "none",
        2 => "sparc",
        3 => "x86",
        8 if class64 => "mips64",
        8 => "mips",
        20 => "ppc",
        21 if little_endian => "ppc64le",
        21 => "ppc64",
        22 if class64 => "s390x",
        22 => "s390",
        40 if little_endian => "arm",
        40 => "armeb",
        43 => "sparc64",
        62 => "x86-64",
        183 if little_endian => "aarch64",
        183 => "aarch64_be",
        243 if class64 => "riscv64",
        243 => "riscv32",
        258 if class64 => "loongarch64",
        258 => "loongarch32",
        _ => "unknown",
    }
}

fn describe_machine(machine: u16, class64: bool, little_endian: bool) -> String {
    match machine_name(machine, class64, little_endian) {
        "unknown" => format!("unknown machine {machine}"),
        name => name.to_string(),
    }
}

fn endian_name(little: bool) -> &'static str {
    if little {
        "little-endian"
    } else {
        "big-endian"
    }
}

/// `Target` has no byte-order field; the architecture part of the triple decides it.
fn target_little_endian(target: &Target) -> bool {
    let arch = target.triple.split('-').next().unwrap_or_default();
    !matches!(
        arch,
        "s390x" | "powerpc" | "powerpc64" | "mips" | "mips64" | "armeb" | "aarch64_be" | "sparc64"
    )
}

/// Bounds-checked, endian-aware reads from the file image.
struct Image<'a> {
    bytes: &'a [u8],
    little: bool,
    class64: bool,
}

impl<'a> Image<'a> {
    fn slice(&self, offset: u64, len: u64) -> Option<&'a [u8]> {
        let start = usize::try_from(offset).ok()?;
        let end = start.checked_add(usize::try_from(len).ok()?)?;
        self.bytes.get(start..end)
    }

    fn array<const N: usize>(&self, offset: u64) -> Option<[u8; N]> {
        self.slice(offset, N as u64)?.try_into().ok()
    }

    fn u16(&self, offset: u64) -> Option<u16> {
        let b = self.array(offset)?;
        Some(if self.little {
            u16::from_le_bytes(b)
        } else {
            u16::from_be_bytes(b)
        })
    }

    fn u32(&self, offset: u64) -> Option<u32> {
        let b = self.array(offset)?;
        Some(if self.little {
            u32::from_le_bytes(b)
        } else {
            u32::from_be_bytes(b)
        })
    }

    fn u64(&self, offset: u64) -> Option<u64> {
        let b = self.array(offset)?;
        Some(if self.little {
            u64::from_le_bytes(b)
        } else {
            u64::from_be_bytes(b)
        })
    }

    /// An address-sized field: 4 bytes in ELF32, 8 in ELF64.
    fn word(&self, offset: u64) -> Option<u64> {
        if self.class64 {
            self.u64(offset)
        } else {
            self.u32(offset).map(u64::from)
        }
    }
}

/// One program header, reduced to the fields the verdict uses.
#[derive(Debug, Clone, Copy)]
struct Segment {
    p_type: u32,
    offset: u64,
    vaddr: u64,
    filesz: u64,
}

/// Parses the headers of an ELF image held in memory.
pub fn parse_elf(bytes: &[u8]) -> Result<ElfInfo, ElfFormatError> {
    if bytes.get(..4) != Some(&MAGIC[..]) {
        if MAGIC.starts_with(bytes) {
            return Err(ElfFormatError::TruncatedHeader {
                len: bytes.len(),
                need: IDENT_LEN as u64,
            });
        }
        let found = bytes
            .iter()
            .take(4)
            .map(|b| format!("{b:02x}"))
            .collect::<Vec<_>>()
            .join(" ");
        return Err(ElfFormatError::NotElf { found });
    }
    if bytes.len() < IDENT_LEN {
        return Err(ElfFormatError::TruncatedHeader {
            len: bytes.len(),
            need: IDENT_LEN as u64,
        });
    }
    let class64 = match bytes[4] {
        ELFCLASS32 => false,
        ELFCLASS64 => true,
        class => return Err(ElfFormatError::BadClass { class }),
    };
    let little = match bytes[5] {
        ELFDATA2LSB => true,
        ELFDATA2MSB => false,
        data => return Err(ElfFormatError::BadEncoding { data }),
    };
    let image = Image {
        bytes,
        little,
        class64,
    };

    let header_len: u64 = if class64 { 64 } else { 52 };
    let truncated_header = ElfFormatError::TruncatedHeader {
        len: bytes.len(),
        need: header_len,
    };
    if (bytes.len() as u64) < header_len {
        return Err(truncated_header);
    }
    // Field offsets after e_version differ between the classes because e_entry/e_phoff/e_shoff widen.
    let (phoff_at, shoff_at, phentsize_at) = if class64 { (32, 40, 54) } else { (28, 32, 42) };
    let header = || -> Option<_> {
        Some((
            image.u16(16)?,
            image.u16(18)?,
            image.word(24)?,
            image.word(phoff_at)?,
            image.word(shoff_at)?,
            image.u16(phentsize_at)?,
            image.u16(phentsize_at + 2)?,
        ))
    };
    let (e_type, machine, entry, phoff, shoff, phentsize, phnum) =
        header().ok_or(truncated_header)?;

    let phnum = if phnum == PN_XNUM {
        let sh_info_at = if class64 { 44 } else { 28 };
        let count = shoff
            .checked_add(sh_info_at)
            .and_then(|at| image.u32(at))
            .ok_or(ElfFormatError::TruncatedSectionHeader {
                offset: shoff,
                len: bytes.len(),
            })?;
        u64::from(count)
    } else {
        u64::from(phnum)
    };
    let segments = read_segments(&image, phoff, phentsize, phnum)?;

    let mut interpreter = None;
    let mut dynamic = None;
    for seg in &segments {
        match seg.p_type {
            PT_INTERP if interpreter.is_none() => {
                let raw = segment_bytes(&image, seg, "PT_INTERP")?;
                let path = raw.split(|&b| b == 0).next().unwrap_or_default();
                interpreter = Some(String::from_utf8_lossy(path).into_owned());
            }
            PT_DYNAMIC if dynamic.is_none() => dynamic = Some(*seg),
            _ => {}
        }
    }

    let mut info = ElfInfo {
        class64,
        little_endian: little,
        machine,
        machine_name: machine_name(machine, class64, little),
        kind: ElfKind::from_raw(e_type),
        entry,
        interpreter,
        has_dynamic: dynamic.is_some(),
        needed: Vec::new(),
        soname: None,
        pie_flag: false,
    };
    if let Some(dynamic) = dynamic {
        read_dynamic(&image, &dynamic, &segments, &mut info)?;
    }
    Ok(info)
}

fn read_segments(
    image: &Image<'_>,
    phoff: u64,
    phentsize: u16,
    phnum: u64,
) -> Result<Vec<Segment>, ElfFormatError> {
    if phnum == 0 {
        return Ok(Vec::new());
    }
    let expected: u16 = if image.class64 { 56 } else { 32 };
    if phentsize < expected {
        return Err(ElfFormatError::BadPhentsize {
            found: phentsize,
            expected,
        });
    }
    let truncated = ElfFormatError::TruncatedPhdrs {
        offset: phoff,
        count: phnum,
        entsize: phentsize,
        len: image.bytes.len(),
    };
    let table_len = phnum
        .checked_mul(u64::from(phentsize))
        .ok_or_else(|| truncated.clone())?;
    // Checking the whole table first also bounds the allocation below by the file size.
    image
        .slice(phoff, table_len)
        .ok_or_else(|| truncated.clone())?;
    let mut segments = Vec::with_capacity(phnum as usize);
    for i in 0..phnum {
        let at = phoff + i * u64::from(phentsize);
        let seg = if image.class64 {
            (|| {
                Some(Segment {
                    p_type: image.u32(at)?,
                    offset: image.u64(at + 8)?,
                    vaddr: image.u64(at + 16)?,
                    filesz: image.u64(at + 32)?,
                })
            })()
        } else {
            (|| {
                Some(Segment {
                    p_type: image.u32(at)?,
                    offset: u64::from(image.u32(at + 4)?),
                    vaddr: u64::from(image.u32(at + 8)?),
                    filesz: u64::from(image.u32(at + 16)?),
                })
            })()
        };
        segments.push(seg.ok_or_else(|| truncated.clone())?);
    }
    Ok(segments)
}

fn segment_bytes<'a>(
    image: &Image<'a>,
    seg: &Segment,
    segment: &'static str,
) -> Result<&'a [u8], ElfFormatError> {
    image
        .slice(seg.offset, seg.filesz)
        .ok_or(ElfFormatError::TruncatedSegment {
            segment,
            offset: seg.offset,
            size: seg.filesz,
            len: image.bytes.len(),
        })
}

fn read_dynamic(
    image: &Image<'_>,
    dynamic: &Segment,
    segments: &[Segment],
    info: &mut ElfInfo,
) -> Result<(), ElfFormatError> {
    let raw = segment_bytes(image, dynamic, "PT_DYNAMIC")?;
    let entries = Image {
        bytes: raw,
        little: image.little,
        class64: image.class64,
    };
    let entry_len: u64 = if image.class64 { 16 } else { 8 };
    let half = entry_len / 2;
    let mut needed_offsets = Vec::new();
    let mut soname_offset = None;
    let mut strtab = None;
    let mut strsz = None;
    let mut at = 0u64;
    while let (Some(tag), Some(val)) = (entries.word(at), entries.word(at + half)) {
        match tag {
            DT_NULL => break,
            DT_NEEDED => needed_offsets.push(val),
            DT_SONAME => soname_offset = Some(val),
            DT_STRTAB => strtab = Some(val),
            DT_STRSZ => strsz = Some(val),
            DT_FLAGS_1 => info.pie_flag = val & DF_1_PIE != 0,
            _ => {}
        }
        at += entry_len;
    }
    if needed_offsets.is_empty() && soname_offset.is_none() {
        return Ok(());
    }
    let addr = strtab.ok_or(ElfFormatError::MissingStrtab)?;
    let table = map_strtab(image, segments, addr, strsz)?;
    let name = |tag: &'static str, offset: u64| -> Result<String, ElfFormatError> {
        let bad = ElfFormatError::BadString {
            tag,
            offset,
            size: table.len() as u64,
        };
        let start = usize::try_from(offset).map_err(|_| bad.clone())?;
        let rest = table.get(start..).ok_or_else(|| bad.clone())?;
        let end = rest.iter().position(|&b| b == 0).ok_or(bad)?;
        Ok(String::from_utf8_lossy(&rest[..end]).into_owned())
    };
    for offset in needed_offsets {
        info.needed.push(name("DT_NEEDED", offset)?);
    }
    if let Some(offset) = soname_offset {
        info.soname = Some(name("DT_SONAME", offset)?);
    }
    Ok(())
}

/// The string table's bytes: DT_STRTAB is a virtual address, found in the file through PT_LOAD.
fn map_strtab<'a>(
    image: &Image<'a>,
    segments: &[Segment],
    addr: u64,
    strsz: Option<u64>,
) -> Result<&'a [u8], ElfFormatError> {
    for seg in segments.iter().filter(|s| s.p_type == PT_LOAD) {
        let Some(delta) = addr.checked_sub(seg.vaddr) else {
            continue;
        };
        if delta >= seg.filesz {
            continue;
        }
        let Some(start) = seg.offset.checked_add(delta) else {
            continue;
        };
        let in_segment = seg.filesz - delta;
        let len = strsz.map_or(in_segment, |size| size.min(in_segment));
        // A segment that claims more than the file holds still yields whatever is present.
        let available = (image.bytes.len() as u64).saturating_sub(start);
        if let Some(table) = image.slice(start, len.min(available)) {
            return Ok(table);
        }
    }
    Err(ElfFormatError::UnmappedStrtab { addr })
}

#[cfg(test)]
mod tests {
    use super::*;

    const EM_X86_64: u16 = 62;
    const EM_AARCH64: u16 = 183;
    const EM_ARM: u16 = 40;
    const EM_S390: u16 = 22;

    fn target(name: &str) -> &'static Target {
        Target::parse(name).unwrap()
    }

    /// What the test builder puts into an image.
    #[derive(Clone)]
    struct Spec {
        class64: bool,
        little: bool,
        e_type: u16,
        machine: u16,
        entry: u64,
        interp: Option<&'static str>,
        dynamic: bool,
        needed: Vec<&'static str>,
        soname: Option<&'static str>,
        flags_1: Option<u64>,
    }

    impl Spec {
        fn static_exec(machine: u16) -> Self {
            Spec {
                class64: true,
                little: true,
                e_type: ET_EXEC,
                machine,
                entry: 0x40_1000,
                interp: None,
                dynamic: false,
                needed: Vec::new(),
                soname: None,
                flags_1: None,
            }
        }

        fn static_pie(machine: u16) -> Self {
            Spec {
                e_type: ET_DYN,
                entry: 0x1000,
                dynamic: true,
                flags_1: Some(DF_1_PIE | 1),
                ..Self::static_exec(machine)
            }
        }

        fn dynamic(machine: u16) -> Self {
            Spec {
                e_type: ET_DYN,
                entry: 0x1000,
                interp: Some("/lib/ld-musl-aarch64.so.1"),
                dynamic: true,
                needed: vec!["libc.so", "libz.so.1"],
                flags_1: Some(DF_1_PIE),
                ..Self::static_exec(machine)
            }
        }
    }

    /// Endian- and class-aware byte writer.
    struct Out {
        buf: Vec<u8>,
        little: bool,
        class64: bool,
    }

    impl Out {
        fn u16(&mut self, v: u16) {
            let b = if self.little {
                v.to_le_bytes()
            } else {
                v.to_be_bytes()
            };
            self.buf.extend_from_slice(&b);
        }
        fn u32(&mut self, v: u32) {
            let b = if self.little {
                v.to_le_bytes()
            } else {
                v.to_be_bytes()
            };
            self.buf.extend_from_slice(&b);
        }
        fn u64(&mut self, v: u64) {
            let b = if self.little {
                v.to_le_bytes()
            } else {
                v.to_be_bytes()
            };
            self.buf.extend_from_slice(&b);
        }
        fn word(&mut self, v: u64) {
            if self.class64 {
                self.u64(v)
            } else {
                self.u32(u32::try_from(v).unwrap())
            }
        }
        fn phdr(&mut self, p_type: u32, offset: u64, vaddr: u64, filesz: u64) {
            if self.class64 {
                self.u32(p_type);
                self.u32(4); // p_flags
                self.u64(offset);
                self.u64(vaddr);
                self.u64(vaddr);
                self.u64(filesz);
                self.u64(filesz);
                self.u64(8);
            } else {
                self.u32(p_type);
                self.u32(offset as u32);
                self.u32(vaddr as u32);
                self.u32(vaddr as u32);
                self.u32(filesz as u32);
                self.u32(filesz as u32);
                self.u32(4); // p_flags
                self.u32(4);
            }
        }
    }

    /// Lays out: header, program headers, then a data area holding the interpreter path, the
    /// string table and the dynamic section. Headers and data sit in two PT_LOAD segments whose
    /// address-to-offset deltas differ, so DT_STRTAB must really be mapped through PT_LOAD.
    fn build(spec: &Spec) -> Vec<u8> {
        let ehsize: u64 = if spec.class64 { 64 } else { 52 };
        let phentsize: u64 = if spec.class64 { 56 } else { 32 };
        let dyn_entry: u64 = if spec.class64 { 16 } else { 8 };
        let phnum = 2 + u64::from(spec.interp.is_some()) + u64::from(spec.dynamic);
        let data_off = ehsize + phnum * phentsize;
        const TEXT_VADDR: u64 = 0x40_0000;
        const DATA_VADDR: u64 = 0x60_0000;

        let mut data = Vec::new();
        let interp_off = data.len() as u64;
        if let Some(interp) = spec.interp {
            data.extend_from_slice(interp.as_bytes());
            data.push(0);
        }
        let strtab_off = data.len() as u64;
        let mut strtab = vec![0u8];
        let mut name_at = |s: &str| {
            let at = strtab.len() as u64;
            strtab.extend_from_slice(s.as_bytes());
            strtab.push(0);
            at
        };
        let needed: Vec<u64> = spec.needed.iter().map(|n| name_at(n)).collect();
        let soname = spec.soname.map(&mut name_at);
        data.extend_from_slice(&strtab);
        while data.len() % 8 != 0 {
            data.push(0);
        }
        let dyn_off = data.len() as u64;
        let mut dynamic = Out {
            buf: Vec::new(),
            little: spec.little,
            class64: spec.class64,
        };
        if spec.dynamic {
            for at in &needed {
                dynamic.word(DT_NEEDED);
                dynamic.word(*at);
            }
            if let Some(at) = soname {
                dynamic.word(DT_SONAME);
                dynamic.word(at);
            }
            dynamic.word(DT_STRTAB);
            dynamic.word(DATA_VADDR + strtab_off);
            dynamic.word(DT_STRSZ);
            dynamic.word(strtab.len() as u64);
            if let Some(flags) = spec.flags_1 {
                dynamic.word(DT_FLAGS_1);
                dynamic.word(flags);
            }
            dynamic.word(DT_NULL);
            dynamic.word(0);
        }
        let dyn_len = dynamic.buf.len() as u64;
        assert_eq!(dyn_len % dyn_entry, 0);
        data.extend_from_slice(&dynamic.buf);

        let mut out = Out {
            buf: Vec::new(),
            little: spec.little,
            class64: spec.class64,
        };
        out.buf.extend_from_slice(&MAGIC);
        out.buf
            .push(if spec.class64 { ELFCLASS64 } else { ELFCLASS32 });
        out.buf.push(if spec.little {
            ELFDATA2LSB
        } else {
            ELFDATA2MSB
        });
        out.buf.push(1); // EI_VERSION
        out.buf.resize(IDENT_LEN, 0);
        out.u16(spec.e_type);
        out.u16(spec.machine);
        out.u32(1); // e_version
        out.word(spec.entry);
        out.word(ehsize); // e_phoff
        out.word(0); // e_shoff
        out.u32(0); // e_flags
        out.u16(ehsize as u16);
        out.u16(phentsize as u16);
        out.u16(phnum as u16);
        out.u16(0); // e_shentsize
        out.u16(0); // e_shnum
        out.u16(0); // e_shstrndx
        assert_eq!(out.buf.len() as u64, ehsize);

        let data_len = data.len() as u64;
        if let Some(interp) = spec.interp {
            let off = data_off + interp_off;
            out.phdr(
                PT_INTERP,
                off,
                DATA_VADDR + interp_off,
                interp.len() as u64 + 1,
            );
        }
        out.phdr(PT_LOAD, 0, TEXT_VADDR, data_off);
        out.phdr(PT_LOAD, data_off, DATA_VADDR, data_len);
        if spec.dynamic {
            out.phdr(
                PT_DYNAMIC,
                data_off + dyn_off,
                DATA_VADDR + dyn_off,
                dyn_len,
            );
        }
        assert_eq!(out.buf.len() as u64, data_off);
        out.buf.extend_from_slice(&data);
        out.buf
    }

    fn verdict(spec: &Spec, target_name: &str) -> Verdict {
        let info = parse_elf(&build(spec)).unwrap();
        Verdict::judge(Path::new("hello"), info, target(target_name))
    }

    #[test]
    fn static_aarch64_executable_is_ok() {
        let v = verdict(&Spec::static_exec(EM_AARCH64), "aarch64-linux-musl");
        assert!(v.ok, "{v}");
        assert_eq!(v.info.kind, ElfKind::Exec);
        assert_eq!(v.info.machine_name, "aarch64");
        assert!(v.info.class64 && v.info.little_endian && !v.info.has_dynamic);
        assert_eq!(
            v.line(),
            "hello: static ELF 64-bit aarch64 executable, no interpreter, no shared libraries: OK for aarch64-linux-musl"
        );
    }

    #[test]
    fn static_pie_is_ok() {
        let v = verdict(&Spec::static_pie(EM_AARCH64), "aarch64-linux-musl");
        assert!(v.ok, "{v}");
        assert!(v.info.is_static_pie() && v.info.pie_flag && v.info.has_dynamic);
        assert!(
            v.line()
                .starts_with("hello: static-pie ELF 64-bit aarch64 executable")
        );

        // Linkers older than DF_1_PIE: no flag, no soname, an entry point.
        let old = Spec {
            flags_1: None,
            ..Spec::static_pie(EM_X86_64)
        };
        assert!(verdict(&old, "x86_64-linux-musl").ok);
    }

    #[test]
    fn dynamic_executable_lists_interpreter_and_libraries() {
        let v = verdict(&Spec::dynamic(EM_AARCH64), "aarch64-linux-musl");
        assert!(!v.ok);
        assert_eq!(
            v.info.interpreter.as_deref(),
            Some("/lib/ld-musl-aarch64.so.1")
        );
        assert_eq!(v.info.needed, ["libc.so", "libz.so.1"]);
        assert_eq!(
            v.line(),
            "hello: NOT static for aarch64-linux-musl: interpreter /lib/ld-musl-aarch64.so.1; needs libc.so, libz.so.1"
        );
    }

    #[test]
    fn needed_without_interpreter_is_not_static() {
        let spec = Spec {
            interp: None,
            ..Spec::dynamic(EM_AARCH64)
        };
        let v = verdict(&spec, "aarch64-linux-musl");
        assert_eq!(v.problems, ["needs libc.so, libz.so.1"]);
    }

    #[test]
    fn wrong_machine_is_named() {
        let v = verdict(&Spec::static_exec(EM_X86_64), "aarch64-linux-musl");
        assert!(!v.ok);
        assert_eq!(
            v.line(),
            "hello: NOT static for aarch64-linux-musl: machine is x86-64 (expected aarch64)"
        );
        let all = Spec {
            interp: Some("/lib/ld-musl-aarch64.so.1"),
            needed: vec!["libc.so"],
            ..Spec::dynamic(EM_X86_64)
        };
        assert_eq!(
            verdict(&all, "aarch64-linux-musl").line(),
            "hello: NOT static for aarch64-linux-musl: machine is x86-64 (expected aarch64); interpreter /lib/ld-musl-aarch64.so.1; needs libc.so"
        );
        let odd = verdict(&Spec::static_exec(0x1234), "x86_64-linux-musl");
        assert_eq!(
            odd.problems,
            ["machine is unknown machine 4660 (expected x86-64)"]
        );
    }

    #[test]
    fn class_and_byte_order_are_checked() {
        let arm32 = Spec {
            class64: false,
            ..Spec::static_exec(EM_ARM)
        };
        let v = verdict(&arm32, "armv7-linux-musleabihf");
        assert!(v.ok, "{v}");
        assert!(v.line().contains("static ELF 32-bit arm executable"));
        let v = verdict(&arm32, "x86_64-linux-musl");
        assert_eq!(
            v.problems,
            [
                "machine is arm (expected x86-64)",
                "ELF 32-bit (expected 64-bit)"
            ]
        );
        let s390_le = Spec::static_exec(EM_S390);
        assert_eq!(
            verdict(&s390_le, "s390x-linux-musl").problems,
            ["little-endian (expected big-endian)"]
        );
    }

    #[test]
    fn big_endian_images_parse() {
        // 32-bit big-endian, dynamic: exercises every 32-bit MSB read path.
        let spec = Spec {
            class64: false,
            little: false,
            ..Spec::dynamic(EM_S390)
        };
        let info = parse_elf(&build(&spec)).unwrap();
        assert!(!info.class64 && !info.little_endian);
        assert_eq!((info.machine, info.machine_name), (EM_S390, "s390"));
        assert_eq!(info.needed, ["libc.so", "libz.so.1"]);
        assert_eq!(
            info.interpreter.as_deref(),
            Some("/lib/ld-musl-aarch64.so.1")
        );

        let s390x = Spec {
            little: false,
            ..Spec::static_pie(EM_S390)
        };
        let v = verdict(&s390x, "s390x-linux-musl");
        assert!(v.ok, "{v}");
        assert!(v.line().contains("static-pie ELF 64-bit s390x executable"));
    }

    #[test]
    fn non_executables_are_rejected() {
        let lib = Spec {
            soname: Some("libz.so.1"),
            flags_1: None,
            entry: 0,
            ..Spec::static_pie(EM_AARCH64)
        };
        let v = verdict(&lib, "aarch64-linux-musl");
        assert_eq!(v.info.soname.as_deref(), Some("libz.so.1"));
        assert_eq!(v.problems, ["not an executable (shared library libz.so.1)"]);
        let object = Spec {
            e_type: ET_REL,
            ..Spec::static_exec(EM_AARCH64)
        };
        assert_eq!(
            verdict(&object, "aarch64-linux-musl").problems,
            ["not an executable (relocatable object)"]
        );
    }

    #[test]
    fn garbage_is_an_error_naming_the_problem() {
        let err = parse_elf(b"#!/bin/sh\necho hi\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "not an ELF file (magic 23 21 2f 62, expected 7f 45 4c 46)"
        );
        assert!(matches!(
            parse_elf(&[]),
            Err(ElfFormatError::TruncatedHeader { len: 0, .. })
        ));
        let mut bad_class = build(&Spec::static_exec(EM_AARCH64));
        bad_class[4] = 9;
        assert_eq!(
            parse_elf(&bad_class),
            Err(ElfFormatError::BadClass { class: 9 })
        );

        let image = build(&Spec::dynamic(EM_AARCH64));
        let err = parse_elf(&image[..100]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "truncated program header table at offset 0x40: 4 entries of 56 bytes, file is 100 bytes"
        );
    }

    #[test]
    fn every_truncation_and_byte_flip_is_handled_without_panic() {
        let specs = [
            Spec::static_exec(EM_AARCH64),
            Spec::static_pie(EM_X86_64),
            Spec::dynamic(EM_AARCH64),
            Spec {
                class64: false,
                little: false,
                soname: Some("libfoo.so"),
                ..Spec::dynamic(EM_S390)
            },
        ];
        for spec in &specs {
            let image = build(spec);
            assert!(parse_elf(&image).is_ok());
            for len in 0..image.len() {
                let parsed = parse_elf(&image[..len]);
                // The dynamic section ends the image, so every cut of a dynamic image loses part of it.
                assert!(!spec.dynamic || parsed.is_err(), "truncated to {len}");
            }
            let mut mutated = image.clone();
            for at in 0..image.len() {
                for value in [0x00, 0xff, 0x80, 0x7f, 0x01] {
                    mutated[at] = value;
                    let _ = parse_elf(&mutated);
                }
                mutated[at] = image[at];
            }
        }
        // Deterministic pseudo-random bytes behind a valid identification.
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for round in 0..2000 {
            let mut bytes = MAGIC.to_vec();
            bytes.push(1 + (round % 2) as u8);
            bytes.push(1 + (round / 2 % 2) as u8);
            for _ in 0..(round % 300) {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                bytes.push(state as u8);
            }
            let _ = parse_elf(&bytes);
        }
    }

    #[test]
    fn huge_counts_and_offsets_are_errors() {
        let mut image = build(&Spec::dynamic(EM_AARCH64));
        // e_phoff far beyond the file.
        image[32..40].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(matches!(
            parse_elf(&image),
            Err(ElfFormatError::TruncatedPhdrs { .. })
        ));
        // PN_XNUM with a section header offset beyond the file.
        let mut image = build(&Spec::static_exec(EM_AARCH64));
        image[56..58].copy_from_slice(&PN_XNUM.to_le_bytes());
        image[40..48].copy_from_slice(&(u64::MAX - 4).to_le_bytes());
        assert!(matches!(
            parse_elf(&image),
            Err(ElfFormatError::TruncatedSectionHeader { .. })
        ));
    }

    #[test]
    fn verify_reads_files_and_names_them_in_errors() {
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("hello");
        fs::write(&good, build(&Spec::static_exec(EM_AARCH64))).unwrap();
        let v = verify(&good, target("linux/arm64")).unwrap();
        assert!(v.ok, "{v}");
        assert!(
            v.line()
                .starts_with(&format!("{}: static ELF", good.display()))
        );

        let script = dir.path().join("script.sh");
        fs::write(&script, "#!/bin/sh\n").unwrap();
        let err = verify(&script, target("linux/arm64")).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "{}: not an ELF file (magic 23 21 2f 62, expected 7f 45 4c 46)",
                script.display()
            )
        );
        let missing = dir.path().join("missing");
        let err = verify(&missing, target("linux/arm64")).unwrap_err();
        assert!(matches!(err, ElfError::Read { .. }));
        assert!(err.to_string().contains("missing"), "{err}");
    }

    /// The host's own `ls` is a dynamically linked executable.
    #[test]
    #[cfg(all(target_os = "linux", target_arch = "x86_64"))]
    fn host_ls_is_not_static() {
        let ls = Path::new("/bin/ls");
        if !ls.exists() {
            eprintln!("skipped: no {}", ls.display());
            return;
        }
        let v = verify(ls, target("x86_64-linux-musl")).unwrap();
        assert!(!v.ok);
        assert_eq!(v.info.machine_name, "x86-64");
        assert!(v.info.interpreter.is_some());
        assert!(
            v.info.needed.iter().any(|n| n.starts_with("libc.so")),
            "{:?}",
            v.info.needed
        );
        assert!(
            v.line()
                .contains("NOT static for x86_64-linux-musl: interpreter /")
        );
        let v = verify(ls, target("aarch64-linux-musl")).unwrap();
        assert!(v.problems[0].starts_with("machine is x86-64 (expected aarch64)"));
    }

    /// Runs zig, from `$ZIG`, `zig` on PATH, or the `ziglang` Python package.
    fn zig_cc(args: &[&str]) -> Option<std::process::Output> {
        use std::process::Command;
        let candidates: Vec<Vec<String>> = [
            std::env::var("ZIG").ok().map(|z| vec![z]),
            Some(vec!["zig".into()]),
            Some(vec!["python3".into(), "-m".into(), "ziglang".into()]),
        ]
        .into_iter()
        .flatten()
        .collect();
        for prefix in candidates {
            let probe = Command::new(&prefix[0])
                .args(&prefix[1..])
                .arg("version")
                .output();
            if !matches!(probe, Ok(ref o) if o.status.success()) {
                continue;
            }
            let out = Command::new(&prefix[0])
                .args(&prefix[1..])
                .arg("cc")
                .args(args)
                .output()
                .ok()?;
            return Some(out);
        }
        None
    }

    /// Real linker output; ignored by default because a cold zig cache builds musl for minutes.
    #[test]
    #[ignore = "needs zig; builds musl libc on a cold zig cache"]
    fn zig_built_binaries() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("hello.c");
        fs::write(
            &src,
            "#include <stdio.h>\nint main(void){puts(\"hi\");return 0;}\n",
        )
        .unwrap();
        let aarch64 = target("aarch64-linux-musl");
        let cases: [(&str, &[&str], bool); 3] = [
            ("static", &["-static"], true),
            ("static-pie", &["-static-pie", "-fPIE"], true),
            ("dynamic", &["-dynamic"], false),
        ];
        for (name, flags, ok) in cases {
            let out = dir.path().join(name);
            let mut args = vec!["-target", "aarch64-linux-musl", "-o"];
            args.push(out.to_str().unwrap());
            args.extend_from_slice(flags);
            args.push(src.to_str().unwrap());
            let Some(run) = zig_cc(&args) else {
                eprintln!("skipped: zig not found");
                return;
            };
            assert!(run.status.success(), "{name}: {run:?}");
            let v = verify(&out, aarch64).unwrap();
            assert_eq!(v.ok, ok, "{v}");
            if name == "static-pie" {
                assert!(v.info.is_static_pie(), "{v}");
            }
            if name == "dynamic" {
                assert!(v.info.needed.iter().any(|n| n == "libc.so"), "{v}");
            }
            assert!(!verify(&out, target("x86_64-linux-musl")).unwrap().ok);
        }
    }
}
