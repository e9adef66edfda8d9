//! Device profiles: named boards and chips a model may be deployed to, each with the
//! catalogue [`Target`] its code is compiled for, its clock, its flash and RAM, and
//! what of them the application around the model keeps for itself.
//!
//! The built-in catalogue is [`DEVICES`]; every figure in it is quoted from the
//! datasheet named in the device's `source`. What is *reserved for the application*
//! is not a datasheet figure but this catalogue's assumption (a radio stack, a
//! bootloader, buffers), stated in `source` as such; a devices file in TOML (read by
//! the compiler's `driver::fleet::devices`) adds devices and overrides figures.

use crate::Target;
use alloc::borrow::Cow;

/// One device of the fleet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    /// The name users type (`--devices`, reports).
    pub name: Cow<'static, str>,
    /// The catalogue target its code is compiled for.
    pub target: &'static Target,
    /// Core clock in Hz; `None` for the build machine (its latency is measured, not
    /// estimated).
    pub clock_hz: Option<u64>,
    /// Flash (code and constants) in bytes; `None` when not budgeted (the host).
    pub flash_bytes: Option<u64>,
    /// RAM in bytes; `None` when not budgeted (the host).
    pub ram_bytes: Option<u64>,
    /// Flash the application (and its stacks, bootloader) keeps for itself.
    pub reserved_flash_bytes: u64,
    /// RAM the application keeps for itself.
    pub reserved_ram_bytes: u64,
    /// One line: what the device is.
    pub description: Cow<'static, str>,
    /// Where each figure comes from.
    pub source: Cow<'static, str>,
}

impl Device {
    /// Flash left for the model (code, weights, runtime): the flash less the
    /// application's reserve; `None` when not budgeted.
    pub fn flash_budget(&self) -> Option<u64> {
        self.flash_bytes.map(|f| f.saturating_sub(self.reserved_flash_bytes))
    }

    /// RAM left for the model (arena, static data, stack); `None` when not budgeted.
    pub fn ram_budget(&self) -> Option<u64> {
        self.ram_bytes.map(|r| r.saturating_sub(self.reserved_ram_bytes))
    }
}

const KIB: u64 = 1024;
const MHZ: u64 = 1_000_000;

const fn target(name: &str) -> &'static Target {
    // Evaluated at compile time: a catalogue entry naming an unknown target stops the
    // build.
    let mut i = 0;
    while i < crate::TARGETS.len() {
        if str_eq(crate::TARGETS[i].name, name) {
            return &crate::TARGETS[i];
        }
        i += 1;
    }
    panic!("a device names a target that is not in the catalogue");
}

const fn str_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// A built-in device (const-constructible).
#[allow(clippy::too_many_arguments)]
const fn device(
    name: &'static str,
    target_name: &'static str,
    clock_hz: Option<u64>,
    flash_bytes: Option<u64>,
    ram_bytes: Option<u64>,
    reserved: (u64, u64),
    description: &'static str,
    source: &'static str,
) -> Device {
    Device {
        name: Cow::Borrowed(name),
        target: target(target_name),
        clock_hz,
        flash_bytes,
        ram_bytes,
        reserved_flash_bytes: reserved.0,
        reserved_ram_bytes: reserved.1,
        description: Cow::Borrowed(description),
        source: Cow::Borrowed(source),
    }
}

/// The built-in device catalogue, in the order reports list it.
pub const DEVICES: &[Device] = &[
    device(
        "nrf52840",
        "cortex-m4",
        Some(64 * MHZ),
        Some(1024 * KIB),
        Some(256 * KIB),
        (160 * KIB, 32 * KIB),
        "Nordic nRF52840: Cortex-M4F at 64 MHz, 1 MB flash, 256 KB RAM (BLE SoC)",
        "Nordic nRF52840 Product Specification v1.7, section 1 (64 MHz Cortex-M4F, 1 MB flash, \
         256 KB RAM). Reserve (assumption of this catalogue): 160 KB flash and 32 KB RAM for a BLE \
         stack (S140 SoftDevice class) and the application",
    ),
    device(
        "stm32l476",
        "cortex-m4",
        Some(80 * MHZ),
        Some(1024 * KIB),
        Some(128 * KIB),
        (64 * KIB, 16 * KIB),
        "ST STM32L476RG: Cortex-M4F at 80 MHz, 1 MB flash, 128 KB SRAM (96 KB SRAM1 + 32 KB SRAM2)",
        "ST DS10198 (STM32L476xx datasheet), features page: 80 MHz Cortex-M4 with FPU, up to 1 MB \
         flash, 128 KB SRAM of which 32 KB SRAM2. Reserve (assumption): 64 KB flash and 16 KB RAM \
         for the application",
    ),
    device(
        "stm32u585",
        "cortex-m33",
        Some(160 * MHZ),
        Some(2048 * KIB),
        Some(786 * KIB),
        (128 * KIB, 64 * KIB),
        "ST STM32U585: Cortex-M33 at 160 MHz, 2 MB flash, 786 KB SRAM",
        "ST DS13086 (STM32U585xx datasheet), features page: 160 MHz Cortex-M33 with FPU and \
         TrustZone, 2 MB flash, 786 KB SRAM. Reserve (assumption): 128 KB flash and 64 KB RAM for \
         the application",
    ),
    device(
        "alif-e3-he",
        "cortex-m55",
        Some(160 * MHZ),
        Some(5632 * KIB),
        Some(256 * KIB),
        (256 * KIB, 32 * KIB),
        "Alif Ensemble-class high-efficiency core: Cortex-M55 with Helium at 160 MHz, its 256 KB \
         data TCM as RAM, MRAM as flash",
        "Alif white paper AWPR0003 'RAM Regions and Linker Files in Alif Microcontrollers': the \
         RTSS-HE core's data TCM (SRAM5) has 256 KB at 160 MHz; flash is the family's largest MRAM \
         (5.5 MB, Alif Ensemble product pages: up to 5.5 MB MRAM; smaller parts have less). \
         Reserve (assumption): 256 KB MRAM and 32 KB DTCM for the application",
    ),
    device(
        "esp32-c3",
        "riscv32imac",
        Some(160 * MHZ),
        Some(4096 * KIB),
        Some(400 * KIB),
        (1024 * KIB, 160 * KIB),
        "Espressif ESP32-C3 (FH4): RISC-V RV32IMC at 160 MHz, 4 MB in-package flash, 400 KB SRAM; \
         compiled as riscv32imac, the nearest catalogue target (the C3 lacks the A extension)",
        "Espressif ESP32-C3 Series Datasheet v1.x, section 1 (RV32IMC up to 160 MHz, 400 KB SRAM of \
         which 16 KB cache, 4 MB flash in the FH4 variants). Reserve (assumption): 1 MB flash for \
         the bootloader, partition table, OTA and Wi-Fi/BLE stacks, 160 KB RAM for the radio \
         stacks and the application",
    ),
    device(
        "rp2040",
        "cortex-m0plus",
        Some(133 * MHZ),
        Some(2048 * KIB),
        Some(264 * KIB),
        (64 * KIB, 16 * KIB),
        "Raspberry Pi RP2040 on a Pico board: Cortex-M0+ at 133 MHz, 2 MB QSPI flash, 264 KB SRAM",
        "Raspberry Pi RP2040 Datasheet, section 1 (dual Cortex-M0+ at 133 MHz, 264 KB on-chip \
         SRAM, external QSPI flash) and the Raspberry Pi Pico Datasheet (2 MB W25Q16JV flash). \
         Reserve (assumption): 64 KB flash and 16 KB RAM for the application",
    ),
    device(
        "samd21g18",
        "cortex-m0plus",
        Some(48 * MHZ),
        Some(256 * KIB),
        Some(32 * KIB),
        (32 * KIB, 8 * KIB),
        "Microchip ATSAMD21G18A: Cortex-M0+ at 48 MHz, 256 KB flash, 32 KB SRAM (Arduino Zero class)",
        "Microchip SAM D21/DA1 Family Data Sheet (DS40001882), ordering information: ATSAMD21G18A, \
         48 MHz Cortex-M0+, 256 KB flash, 32 KB SRAM. Reserve (assumption): 32 KB flash and 8 KB RAM \
         for the application",
    ),
    device(
        "linux-host",
        "host",
        None,
        None,
        None,
        (0, 0),
        "the build machine running Linux: latency measured, no flash or RAM budget",
        "measured on the machine that runs tinyops; no budgets",
    ),
];

/// Finds a built-in device by name.
pub fn builtin(name: &str) -> Option<&'static Device> {
    DEVICES.iter().find(|d| d.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogue_names_are_unique_and_budgets_cover_reserves() {
        for (i, d) in DEVICES.iter().enumerate() {
            assert!(DEVICES[..i].iter().all(|e| e.name != d.name), "{} twice", d.name);
            assert_eq!(d.target.is_host(), d.clock_hz.is_none(), "{}", d.name);
            assert!(d.flash_budget().is_none_or(|b| b > 0), "{}", d.name);
            assert!(d.ram_budget().is_none_or(|b| b > 0), "{}", d.name);
            assert!(!d.source.is_empty(), "{}", d.name);
        }
        assert_eq!(builtin("nrf52840").unwrap().ram_budget(), Some(224 * KIB));
        assert!(builtin("nrf52841").is_none());
    }
}
