//! Reading a linked firmware image: section sizes (flash and RAM) and the addresses
//! of symbols (the instruction-count markers, the stack bounds).

use crate::error::{Error, Result};
use object::{Architecture, Object, ObjectSection, ObjectSymbol, SectionFlags};
use serde::Serialize;
use std::path::Path;

const SHF_WRITE: u64 = 0x1;
const SHF_EXECINSTR: u64 = 0x4;
const SHF_ALLOC: u64 = 0x2;

/// Pseudo-sections some runtimes (riscv-rt) use to reserve the stack and heap: they
/// are not static data and are left out of the RAM figure.
const RESERVATIONS: &[&str] = &[".stack", ".heap"];

/// One allocated section of the image.
#[derive(Debug, Clone, Serialize)]
pub struct SectionSize {
    /// Section name.
    pub name: String,
    /// Load address.
    pub address: u64,
    /// Bytes.
    pub size: u64,
    /// Stored in flash (it has contents in the file: code, constants, `.data`'s image).
    pub in_flash: bool,
    /// Occupies RAM while running (writable: `.data`, `.bss`, `.uninit`).
    pub in_ram: bool,
    /// Holds instructions (executable: `.text`).
    pub code: bool,
}

/// Flash and static RAM of a firmware image.
///
/// Flash = every allocated section with contents (`.vector_table + .text + .rodata +
/// .data`, and any boot vector); RAM = every allocated writable section (`.data +
/// .bss + .uninit`), without riscv-rt's `.stack`/`.heap` reservations. The stack is
/// measured at run time and reported separately.
#[derive(Debug, Clone, Serialize)]
pub struct Footprint {
    /// Bytes of flash.
    pub flash_bytes: u64,
    /// Bytes of RAM used by static data (the arena included), stack excluded.
    pub ram_bytes: u64,
    /// Bytes of flash holding instructions (every executable section).
    pub code_bytes: u64,
    /// Bytes between the lowest and the highest stack address (what is left of RAM).
    pub stack_capacity: u64,
    /// The sections counted.
    pub sections: Vec<SectionSize>,
}

/// A parsed firmware image.
pub struct Image {
    data: Vec<u8>,
}

impl Image {
    /// Reads an ELF file.
    pub fn read(path: &Path) -> Result<Image> {
        let data = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        object::File::parse(&*data).map_err(|e| bad(path, e))?;
        Ok(Image { data })
    }

    fn file(&self) -> object::File<'_> {
        object::File::parse(&*self.data).expect("parsed when read")
    }

    /// The address of a symbol; for Thumb code the mode bit is cleared, so this is
    /// the address of the first instruction.
    pub fn symbol(&self, name: &str) -> Option<u64> {
        let f = self.file();
        let addr = f.symbols().find(|s| s.name() == Ok(name))?.address();
        Some(if f.architecture() == Architecture::Arm { addr & !1 } else { addr })
    }

    /// Flash and RAM by section. `stack` names the symbols of the lowest and the highest
    /// stack address.
    pub fn footprint(&self, stack: (&str, &str)) -> Footprint {
        let mut sections = vec![];
        for s in self.file().sections() {
            let SectionFlags::Elf { sh_flags } = s.flags() else { continue };
            let name = s.name().unwrap_or("?").to_string();
            if sh_flags & SHF_ALLOC == 0 || s.size() == 0 || RESERVATIONS.contains(&name.as_str()) {
                continue;
            }
            sections.push(SectionSize {
                in_flash: s.file_range().is_some(),
                in_ram: sh_flags & SHF_WRITE != 0,
                code: sh_flags & SHF_EXECINSTR != 0,
                name,
                address: s.address(),
                size: s.size(),
            });
        }
        let sum = |f: fn(&SectionSize) -> bool| sections.iter().filter(|s| f(s)).map(|s| s.size).sum();
        let stack_capacity = match (self.symbol(stack.0), self.symbol(stack.1)) {
            (Some(lo), Some(hi)) => hi.saturating_sub(lo),
            _ => 0,
        };
        Footprint {
            flash_bytes: sum(|s| s.in_flash),
            ram_bytes: sum(|s| s.in_ram),
            code_bytes: sum(|s| s.in_flash && s.code),
            stack_capacity,
            sections,
        }
    }
}

fn bad(path: &Path, e: object::Error) -> Error {
    Error::Driver { step: format!("reading {}", path.display()), detail: format!("not an ELF image: {e}") }
}

impl Footprint {
    /// One line: `flash N B (.text …, .rodata …), RAM N B (…)`.
    pub fn to_text(&self) -> String {
        let list = |f: fn(&SectionSize) -> bool| {
            self.sections
                .iter()
                .filter(|s| f(s))
                .map(|s| format!("{} {}", s.name, s.size))
                .collect::<Vec<_>>()
                .join(", ")
        };
        format!(
            "flash {} B ({}), RAM {} B ({})",
            self.flash_bytes,
            list(|s| s.in_flash),
            self.ram_bytes,
            list(|s| s.in_ram)
        )
    }
}
