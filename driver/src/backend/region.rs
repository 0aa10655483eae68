//! The geometry of `zeCommandListAppendMemoryCopyRegion`, kept apart from
//! lists and registries: `check` turns the caller's arguments into a
//! `RegionCopy` (or the spec's error), `execute` performs one with any row
//! copier. Pure functions, so that any backend can reuse them.
//!
//! Where the spec is silent, Intel's compute-runtime decides
//! (`CommandListCoreFamily::appendMemoryCopyRegion`): the source region's
//! extents are the copy's; depth 0 is a 2-D copy; a pitch of 0 means rows of
//! `originX + width` bytes, a slice pitch of 0 slices of `originY + height`
//! rows. Intel aborts on a slice pitch without a row pitch; this driver
//! refuses it. A pitch smaller than what it spans (a row pitch below the
//! width, a slice pitch below `height` rows) is refused too: the rows of
//! such a region overlap each other.

use ze_sys::*;

/// One validated region copy: addresses as integers (it crosses to the
/// engine thread), origins already applied, every pitch effective (non-zero).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RegionCopy {
    pub destination: usize,
    pub source: usize,
    pub width: usize,
    pub height: usize,
    pub depth: usize,
    pub destination_pitch: usize,
    pub destination_slice_pitch: usize,
    pub source_pitch: usize,
    pub source_slice_pitch: usize,
}

impl RegionCopy {
    /// Nothing to copy: only the command's events are handled.
    pub fn is_empty(&self) -> bool {
        self.width == 0 || self.height == 0 || self.depth == 0
    }
}

/// One side of the copy as the caller gave it.
#[derive(Clone, Copy)]
pub struct Side<'a> {
    pub base: usize,
    pub region: Option<&'a ze_copy_region_t>,
    pub pitch: u32,
    pub slice_pitch: u32,
}

/// One side resolved: address of its first byte and its effective pitches.
struct Placed {
    start: usize,
    pitch: usize,
    slice_pitch: usize,
}

fn place(side: &Side, region: &ze_copy_region_t, height: usize, depth: usize) -> Result<Placed, ze_result_t> {
    let width = region.width as usize;
    if side.slice_pitch != 0 && side.pitch == 0 {
        return Err(ZE_RESULT_ERROR_INVALID_ARGUMENT);
    }
    if side.pitch != 0 && (side.pitch as usize) < width {
        return Err(ZE_RESULT_ERROR_INVALID_ARGUMENT);
    }
    // u32 operands in usize (64-bit) cannot overflow the products below.
    let pitch = if side.pitch == 0 { region.originX as usize + width } else { side.pitch as usize };
    let slice_pitch =
        if side.slice_pitch == 0 { pitch * (region.originY as usize + height) } else { side.slice_pitch as usize };
    if depth > 1 && slice_pitch < pitch * height {
        return Err(ZE_RESULT_ERROR_INVALID_ARGUMENT);
    }
    let offset = region.originX as usize + region.originY as usize * pitch + region.originZ as usize * slice_pitch;
    let start = side.base.checked_add(offset).ok_or(ZE_RESULT_ERROR_INVALID_ARGUMENT)?;
    Ok(Placed { start, pitch, slice_pitch })
}

/// Validates a region copy as the spec and Intel's driver do (see the
/// module's comment): NULL pointer or region → `INVALID_NULL_POINTER`; bad
/// pitches or an address range past the end of memory → `INVALID_ARGUMENT`;
/// a byte of the destination that is also read → `OVERLAPPING_REGIONS`.
pub fn check(destination: Side, source: Side) -> Result<RegionCopy, ze_result_t> {
    let (Some(destination_region), Some(source_region)) = (destination.region, source.region) else {
        return Err(ZE_RESULT_ERROR_INVALID_NULL_POINTER);
    };
    if destination.base == 0 || source.base == 0 {
        return Err(ZE_RESULT_ERROR_INVALID_NULL_POINTER);
    }
    let width = source_region.width as usize;
    let height = source_region.height as usize;
    let depth = (source_region.depth as usize).max(1);
    // Intel sizes both sides by the source region; so does this driver.
    let sized = |region: &ze_copy_region_t| ze_copy_region_t { width: source_region.width, ..*region };
    let d = place(&destination, &sized(destination_region), height, depth)?;
    let s = place(&source, source_region, height, depth)?;
    let copy = RegionCopy {
        destination: d.start,
        source: s.start,
        width,
        height,
        depth,
        destination_pitch: d.pitch,
        destination_slice_pitch: d.slice_pitch,
        source_pitch: s.pitch,
        source_slice_pitch: s.slice_pitch,
    };
    if copy.is_empty() {
        return Ok(copy);
    }
    let destination_rows = Rows::new(d.start, &copy, d.pitch, d.slice_pitch)?;
    let source_rows = Rows::new(s.start, &copy, s.pitch, s.slice_pitch)?;
    if overlap(destination_rows, source_rows) {
        return Err(ZE_RESULT_ERROR_OVERLAPPING_REGIONS);
    }
    Ok(copy)
}

/// The rows of one side, in increasing address order: the pitch checks make
/// each row end before the next begins.
#[derive(Clone, Copy)]
struct Rows {
    start: usize,
    end: usize,
    width: usize,
    height: usize,
    depth: usize,
    pitch: usize,
    slice_pitch: usize,
}

impl Rows {
    fn new(start: usize, copy: &RegionCopy, pitch: usize, slice_pitch: usize) -> Result<Rows, ze_result_t> {
        let last_row = (copy.depth - 1)
            .checked_mul(slice_pitch)
            .and_then(|z| (copy.height - 1).checked_mul(pitch).and_then(|y| y.checked_add(z)))
            .and_then(|offset| offset.checked_add(start));
        let end = last_row.and_then(|row| row.checked_add(copy.width)).ok_or(ZE_RESULT_ERROR_INVALID_ARGUMENT)?;
        Ok(Rows { start, end, width: copy.width, height: copy.height, depth: copy.depth, pitch, slice_pitch })
    }

    fn row(&self, index: usize) -> (usize, usize) {
        let start = self.start + (index / self.height) * self.slice_pitch + (index % self.height) * self.pitch;
        (start, start + self.width)
    }

    fn count(&self) -> usize {
        self.height * self.depth
    }
}

/// Whether any byte lies in a row of both sides: disjoint bounds answer at
/// once, interleaved regions (two tiles of one array) by one merge of rows.
fn overlap(a: Rows, b: Rows) -> bool {
    if a.end <= b.start || b.end <= a.start {
        return false;
    }
    let (mut i, mut j) = (0, 0);
    while i < a.count() && j < b.count() {
        let (a_start, a_end) = a.row(i);
        let (b_start, b_end) = b.row(j);
        if a_end <= b_start {
            i += 1;
        } else if b_end <= a_start {
            j += 1;
        } else {
            return true;
        }
    }
    false
}

/// Performs `copy` with `copy_row(destination, source, bytes)`, merging rows
/// that are contiguous on both sides into one call.
///
/// # Safety
/// `copy` came from `check`, and both regions are valid memory (the caller's
/// Level Zero contract) until the call returns.
pub unsafe fn execute(copy: &RegionCopy, mut copy_row: impl FnMut(*mut u8, *const u8, usize)) {
    if copy.is_empty() {
        return;
    }
    let rows_packed = copy.destination_pitch == copy.width && copy.source_pitch == copy.width;
    let slices_packed = rows_packed
        && (copy.depth == 1
            || (copy.destination_slice_pitch == copy.width * copy.height
                && copy.source_slice_pitch == copy.width * copy.height));
    if slices_packed {
        copy_row(copy.destination as *mut u8, copy.source as *const u8, copy.width * copy.height * copy.depth);
        return;
    }
    for z in 0..copy.depth {
        let destination = copy.destination + z * copy.destination_slice_pitch;
        let source = copy.source + z * copy.source_slice_pitch;
        if rows_packed {
            copy_row(destination as *mut u8, source as *const u8, copy.width * copy.height);
            continue;
        }
        for y in 0..copy.height {
            copy_row(
                (destination + y * copy.destination_pitch) as *mut u8,
                (source + y * copy.source_pitch) as *const u8,
                copy.width,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn region(x: u32, y: u32, z: u32, width: u32, height: u32, depth: u32) -> ze_copy_region_t {
        ze_copy_region_t { originX: x, originY: y, originZ: z, width, height, depth }
    }

    fn side(base: usize, region: &ze_copy_region_t, pitch: u32, slice_pitch: u32) -> Side<'_> {
        Side { base, region: Some(region), pitch, slice_pitch }
    }

    #[test]
    fn origins_and_pitches_place_the_first_byte() {
        let r = region(3, 2, 1, 4, 5, 2);
        let copy = check(side(0x10000, &r, 16, 256), side(0x20000, &r, 32, 1024)).unwrap();
        assert_eq!(copy.destination, 0x10000 + 3 + 2 * 16 + 256);
        assert_eq!(copy.source, 0x20000 + 3 + 2 * 32 + 1024);
        assert_eq!((copy.width, copy.height, copy.depth), (4, 5, 2));
    }

    #[test]
    fn zero_pitches_mean_packed_rows_and_slices_of_origin_plus_extent() {
        let r = region(2, 1, 0, 6, 3, 2);
        let copy = check(side(0x10000, &r, 0, 0), side(0x20000, &r, 0, 0)).unwrap();
        assert_eq!(copy.destination_pitch, 8);
        assert_eq!(copy.destination_slice_pitch, 8 * 4);
        assert_eq!(copy.destination, 0x10000 + 2 + 8);
    }

    #[test]
    fn depth_zero_is_a_2d_copy() {
        let r = region(0, 0, 0, 4, 4, 0);
        let copy = check(side(0x10000, &r, 8, 0), side(0x20000, &r, 8, 0)).unwrap();
        assert_eq!(copy.depth, 1);
    }

    #[test]
    fn null_pointers_and_regions_are_refused() {
        let r = region(0, 0, 0, 4, 4, 1);
        let none = Side { base: 0x1000, region: None, pitch: 4, slice_pitch: 0 };
        assert_eq!(check(none, side(0x2000, &r, 4, 0)), Err(ZE_RESULT_ERROR_INVALID_NULL_POINTER));
        assert_eq!(check(side(0x2000, &r, 4, 0), none), Err(ZE_RESULT_ERROR_INVALID_NULL_POINTER));
        assert_eq!(check(side(0, &r, 4, 0), side(0x2000, &r, 4, 0)), Err(ZE_RESULT_ERROR_INVALID_NULL_POINTER));
        assert_eq!(check(side(0x2000, &r, 4, 0), side(0, &r, 4, 0)), Err(ZE_RESULT_ERROR_INVALID_NULL_POINTER));
    }

    #[test]
    fn pitches_smaller_than_what_they_span_are_refused() {
        let r = region(0, 0, 0, 8, 4, 2);
        let ok = side(0x100000, &r, 8, 32);
        assert_eq!(check(side(0x1000, &r, 7, 64), ok), Err(ZE_RESULT_ERROR_INVALID_ARGUMENT));
        assert_eq!(check(ok, side(0x1000, &r, 7, 64)), Err(ZE_RESULT_ERROR_INVALID_ARGUMENT));
        assert_eq!(check(side(0x1000, &r, 8, 31), ok), Err(ZE_RESULT_ERROR_INVALID_ARGUMENT));
        assert_eq!(check(side(0x1000, &r, 0, 64), ok), Err(ZE_RESULT_ERROR_INVALID_ARGUMENT));
        // A 2-D copy never uses its slice pitch.
        let flat = region(0, 0, 0, 8, 4, 1);
        assert!(check(side(0x1000, &flat, 8, 1), side(0x100000, &flat, 8, 1)).is_ok());
    }

    #[test]
    fn a_range_past_the_end_of_memory_is_refused() {
        let r = region(0, 0, 0, 8, 4, 1);
        assert_eq!(check(side(usize::MAX - 16, &r, 8, 0), side(0x1000, &r, 8, 0)), Err(ZE_RESULT_ERROR_INVALID_ARGUMENT));
    }

    #[test]
    fn overlap_is_exact() {
        // Two column halves of one 8-row array of 16-byte rows: interleaved, disjoint.
        let left = region(0, 0, 0, 8, 8, 1);
        let right = region(8, 0, 0, 8, 8, 1);
        assert!(check(side(0x1000, &left, 16, 0), side(0x1000, &right, 16, 0)).is_ok());
        // One byte shared.
        let wide = region(7, 0, 0, 8, 8, 1);
        assert_eq!(check(side(0x1000, &left, 16, 0), side(0x1000, &wide, 16, 0)), Err(ZE_RESULT_ERROR_OVERLAPPING_REGIONS));
        // Empty regions overlap nothing.
        let empty = region(0, 0, 0, 0, 8, 1);
        assert!(check(side(0x1000, &empty, 16, 0), side(0x1000, &empty, 16, 0)).unwrap().is_empty());
    }

    #[test]
    fn execute_copies_every_row_and_merges_packed_ones() {
        let source: Vec<u8> = (0..=255).collect();
        let mut destination = vec![0u8; 256];
        let r = region(1, 1, 1, 3, 2, 2);
        let copy = check(
            side(destination.as_mut_ptr() as usize, &r, 8, 32),
            side(source.as_ptr() as usize, &r, 16, 64),
        )
        .unwrap();
        let mut calls = 0;
        // SAFETY: both buffers span the regions checked above.
        unsafe {
            execute(&copy, |d, s, n| {
                calls += 1;
                std::ptr::copy_nonoverlapping(s, d, n)
            })
        };
        assert_eq!(calls, 4);
        for z in 1..3 {
            for y in 1..3 {
                for x in 1..4 {
                    assert_eq!(destination[z * 32 + y * 8 + x], source[z * 64 + y * 16 + x]);
                }
            }
        }
        let packed = region(0, 0, 0, 4, 4, 2);
        let copy = check(
            side(destination.as_mut_ptr() as usize, &packed, 4, 16),
            side(source.as_ptr() as usize, &packed, 4, 16),
        )
        .unwrap();
        let mut calls = Vec::new();
        // SAFETY: as above.
        unsafe { execute(&copy, |_, _, n| calls.push(n)) };
        assert_eq!(calls, vec![32]);
    }
}
