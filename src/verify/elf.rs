//! Reads an ELF file's headers and judges whether it is a static executable for a target.
//!
//! The reading is `object`'s (`object::read::elf`): its header, program header and dynamic entry
//! types do every bounds-checked, endian-aware read. Only what the verdict needs is looked at,
//! through the program headers as the kernel sees them: the identification, `e_type`,
//! `e_machine`, `PT_INTERP`, and the dynamic segment (`DT_NEEDED`, `DT_SONAME`, `DT_FLAGS_1`).
//! Section headers are not read (except section 0 for an extended program header count), so a
//! file whose sections are stripped or damaged still gets a verdict. Hostile input yields an
//! error, never a panic, and bounded memory: a few times the file, and at most 1 MiB of
//! `DT_NEEDED` names.

use std::fmt;
use std::mem::size_of;
use std::path::{Path, PathBuf};

use object::elf::{
    DF_1_PIE, DT_FLAGS_1, DT_NEEDED, DT_NULL, DT_SONAME, DT_STRSZ, DT_STRTAB, DataEncoding,
    ELFCLASS32, ELFCLASS64, ELFDATA2LSB, ELFDATA2MSB, ELFMAG, ET_CORE, ET_DYN, ET_EXEC, ET_REL,
    FileClass, FileHeader32, FileHeader64, PN_XNUM, PT_DYNAMIC, PT_INTERP, PT_LOAD,
};
use object::read::elf::{Dyn, FileHeader, ProgramHeader, SectionHeader};
use object::{Endianness, ReadRef, StringTable};

use crate::target::Target;

/// `e_ident`'s length, EI_NIDENT.
const IDENT_LEN: usize = 16;

/// The most bytes of `DT_NEEDED` names one file may list: real programs list a few hundred
/// bytes, and without a bound thousands of entries naming one long string cost memory quadratic
/// in the file's size.
const NEEDED_NAMES_MAX: usize = 1 << 20;

/// What is wrong with the bytes of an ELF file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ElfFormatError {
    #[error("not an ELF file (magic {found}, expected 7f 45 4c 46)")]
    NotElf { found: String },
    #[error(
        "not an ELF file (magic {found}): it looks like {format}, which verify does not support yet; the Linux targets' programs are ELF"
    )]
    OtherFormat { found: String, format: &'static str },
    #[error("truncated ELF header: file is {len} bytes, the header needs {need}")]
    TruncatedHeader { len: usize, need: u64 },
    #[error("unknown ELF class {class} (expected 1 for 32-bit or 2 for 64-bit)")]
    BadClass { class: u8 },
    #[error("unknown ELF data encoding {data} (expected 1 for little or 2 for big endian)")]
    BadEncoding { data: u8 },
    #[error("program header entries are {found} bytes, expected {expected}")]
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
        "e_phnum is PN_XNUM (0xffff) but e_shoff is 0: there is no section header 0 to hold the program header count"
    )]
    NoSectionHeaders,
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
    #[error(
        "DT_NEEDED names add up to more than {max} bytes after {count} entries: not a real program's dynamic section"
    )]
    TooManyNeeded { count: usize, max: usize },
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
    fn from_raw(e_type: object::elf::FileType) -> Self {
        match e_type {
            ET_EXEC => Self::Exec,
            ET_DYN => Self::Dyn,
            ET_REL => Self::Rel,
            ET_CORE => Self::Core,
            other => Self::Other(other.0),
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
        let info = &self.info;
        let linkage = if info.is_static_pie() {
            "static-pie"
        } else {
            "static"
        };
        let what = format!(
            "{linkage} ELF {}-bit {} executable",
            info.bits(),
            describe_machine(info.machine, info.class64, info.little_endian),
        );
        if self.ok {
            write!(
                f,
                "{path}: {what}, no interpreter, no shared libraries: OK for {target}"
            )
        } else if info.is_executable() && info.is_static() {
            // Only machine, class or byte order are wrong: the file is static, for another target.
            write!(
                f,
                "{path}: {what}, but NOT for {target}: {}",
                self.problems.join("; ")
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

/// Judges the bytes of an ELF file, read from `path`, against `target`.
pub fn verify_bytes(path: &Path, bytes: &[u8], target: &Target) -> Result<Verdict, ElfError> {
    let info = parse_elf(bytes).map_err(|problem| ElfError::Format {
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

/// The first bytes of a file, as hex, for messages.
pub(crate) fn magic_hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .take(4)
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Parses the headers of an ELF image held in memory.
pub fn parse_elf(bytes: &[u8]) -> Result<ElfInfo, ElfFormatError> {
    // The identification is checked here, not by `FileHeader::parse`: that folds every fault
    // into "Unsupported ELF header", and also refuses an EI_VERSION the kernel does not check.
    if bytes.get(..4) != Some(&ELFMAG[..]) {
        if ELFMAG.starts_with(bytes) {
            return Err(ElfFormatError::TruncatedHeader {
                len: bytes.len(),
                need: IDENT_LEN as u64,
            });
        }
        return Err(ElfFormatError::NotElf {
            found: magic_hex(bytes),
        });
    }
    if bytes.len() < IDENT_LEN {
        return Err(ElfFormatError::TruncatedHeader {
            len: bytes.len(),
            need: IDENT_LEN as u64,
        });
    }
    let class64 = match FileClass(bytes[4]) {
        ELFCLASS32 => false,
        ELFCLASS64 => true,
        class => return Err(ElfFormatError::BadClass { class: class.0 }),
    };
    let endian = match DataEncoding(bytes[5]) {
        ELFDATA2LSB => Endianness::Little,
        ELFDATA2MSB => Endianness::Big,
        data => return Err(ElfFormatError::BadEncoding { data: data.0 }),
    };
    if class64 {
        parse_headers::<FileHeader64<Endianness>>(bytes, endian)
    } else {
        parse_headers::<FileHeader32<Endianness>>(bytes, endian)
    }
}

fn parse_headers<Elf: FileHeader<Endian = Endianness>>(
    data: &[u8],
    endian: Endianness,
) -> Result<ElfInfo, ElfFormatError> {
    let len = data.len();
    let header = data
        .read_at::<Elf>(0)
        .map_err(|()| ElfFormatError::TruncatedHeader {
            len,
            need: size_of::<Elf>() as u64,
        })?;
    let class64 = header.is_class_64();
    let little = endian == Endianness::Little;
    let machine = header.e_machine(endian).0;
    let segments = program_headers(header, endian, data)?;

    let mut interpreter = None;
    let mut dynamic = None;
    for segment in segments {
        match segment.p_type(endian) {
            PT_INTERP if interpreter.is_none() => {
                let raw = segment_data(segment, endian, data, "PT_INTERP")?;
                // Not `ProgramHeader::interpreter`: it refuses a path without a NUL, and the
                // verdict should still name the interpreter such a file asks for.
                let path = raw.split(|&b| b == 0).next().unwrap_or_default();
                interpreter = Some(String::from_utf8_lossy(path).into_owned());
            }
            PT_DYNAMIC if dynamic.is_none() => dynamic = Some(segment),
            _ => {}
        }
    }

    let mut info = ElfInfo {
        class64,
        little_endian: little,
        machine,
        machine_name: machine_name(machine, class64, little),
        kind: ElfKind::from_raw(header.e_type(endian)),
        entry: header.e_entry(endian).into(),
        interpreter,
        has_dynamic: dynamic.is_some(),
        needed: Vec::new(),
        soname: None,
        pie_flag: false,
    };
    if let Some(dynamic) = dynamic {
        read_dynamic::<Elf>(dynamic, segments, endian, data, &mut info)?;
    }
    Ok(info)
}

/// The program header table, read where the kernel reads it.
fn program_headers<'data, Elf: FileHeader<Endian = Endianness>>(
    header: &Elf,
    endian: Endianness,
    data: &'data [u8],
) -> Result<&'data [Elf::ProgramHeader], ElfFormatError> {
    let phnum = if header.e_phnum(endian) == PN_XNUM {
        extended_phnum(header, endian, data)?
    } else {
        u32::from(header.e_phnum(endian))
    };
    if phnum == 0 {
        return Ok(&[]);
    }
    let expected = size_of::<Elf::ProgramHeader>() as u16;
    let found = header.e_phentsize(endian);
    // The kernel refuses any other entry size (fs/binfmt_elf.c, load_elf_phdrs).
    if found != expected {
        return Err(ElfFormatError::BadPhentsize { found, expected });
    }
    let offset: u64 = header.e_phoff(endian).into();
    // Not `FileHeader::program_headers`: it takes e_phoff 0 for "no program headers", where the
    // kernel reads the table at offset 0, and a verdict must see what the kernel will run.
    data.read_slice_at(offset, phnum as usize)
        .map_err(|()| ElfFormatError::TruncatedPhdrs {
            offset,
            count: u64::from(phnum),
            entsize: found,
            len: data.len(),
        })
}

/// `e_phnum` is PN_XNUM: the real count is section header 0's `sh_info`.
fn extended_phnum<Elf: FileHeader<Endian = Endianness>>(
    header: &Elf,
    endian: Endianness,
    data: &[u8],
) -> Result<u32, ElfFormatError> {
    let offset: u64 = header.e_shoff(endian).into();
    if offset == 0 {
        return Err(ElfFormatError::NoSectionHeaders);
    }
    // Not `FileHeader::section_0`: it also demands that e_shentsize match, which the count in
    // section header 0 does not depend on.
    let section_0 = data.read_at::<Elf::SectionHeader>(offset).map_err(|()| {
        ElfFormatError::TruncatedSectionHeader {
            offset,
            len: data.len(),
        }
    })?;
    Ok(section_0.sh_info(endian))
}

fn segment_data<'data, P: ProgramHeader<Endian = Endianness>>(
    segment: &P,
    endian: Endianness,
    data: &'data [u8],
    name: &'static str,
) -> Result<&'data [u8], ElfFormatError> {
    let (offset, size) = segment.file_range(endian);
    let truncated = ElfFormatError::TruncatedSegment {
        segment: name,
        offset,
        size,
        len: data.len(),
    };
    // `data` gives an empty slice for size 0 wherever it points; an offset past the end is
    // still a broken segment.
    if offset > data.len() as u64 {
        return Err(truncated);
    }
    segment.data(endian, data).map_err(|()| truncated)
}

fn read_dynamic<Elf: FileHeader<Endian = Endianness>>(
    dynamic: &Elf::ProgramHeader,
    segments: &[Elf::ProgramHeader],
    endian: Endianness,
    data: &[u8],
    info: &mut ElfInfo,
) -> Result<(), ElfFormatError> {
    let raw = segment_data(dynamic, endian, data, "PT_DYNAMIC")?;
    // Whole entries only; not `ProgramHeader::dynamic`, which refuses the segment when its size
    // is not a multiple of the entry size, where the loader just reads up to DT_NULL.
    let count = raw.len() / size_of::<Elf::Dyn>();
    let all: &[Elf::Dyn] = raw.read_slice_at(0, count).unwrap_or_default();
    let end = all
        .iter()
        .position(|entry| entry.d_tag(endian) == DT_NULL)
        .unwrap_or(all.len());
    let entries = &all[..end];

    let (mut strtab, mut strsz, mut soname, mut has_needed) = (None, None, None, false);
    for entry in entries {
        let value: u64 = entry.d_val(endian).into();
        match entry.d_tag(endian) {
            DT_NEEDED => has_needed = true,
            DT_SONAME => soname = Some(value),
            DT_STRTAB => strtab = Some(value),
            DT_STRSZ => strsz = Some(value),
            DT_FLAGS_1 => info.pie_flag = value & DF_1_PIE.0 != 0,
            _ => {}
        }
    }
    if !has_needed && soname.is_none() {
        return Ok(());
    }
    let addr = strtab.ok_or(ElfFormatError::MissingStrtab)?;
    let table = map_strtab::<Elf>(segments, endian, data, addr, strsz)?;
    let strings = StringTable::new(table, 0, table.len() as u64);
    let name = |tag: &'static str, offset: u64| -> Result<String, ElfFormatError> {
        let name = u32::try_from(offset)
            .ok()
            .and_then(|at| strings.get(at).ok())
            .ok_or(ElfFormatError::BadString {
                tag,
                offset,
                size: table.len() as u64,
            })?;
        Ok(String::from_utf8_lossy(name).into_owned())
    };
    // A second pass over the entries: DT_STRTAB may come after the names that need it.
    let mut needed_bytes = 0usize;
    for entry in entries.iter().filter(|e| e.d_tag(endian) == DT_NEEDED) {
        let needed = name("DT_NEEDED", entry.d_val(endian).into())?;
        needed_bytes += needed.len();
        if needed_bytes > NEEDED_NAMES_MAX {
            return Err(ElfFormatError::TooManyNeeded {
                count: info.needed.len() + 1,
                max: NEEDED_NAMES_MAX,
            });
        }
        info.needed.push(needed);
    }
    if let Some(offset) = soname {
        info.soname = Some(name("DT_SONAME", offset)?);
    }
    Ok(())
}

/// The string table's bytes: DT_STRTAB is a virtual address, found in the file through PT_LOAD.
///
/// Written here rather than with `ProgramHeader::data_range`: that maps an address only through
/// a segment wholly inside the file, and a last segment cut short still holds a readable table.
fn map_strtab<'data, Elf: FileHeader<Endian = Endianness>>(
    segments: &[Elf::ProgramHeader],
    endian: Endianness,
    data: &'data [u8],
    addr: u64,
    strsz: Option<u64>,
) -> Result<&'data [u8], ElfFormatError> {
    for segment in segments.iter().filter(|s| s.p_type(endian) == PT_LOAD) {
        let (offset, filesz) = segment.file_range(endian);
        let Some(delta) = addr.checked_sub(segment.p_vaddr(endian).into()) else {
            continue;
        };
        if delta >= filesz {
            continue;
        }
        let Some(start) = offset.checked_add(delta) else {
            continue;
        };
        let in_segment = filesz - delta;
        // A segment that claims more than the file holds still yields whatever is present.
        let Some(present) = usize::try_from(start).ok().and_then(|at| data.get(at..)) else {
            continue;
        };
        let len = strsz.map_or(in_segment, |size| size.min(in_segment));
        let len = usize::try_from(len).map_or(present.len(), |len| len.min(present.len()));
        return Ok(&present[..len]);
    }
    Err(ElfFormatError::UnmappedStrtab { addr })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::verify;
    use std::fs;

    // The raw numbers the image builder writes; object's constants are typed.
    const MAGIC: [u8; 4] = ELFMAG;
    const ELFCLASS32: u8 = object::elf::ELFCLASS32.0;
    const ELFCLASS64: u8 = object::elf::ELFCLASS64.0;
    const ELFDATA2LSB: u8 = object::elf::ELFDATA2LSB.0;
    const ELFDATA2MSB: u8 = object::elf::ELFDATA2MSB.0;
    const ET_REL: u16 = object::elf::ET_REL.0;
    const ET_EXEC: u16 = object::elf::ET_EXEC.0;
    const ET_DYN: u16 = object::elf::ET_DYN.0;
    const PT_LOAD: u32 = object::elf::PT_LOAD.0;
    const PT_DYNAMIC: u32 = object::elf::PT_DYNAMIC.0;
    const PT_INTERP: u32 = object::elf::PT_INTERP.0;
    const DT_NULL: u64 = object::elf::DT_NULL.0 as u64;
    const DT_NEEDED: u64 = object::elf::DT_NEEDED.0 as u64;
    const DT_STRTAB: u64 = object::elf::DT_STRTAB.0 as u64;
    const DT_STRSZ: u64 = object::elf::DT_STRSZ.0 as u64;
    const DT_SONAME: u64 = object::elf::DT_SONAME.0 as u64;
    const DT_FLAGS_1: u64 = object::elf::DT_FLAGS_1.0 as u64;
    const DF_1_PIE: u64 = object::elf::DF_1_PIE.0;

    const EM_X86_64: u16 = 62;
    const EM_AARCH64: u16 = 183;
    const EM_ARM: u16 = 40;
    const EM_S390: u16 = 22;

    fn target(name: &str) -> &'static Target {
        Target::parse(name).unwrap()
    }

    /// What the test builder puts into an image.
    #[derive(Debug, Clone)]
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
        let mut interned = std::collections::HashMap::new();
        // A name given twice is stored once, as linkers do; both entries point at it.
        let mut name_at = |s: &'static str| {
            *interned.entry(s).or_insert_with(|| {
                let at = strtab.len() as u64;
                strtab.extend_from_slice(s.as_bytes());
                strtab.push(0);
                at
            })
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
            "hello: static ELF 64-bit x86-64 executable, but NOT for aarch64-linux-musl: machine is x86-64 (expected aarch64)"
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

    /// Issue 20: a static file for another machine is static; the verdict says what is wrong.
    #[test]
    fn a_static_file_for_another_machine_is_called_static_but_not_for_the_target() {
        let v = verdict(&Spec::static_exec(EM_AARCH64), "linux/riscv64");
        assert!(!v.ok);
        assert_eq!(
            v.line(),
            "hello: static ELF 64-bit aarch64 executable, but NOT for riscv64-linux-musl: machine is aarch64 (expected riscv64)"
        );
        let v = verdict(&Spec::static_pie(EM_AARCH64), "linux/amd64");
        assert_eq!(
            v.line(),
            "hello: static-pie ELF 64-bit aarch64 executable, but NOT for x86_64-linux-musl: machine is aarch64 (expected x86-64)"
        );
        let arm32 = Spec {
            class64: false,
            ..Spec::static_exec(EM_ARM)
        };
        assert_eq!(
            verdict(&arm32, "linux/arm64").line(),
            "hello: static ELF 32-bit arm executable, but NOT for aarch64-linux-musl: machine is arm (expected aarch64); ELF 32-bit (expected 64-bit)"
        );
        // Neither static nor for this machine: the headline says not static, the list says both.
        let v = verdict(&Spec::dynamic(EM_AARCH64), "linux/riscv64");
        assert!(v.line().starts_with("hello: NOT static for riscv64-linux-musl: machine is aarch64 (expected riscv64); interpreter "), "{v}");
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

    /// Counts the bytes the current thread has allocated, so a test can bound what parsing
    /// costs. It is the allocator of the whole unit test binary; counting is all it adds.
    mod meter {
        use std::alloc::{GlobalAlloc, Layout, System};
        use std::cell::Cell;

        thread_local! {
            static LIVE: Cell<usize> = const { Cell::new(0) };
            static PEAK: Cell<usize> = const { Cell::new(0) };
        }

        fn grow(bytes: usize) {
            let _ = LIVE.try_with(|live| {
                live.set(live.get().saturating_add(bytes));
                let _ = PEAK.try_with(|peak| peak.set(peak.get().max(live.get())));
            });
        }

        fn shrink(bytes: usize) {
            let _ = LIVE.try_with(|live| live.set(live.get().saturating_sub(bytes)));
        }

        struct Counting;

        // SAFETY: every call is passed to `System` unchanged; only counters are updated.
        unsafe impl GlobalAlloc for Counting {
            unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
                grow(layout.size());
                unsafe { System.alloc(layout) }
            }
            unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
                grow(layout.size());
                unsafe { System.alloc_zeroed(layout) }
            }
            unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
                shrink(layout.size());
                unsafe { System.dealloc(ptr, layout) }
            }
            unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
                grow(new_size);
                shrink(layout.size());
                unsafe { System.realloc(ptr, layout, new_size) }
            }
        }

        #[global_allocator]
        static COUNTING: Counting = Counting;

        /// Runs `f` and returns the most bytes it held allocated at once on this thread.
        pub fn peak<T>(f: impl FnOnce() -> T) -> (T, usize) {
            let base = LIVE.with(Cell::get);
            PEAK.with(|peak| peak.set(base));
            let out = f();
            (out, PEAK.with(Cell::get) - base)
        }
    }

    /// What parsing may cost: the DT_NEEDED names' bound (1 MiB) twice over, and a few times
    /// the file for the rest.
    fn parse_within_budget(bytes: &[u8]) -> Result<ElfInfo, ElfFormatError> {
        let (parsed, peak) = meter::peak(|| parse_elf(bytes));
        let budget = (2 << 20) + 16 * bytes.len() + 4096;
        assert!(
            peak <= budget,
            "parsing {} bytes allocated {peak} bytes (budget {budget})",
            bytes.len()
        );
        parsed
    }

    /// Thousands of DT_NEEDED entries naming one long string: the names are bounded, not
    /// copied once per entry (before, 4,096 entries of a 60 KB name made 245 MB of strings).
    #[test]
    fn needed_names_repeating_one_long_string_are_refused_within_bounded_memory() {
        let long: &'static str = "x".repeat(60_000).leak();
        let spec = Spec {
            needed: vec![long; 4096],
            ..Spec::dynamic(EM_AARCH64)
        };
        let image = build(&spec);
        assert!(image.len() < 200_000, "{}", image.len());
        assert_eq!(
            parse_within_budget(&image),
            Err(ElfFormatError::TooManyNeeded {
                count: 18,
                max: NEEDED_NAMES_MAX
            })
        );
        assert_eq!(
            ElfFormatError::TooManyNeeded {
                count: 18,
                max: NEEDED_NAMES_MAX
            }
            .to_string(),
            "DT_NEEDED names add up to more than 1048576 bytes after 18 entries: not a real program's dynamic section"
        );
        // A file that lists the same library a few times is still judged, every entry named.
        let spec = Spec {
            needed: vec!["libc.so"; 3],
            ..Spec::dynamic(EM_AARCH64)
        };
        let info = parse_within_budget(&build(&spec)).unwrap();
        assert_eq!(info.needed, ["libc.so"; 3]);
    }

    /// Property tests: `PROPTEST_CASES=100000 cargo test --lib verify::elf::tests::prop` runs
    /// them long; `cargo test` runs proptest's default count (256 cases each).
    mod prop {
        use super::*;
        use proptest::prelude::*;
        use proptest::sample::select;

        const MACHINES: [u16; 6] = [EM_AARCH64, EM_X86_64, EM_ARM, EM_S390, 243, 0x1234];
        const NAMES: [&str; 5] = ["libc.so", "libz.so.1", "libssl.so.3", "", "ld-linux.so"];
        const INTERPRETERS: [&str; 3] = ["/lib/ld-musl-aarch64.so.1", "/x", ""];

        fn spec() -> impl Strategy<Value = Spec> {
            (
                (any::<bool>(), any::<bool>()),
                select(vec![ET_EXEC, ET_DYN, ET_REL, 4, 0xfe00]),
                select(MACHINES.to_vec()),
                any::<u32>(),
                proptest::option::of(select(INTERPRETERS.to_vec())),
                any::<bool>(),
                proptest::collection::vec(select(NAMES.to_vec()), 0..4),
                proptest::option::of(select(NAMES.to_vec())),
                proptest::option::of(any::<u64>()),
            )
                .prop_map(
                    |(
                        (class64, little),
                        e_type,
                        machine,
                        entry,
                        interp,
                        dynamic,
                        needed,
                        soname,
                        flags_1,
                    )| Spec {
                        class64,
                        little,
                        e_type,
                        machine,
                        entry: u64::from(entry),
                        interp,
                        dynamic,
                        needed,
                        soname,
                        // A 32-bit dynamic entry holds 32 bits.
                        flags_1: flags_1.map(|f| if class64 { f } else { f & 0xffff_ffff }),
                    },
                )
        }

        /// A value a mutated field takes: the edges that break bounds checks, or anything.
        fn field_value() -> impl Strategy<Value = u64> {
            prop_oneof![
                select(vec![
                    0,
                    1,
                    2,
                    0x40,
                    0xffff,
                    0x1_0000,
                    0x7fff_ffff,
                    0xffff_ffff,
                    0x1_0000_0000,
                    u64::MAX / 2,
                    u64::MAX - 7,
                    u64::MAX,
                ]),
                0..4096u64,
                any::<u64>(),
            ]
        }

        #[derive(Debug, Clone)]
        enum Mutation {
            /// Writes a field of `width` bytes (2, 4 or 8) at an offset aligned to it: the
            /// builder's headers, program headers and dynamic entries are all aligned, so these
            /// land on e_phoff, p_filesz, d_tag, d_val and the rest.
            Field {
                slot: usize,
                width: usize,
                value: u64,
            },
            /// One of the header fields that size or place the tables.
            Header {
                field: usize,
                value: u64,
            },
            Byte {
                slot: usize,
                value: u8,
            },
            Truncate {
                keep: usize,
            },
        }

        fn mutation() -> impl Strategy<Value = Mutation> {
            prop_oneof![
                (any::<usize>(), select(vec![2usize, 4, 8]), field_value())
                    .prop_map(|(slot, width, value)| Mutation::Field { slot, width, value }),
                (0..6usize, field_value())
                    .prop_map(|(field, value)| Mutation::Header { field, value }),
                (any::<usize>(), any::<u8>())
                    .prop_map(|(slot, value)| Mutation::Byte { slot, value }),
                any::<usize>().prop_map(|keep| Mutation::Truncate { keep }),
            ]
        }

        fn write(image: &mut [u8], at: usize, width: usize, value: u64, little: bool) {
            let Some(field) = image.get_mut(at..at + width) else {
                return;
            };
            let bytes = if little {
                value.to_le_bytes()
            } else {
                value.to_be_bytes()
            };
            let bytes = if little {
                &bytes[..width]
            } else {
                &bytes[8 - width..]
            };
            field.copy_from_slice(bytes);
        }

        fn apply(image: &mut Vec<u8>, spec: &Spec, mutation: &Mutation) {
            if image.is_empty() {
                return;
            }
            let word = if spec.class64 { 8 } else { 4 };
            match *mutation {
                Mutation::Field { slot, width, value } => {
                    let at = slot % image.len() / width * width;
                    write(image, at, width, value, spec.little);
                }
                Mutation::Header { field, value } => {
                    // e_phoff, e_shoff, e_phentsize, e_phnum, e_shentsize, e_type.
                    let (phoff, shoff, phentsize) = if spec.class64 {
                        (32, 40, 54)
                    } else {
                        (28, 32, 42)
                    };
                    let (at, width) = [
                        (phoff, word),
                        (shoff, word),
                        (phentsize, 2),
                        (phentsize + 2, 2),
                        (phentsize + 4, 2),
                        (16, 2),
                    ][field];
                    write(image, at, width, value, spec.little);
                }
                Mutation::Byte { slot, value } => {
                    let at = slot % image.len();
                    image[at] = value;
                }
                Mutation::Truncate { keep } => image.truncate(keep % image.len()),
            }
        }

        proptest! {
            #[test]
            fn prop_arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
                let _ = parse_within_budget(&bytes);
            }

            #[test]
            fn prop_bytes_behind_a_valid_identification_never_panic(
                class in 0u8..4,
                data in 0u8..4,
                rest in proptest::collection::vec(any::<u8>(), 0..2048),
            ) {
                let mut bytes = MAGIC.to_vec();
                bytes.extend_from_slice(&[class, data, 1]);
                bytes.extend_from_slice(&rest);
                let _ = parse_within_budget(&bytes);
            }

            /// Unmutated, every built image reads back as built; mutated, it is read or refused.
            #[test]
            fn prop_valid_images_read_back_and_mutated_ones_never_panic(
                spec in spec(),
                mutations in proptest::collection::vec(mutation(), 1..5),
            ) {
                let mut image = build(&spec);
                let info = parse_within_budget(&image).unwrap();
                let dynamic = spec.dynamic;
                prop_assert_eq!(info.class64, spec.class64);
                prop_assert_eq!(info.little_endian, spec.little);
                prop_assert_eq!(info.machine, spec.machine);
                prop_assert_eq!(info.kind, ElfKind::from_raw(object::elf::FileType(spec.e_type)));
                prop_assert_eq!(info.entry, spec.entry);
                prop_assert_eq!(info.interpreter.as_deref(), spec.interp);
                prop_assert_eq!(info.has_dynamic, dynamic);
                let needed: &[&str] = if dynamic { &spec.needed } else { &[] };
                prop_assert_eq!(&info.needed, needed);
                prop_assert_eq!(info.soname.as_deref(), spec.soname.filter(|_| dynamic));
                let pie = dynamic && spec.flags_1.is_some_and(|f| f & DF_1_PIE != 0);
                prop_assert_eq!(info.pie_flag, pie);

                for mutation in &mutations {
                    apply(&mut image, &spec, mutation);
                    let _ = parse_within_budget(&image);
                }
            }
        }
    }
}
