//! Host ranges prepared for copies (`aml_dma_ze_host_prepare` /
//! `aml_dma_ze_host_release`): `malloc`'d memory imported into the dma's
//! driver through Intel's host-pointer import (`zexDriverImportExternalPointer`),
//! so that the driver copies it as it copies its own host allocations instead
//! of pinning it for each copy (compute-runtime's
//! `programmers-guide/SYSTEM_MEMORY_ALLOCATIONS.md`; SYCL's
//! `prepare_for_device_copy` / `release_from_device_copy`).
//!
//! One table for the process: a driver's imports are the driver's, whatever
//! the dma, so two prepared ranges never overlap, whichever dmas prepared
//! them. Each range belongs to the dma that prepared it: it is released
//! through that dma, or by its destroy. A range the driver knows already
//! (USM, which `zeMemGetAllocProperties` names; or a range the application
//! imported itself) and every range on a driver without the import is only
//! recorded: prepare and release succeed and do no work.
//!
//! Knows no dma: its callers (`capi`, `engine`) hand it the dma's driver,
//! context and an owner key.

use std::collections::BTreeMap;
use std::ffi::c_void;

use parking_lot::Mutex;

use crate::diag::refuse;
use crate::error::AmlError;
use crate::level_zero::{Context, Driver, HostImport};
use crate::loader::Ze;

/// What prepare did with a range.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Prepared {
    /// Imported into the driver; released at release (or destroy).
    Imported,
    /// Recorded only: memory the driver knows, or a driver without the import.
    Recorded,
}

struct Range {
    end: usize,
    /// The dma that prepared it (its address).
    owner: usize,
    driver: Driver,
    prepared: Prepared,
}

/// Prepared ranges by base address; the lock also serialises the driver
/// calls that import and release them.
static RANGES: Mutex<BTreeMap<usize, Range>> = Mutex::new(BTreeMap::new());

/// Each driver's host-pointer import, resolved once (`None`: it has none).
static IMPORTS: Mutex<Vec<(Driver, Option<HostImport>)>> = Mutex::new(Vec::new());

/// The driver's import, resolved on first use.
fn import_of(ze: &Ze, driver: Driver) -> Option<HostImport> {
    let mut imports = IMPORTS.lock();
    if let Some((_, import)) = imports.iter().find(|(known, _)| *known == driver) {
        return *import;
    }
    let import = driver.host_import(ze);
    imports.push((driver, import));
    import
}

/// Whether `driver` offers the host-pointer import (`aml_dma_ze_host_imports`).
pub fn imports(ze: &Ze, driver: Driver) -> bool {
    import_of(ze, driver).is_some()
}

/// The prepared range `[base, end)` meets, if any (the last one starting
/// before `end`: prepared ranges never overlap).
fn overlapping(ranges: &BTreeMap<usize, Range>, base: usize, end: usize) -> Option<(usize, &Range)> {
    ranges.range(..end).next_back().filter(|(_, range)| range.end > base).map(|(&start, range)| (start, range))
}

/// Whether the driver knows `pointer` as one of its allocations (USM).
fn driver_allocation(context: &Context, pointer: *mut c_void) -> bool {
    context.is_allocation(pointer).unwrap_or(false)
}

/// `aml_dma_ze_host_prepare` for the dma `owner` on `driver` / `context`.
pub fn prepare(
    ze: &Ze,
    driver: Driver,
    context: &Context,
    owner: usize,
    pointer: *mut c_void,
    size: usize,
) -> Result<(), AmlError> {
    const PREPARE: &str = "aml_dma_ze_host_prepare";
    if pointer.is_null() {
        return Err(refuse!(AmlError::EINVAL, PREPARE, "ptr is NULL"));
    }
    if size == 0 {
        return Err(refuse!(AmlError::EINVAL, PREPARE, "size is 0: nothing to prepare"));
    }
    let base = pointer as usize;
    let end = base
        .checked_add(size)
        .ok_or_else(|| refuse!(AmlError::EINVAL, PREPARE, "ptr {pointer:p} + size {size} is past the address space"))?;
    let mut ranges = RANGES.lock();
    if let Some((start, range)) = overlapping(&ranges, base, end) {
        let whose = if range.owner == owner { "this dma" } else { "another dma" };
        return Err(refuse!(
            AmlError::EINVAL,
            PREPARE,
            "[{base:#x}, {end:#x}) overlaps [{start:#x}, {:#x}), prepared already by {whose} (release it first)",
            range.end
        ));
    }
    let prepared = match import_of(ze, driver) {
        Some(_) if driver_allocation(context, pointer) => Prepared::Recorded,
        Some(import) if import.imported_base(pointer).is_some() => Prepared::Recorded,
        Some(import) => {
            // SAFETY: the range is the caller's memory, mapped until released
            // (`aml_dma_ze_host_prepare`'s contract).
            unsafe { import.import(pointer, size) }?;
            Prepared::Imported
        }
        None => Prepared::Recorded,
    };
    ranges.insert(base, Range { end, owner, driver, prepared });
    Ok(())
}

/// Releases one range of the driver's, if prepare imported it.
fn unprepare(ze: &Ze, base: usize, range: &Range) -> Result<(), AmlError> {
    if range.prepared == Prepared::Recorded {
        return Ok(());
    }
    let Some(import) = import_of(ze, range.driver) else { return Ok(()) };
    import.release(base as *mut c_void)?;
    Ok(())
}

/// `aml_dma_ze_host_release`: `pointer` must be the base of a range `owner`
/// prepared. The range is forgotten even if the driver's release fails (its
/// error is returned).
pub fn release(ze: &Ze, owner: usize, pointer: *mut c_void) -> Result<(), AmlError> {
    const RELEASE: &str = "aml_dma_ze_host_release";
    if pointer.is_null() {
        return Err(refuse!(AmlError::EINVAL, RELEASE, "ptr is NULL"));
    }
    let base = pointer as usize;
    let mut ranges = RANGES.lock();
    match ranges.get(&base) {
        Some(range) if range.owner == owner => {}
        Some(_) => {
            return Err(refuse!(AmlError::EINVAL, RELEASE, "ptr {pointer:p}: prepared by another dma (release it through that one)"))
        }
        None => {
            return Err(match overlapping(&ranges, base, base.saturating_add(1)) {
                Some((start, range)) => refuse!(
                    AmlError::EINVAL,
                    RELEASE,
                    "ptr {pointer:p}: inside [{start:#x}, {:#x}), prepared at {start:#x} (pass its start)",
                    range.end
                ),
                None => refuse!(AmlError::EINVAL, RELEASE, "ptr {pointer:p}: not prepared (never, or released already)"),
            })
        }
    }
    let range = ranges.remove(&base).expect("found above");
    unprepare(ze, base, &range)
}

/// Releases every range `owner` still has (its destroy); with `call_driver`
/// false (process exit: the driver may be gone) they are only forgotten.
pub fn release_all(ze: &Ze, owner: usize, call_driver: bool) {
    let mut ranges = RANGES.lock();
    let bases: Vec<usize> = ranges.iter().filter(|(_, range)| range.owner == owner).map(|(&base, _)| base).collect();
    for base in bases {
        let range = ranges.remove(&base).expect("listed above");
        if call_driver {
            let _ = unprepare(ze, base, &range);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(end: usize) -> Range {
        Range { end, owner: 0, driver: Driver::fake(0), prepared: Prepared::Recorded }
    }

    fn overlaps(ranges: &BTreeMap<usize, Range>, base: usize, end: usize) -> bool {
        overlapping(ranges, base, end).is_some()
    }

    #[test]
    fn overlaps_finds_any_shared_byte() {
        let ranges: BTreeMap<usize, Range> = [(100, range(200)), (300, range(301))].into_iter().collect();
        assert_eq!(overlapping(&ranges, 150, 400).map(|(start, _)| start), Some(300));
        assert!(!overlaps(&ranges, 0, 100));
        assert!(overlaps(&ranges, 0, 101));
        assert!(overlaps(&ranges, 199, 250));
        assert!(!overlaps(&ranges, 200, 300));
        assert!(overlaps(&ranges, 150, 160));
        assert!(overlaps(&ranges, 50, 1000));
        assert!(overlaps(&ranges, 300, 301));
        assert!(!overlaps(&ranges, 301, 400));
    }
}
