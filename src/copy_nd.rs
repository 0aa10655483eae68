//! `aml_dma_ze_copy_nd`: one request for a copy between two strided N-D
//! layouts. `plan` (pure) turns two views into as few Level Zero commands as
//! the geometry allows: dimensions contiguous in both merge, the innermost
//! contiguous run becomes a region's width, the next two its height and
//! depth, and any others loop, one region per point; `append` issues them.

use std::ffi::c_void;

use ze_sys::*;

use crate::error::AmlError;
use crate::layout::View;
use crate::level_zero::{Appender, Copy, Event};

/// One dimension of both sides: extent and byte strides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Dim {
    n: usize,
    dst: usize,
    src: usize,
}

/// The command repeated at each point of the loops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Piece {
    /// `zeCommandListAppendMemoryCopy` of `size` contiguous bytes.
    Copy { size: usize },
    /// `zeCommandListAppendMemoryCopyRegion`, origins 0 (the pointers carry them).
    Region { width: u32, height: u32, depth: u32, dst_pitch: u32, dst_slice_pitch: u32, src_pitch: u32, src_slice_pitch: u32 },
}

/// The commands of one copy: `piece` at `dst + Σ i·dst_stride`, `src + …`
/// for every point of `loops` (innermost first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub piece: Piece,
    pub dst: usize,
    pub src: usize,
    loops: Vec<Dim>,
}

impl Plan {
    /// `(dst, src, size)` when the whole copy is one contiguous byte copy,
    /// which a dma over several queues may place and split like a memcpy.
    pub fn as_one_copy(&self) -> Option<(usize, usize, usize)> {
        match self.piece {
            Piece::Copy { size } if self.loops.is_empty() => Some((self.dst, self.src, size)),
            _ => None,
        }
    }

    /// The bytes spanned from `dst` and from `src` (first to last touched,
    /// plus one): the bounding ranges of what the copy writes and reads.
    pub fn extents(&self) -> (usize, usize) {
        let (mut dst, mut src) = match self.piece {
            Piece::Copy { size } => (size, size),
            Piece::Region { width, height, depth, dst_pitch, dst_slice_pitch, src_pitch, src_slice_pitch } => {
                let side = |pitch: u32, slice: u32| {
                    let rows = (height as usize).saturating_sub(1).saturating_mul(pitch as usize);
                    let slices = (depth as usize).saturating_sub(1).saturating_mul(slice as usize);
                    (width as usize).saturating_add(rows).saturating_add(slices)
                };
                (side(dst_pitch, dst_slice_pitch), side(src_pitch, src_slice_pitch))
            }
        };
        for dim in &self.loops {
            dst = dst.saturating_add((dim.n - 1).saturating_mul(dim.dst));
            src = src.saturating_add((dim.n - 1).saturating_mul(dim.src));
        }
        (dst, src)
    }

    /// How many commands the copy appends (before any joining barrier).
    pub fn pieces(&self) -> usize {
        self.loops.iter().map(|d| d.n).product()
    }

    /// Calls `f(dst, src)` at every point, in address order of the loops.
    pub fn for_each<E>(&self, mut f: impl FnMut(usize, usize) -> Result<(), E>) -> Result<(), E> {
        let mut index = vec![0usize; self.loops.len()];
        let (mut dst, mut src) = (self.dst, self.src);
        loop {
            f(dst, src)?;
            // Odometer: bump the innermost loop, carrying outwards.
            let mut level = 0;
            loop {
                let Some(dim) = self.loops.get(level) else { return Ok(()) };
                index[level] += 1;
                dst += dim.dst;
                src += dim.src;
                if index[level] < dim.n {
                    break;
                }
                dst -= dim.dst * dim.n;
                src -= dim.src * dim.n;
                index[level] = 0;
                level += 1;
            }
        }
    }
}

fn fits(value: usize) -> bool {
    u32::try_from(value).is_ok()
}

/// Plans the copy of `src` into `dst`. Two flat (1-D contiguous) views are a
/// byte copy of equal sizes, as `copy_1D` accepts; otherwise the element
/// sizes and dims must match (`-AML_EINVAL`). A destination byte written
/// twice, or also read, is `-AML_EDOM`.
pub fn plan(dst: &View, src: &View) -> Result<Plan, AmlError> {
    if dst.flat && src.flat {
        let size = dst.dims[0].checked_mul(dst.element).ok_or(AmlError::EINVAL)?;
        if src.dims[0].checked_mul(src.element) != Some(size) {
            return Err(AmlError::EINVAL);
        }
        return Ok(Plan { piece: Piece::Copy { size }, dst: dst.base, src: src.base, loops: Vec::new() });
    }
    if dst.element != src.element || dst.dims != src.dims || dst.element == 0 {
        return Err(AmlError::EINVAL);
    }
    let element = dst.element;
    if dst.dims.contains(&0) {
        // Nothing to move; the copy still signals its request.
        return Ok(Plan { piece: Piece::Copy { size: 0 }, dst: dst.base, src: src.base, loops: Vec::new() });
    }
    let mut dims: Vec<Dim> = (0..dst.dims.len())
        .filter(|&i| dst.dims[i] > 1)
        .map(|i| Dim { n: dst.dims[i], dst: dst.strides[i], src: src.strides[i] })
        .collect();
    if dims.iter().any(|d| d.dst == 0) {
        return Err(AmlError::EDOM);
    }
    // The destination's memory order; the source follows where it can.
    dims.sort_by_key(|d| (d.dst, d.src));
    let mut merged: Vec<Dim> = Vec::with_capacity(dims.len());
    for d in dims {
        match merged.last_mut() {
            Some(last) if last.dst.checked_mul(last.n) == Some(d.dst) && last.src.checked_mul(last.n) == Some(d.src) => {
                last.n *= d.n;
            }
            _ => merged.push(d),
        }
    }
    // The innermost run: contiguous on both sides, else one element.
    let (width, rest) = match merged.first() {
        Some(first) if first.dst == element && first.src == element => (first.n * element, &merged[1..]),
        _ => (element, &merged[..]),
    };
    check_overlap(dst.base, src.base, width, rest)?;
    let copy = |loops: &[Dim]| Plan { piece: Piece::Copy { size: width }, dst: dst.base, src: src.base, loops: loops.to_vec() };
    let Some(height) = rest.first() else { return Ok(copy(rest)) };
    // Level Zero pitches are u32 and a pitch of 0 means "packed": a run that
    // cannot be a region's rows is one copy per run.
    let row_ok = |d: &Dim, span: usize| fits(d.n) && fits(d.dst) && fits(d.src) && d.dst >= span && d.src >= span;
    if !fits(width) || !row_ok(height, width) {
        return Ok(copy(rest));
    }
    let slice_ok = rest.get(1).is_some_and(|d| {
        fits(d.n)
            && fits(d.dst)
            && fits(d.src)
            && d.dst >= height.dst * height.n
            && d.src >= height.src * height.n
    });
    let (depth, slice) = if slice_ok { (rest[1].n, rest[1]) } else { (1, Dim { n: 1, dst: 0, src: 0 }) };
    let looped = if slice_ok { &rest[2..] } else { &rest[1..] };
    Ok(Plan {
        piece: Piece::Region {
            width: width as u32,
            height: height.n as u32,
            depth: depth as u32,
            dst_pitch: height.dst as u32,
            dst_slice_pitch: slice.dst as u32,
            src_pitch: height.src as u32,
            src_slice_pitch: slice.src as u32,
        },
        dst: dst.base,
        src: src.base,
        loops: looped.to_vec(),
    })
}

/// The runs (`width` bytes at each point of `dims`) of one side.
fn runs(base: usize, width: usize, dims: &[Dim], side: fn(&Dim) -> usize) -> Vec<(usize, usize)> {
    let plan = Plan {
        piece: Piece::Copy { size: width },
        dst: base,
        src: base,
        loops: dims.iter().map(|d| Dim { n: d.n, dst: side(d), src: side(d) }).collect(),
    };
    let mut runs = Vec::with_capacity(plan.pieces());
    let _ = plan.for_each::<()>(|start, _| {
        runs.push((start, start + width));
        Ok(())
    });
    runs.sort_unstable();
    runs
}

/// `-AML_EDOM` if a destination byte is written twice or is also read.
/// Bounds that do not meet, on a destination whose dims nest (each stride at
/// least the span of the dims inside it), answer without enumerating runs.
fn check_overlap(dst: usize, src: usize, width: usize, rest: &[Dim]) -> Result<(), AmlError> {
    let span = |base: usize, side: fn(&Dim) -> usize| {
        rest.iter()
            .try_fold(width, |acc, d| (d.n - 1).checked_mul(side(d)).and_then(|s| s.checked_add(acc)))
            .and_then(|len| base.checked_add(len))
            .ok_or(AmlError::EINVAL)
    };
    let (dst_end, src_end) = (span(dst, |d| d.dst)?, span(src, |d| d.src)?);
    let mut inner = width;
    let nested = rest.iter().all(|d| {
        let ok = d.dst >= inner;
        inner = d.dst * d.n;
        ok
    });
    if nested && (dst_end <= src || src_end <= dst) {
        return Ok(());
    }
    let dst_runs = runs(dst, width, rest, |d| d.dst);
    if dst_runs.windows(2).any(|pair| pair[1].0 < pair[0].1) {
        return Err(AmlError::EDOM);
    }
    if dst_end <= src || src_end <= dst {
        return Ok(());
    }
    let src_runs = runs(src, width, rest, |d| d.src);
    let (mut i, mut j) = (0, 0);
    while i < dst_runs.len() && j < src_runs.len() {
        let (d, s) = (dst_runs[i], src_runs[j]);
        if d.1 <= s.0 {
            i += 1;
        } else if s.1 <= d.0 {
            j += 1;
        } else {
            return Err(AmlError::EDOM);
        }
    }
    Ok(())
}

/// Appends every piece of `plan` to `list`; `event`, if any, is signalled
/// by the only piece, or by a barrier after several.
///
/// # Safety
/// Every piece of `plan` lies in memory valid until the copy completes.
pub unsafe fn append(list: &Appender, plan: &Plan, event: Option<Event>) -> Result<(), AmlError> {
    let single = plan.pieces() == 1;
    let signal = if single { event } else { None };
    plan.for_each(|dst, src| match plan.piece {
        Piece::Copy { size } => {
            // SAFETY: the piece lies in the layouts (caller's contract).
            let copy = unsafe { Copy::new(dst as *mut u8, src as *const u8, size) };
            list.copy(&copy, signal, &[])
        }
        Piece::Region { width, height, depth, dst_pitch, dst_slice_pitch, src_pitch, src_slice_pitch } => {
            let region = ze_copy_region_t { originX: 0, originY: 0, originZ: 0, width, height, depth };
            // SAFETY: as above; both regions outlive the call.
            unsafe {
                list.copy_region(
                    dst as *mut c_void, &region, dst_pitch, dst_slice_pitch, src as *const c_void, &region, src_pitch,
                    src_slice_pitch, signal,
                )
            }
        }
    })?;
    if !single && event.is_some() {
        // The list is not in-order by contract: a barrier joins the pieces.
        list.barrier(event, &[])?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A dense view in the layout's own order: row-major dims are given
    /// slowest first, pitches (in elements) as AML's create takes them.
    fn view(base: usize, element: usize, dims: &[usize], strides_elems: &[usize], pitch: &[usize]) -> View {
        // strides in bytes: stride[i] * element * Π pitch of faster dims.
        let n = dims.len();
        let mut strides = vec![0; n];
        let mut cpitch = element;
        for i in (0..n).rev() {
            strides[i] = strides_elems[i] * cpitch;
            cpitch *= pitch[i];
        }
        View { base, element, dims: dims.to_vec(), strides, flat: false }
    }

    fn region(plan: &Plan) -> (u32, u32, u32, u32, u32, u32, u32) {
        match plan.piece {
            Piece::Region { width, height, depth, dst_pitch, dst_slice_pitch, src_pitch, src_slice_pitch } => {
                (width, height, depth, dst_pitch, dst_slice_pitch, src_pitch, src_slice_pitch)
            }
            other => panic!("not a region: {other:?}"),
        }
    }

    const A: usize = 0x1000_0000;
    const B: usize = 0x2000_0000;

    #[test]
    fn a_2d_tile_is_one_region() {
        // 2048 rows × 8 KiB out of 64 KiB rows, into a packed buffer.
        let src = view(A, 1, &[2048, 8192], &[1, 1], &[2048, 65536]);
        let dst = view(B, 1, &[2048, 8192], &[1, 1], &[2048, 8192]);
        let plan = super::plan(&dst, &src).unwrap();
        assert_eq!(plan.pieces(), 1);
        assert_eq!(region(&plan), (8192, 2048, 1, 8192, 0, 65536, 0));
    }

    #[test]
    fn contiguous_dims_merge_and_a_packed_copy_is_one_memcpy() {
        let src = view(A, 8, &[4, 5, 6], &[1, 1, 1], &[4, 5, 6]);
        let dst = view(B, 8, &[4, 5, 6], &[1, 1, 1], &[4, 5, 6]);
        let plan = super::plan(&dst, &src).unwrap();
        assert_eq!(plan.piece, Piece::Copy { size: 4 * 5 * 6 * 8 });
        assert_eq!(plan.pieces(), 1);
        // A tile of whole rows merges its rows: 3 slices of 5 full rows.
        let src = view(A, 4, &[3, 5, 6], &[1, 1, 1], &[9, 5, 6]);
        let dst = view(B, 4, &[3, 5, 6], &[1, 1, 1], &[3, 5, 6]);
        let plan = super::plan(&dst, &src).unwrap();
        assert_eq!(plan.piece, Piece::Copy { size: 3 * 5 * 6 * 4 });
        assert_eq!(plan.pieces(), 1);
    }

    #[test]
    fn a_3d_tile_is_one_region_and_4d_5d_loop_regions() {
        let src = view(A, 2, &[3, 4, 5], &[1, 1, 1], &[10, 10, 10]);
        let dst = view(B, 2, &[3, 4, 5], &[1, 1, 1], &[3, 4, 5]);
        let plan = super::plan(&dst, &src).unwrap();
        assert_eq!(region(&plan), (10, 4, 3, 10, 40, 20, 200));
        assert_eq!(plan.pieces(), 1);
        let src = view(A, 2, &[2, 3, 4, 5], &[1, 1, 1, 1], &[7, 7, 7, 7]);
        let dst = view(B, 2, &[2, 3, 4, 5], &[1, 1, 1, 1], &[2, 3, 4, 5]);
        let plan = super::plan(&dst, &src).unwrap();
        assert_eq!(plan.pieces(), 2);
        let src = view(A, 2, &[2, 2, 3, 4, 5], &[1, 1, 1, 1, 1], &[7, 7, 7, 7, 7]);
        let dst = view(B, 2, &[2, 2, 3, 4, 5], &[1, 1, 1, 1, 1], &[2, 2, 3, 4, 5]);
        let plan = super::plan(&dst, &src).unwrap();
        assert_eq!(plan.pieces(), 4);
        let mut points = Vec::new();
        plan.for_each::<()>(|d, s| {
            points.push((d - B, s - A));
            Ok(())
        })
        .unwrap();
        let (slice_src, slice_dst) = (2 * 7 * 7 * 7, 2 * 5 * 4 * 3);
        assert_eq!(
            points,
            vec![(0, 0), (slice_dst, slice_src), (2 * slice_dst, 7 * slice_src), (3 * slice_dst, 8 * slice_src)]
        );
    }

    #[test]
    fn an_innermost_stride_makes_one_element_wide_rows() {
        // Every other element of 4 rows of 16, into 4 rows of 8: the rows
        // merge (stride 2 throughout), one element per row of the region.
        let src = view(A, 8, &[4, 8], &[1, 2], &[4, 16]);
        let dst = view(B, 8, &[4, 8], &[1, 1], &[4, 8]);
        let plan = super::plan(&dst, &src).unwrap();
        assert_eq!(region(&plan), (8, 32, 1, 8, 0, 16, 0));
        // Every other row too: rows no longer merge, a 2-D region of 1-element rows.
        let src = view(A, 8, &[4, 8], &[2, 2], &[8, 16]);
        let plan = super::plan(&dst, &src).unwrap();
        assert_eq!(region(&plan), (8, 8, 4, 8, 64, 16, 256));
    }

    #[test]
    fn row_major_to_column_major_is_element_wide() {
        // Logical (i, j) of a 6 × 4: row-major strides (32, 8), column-major (8, 48).
        let src = View { base: A, element: 8, dims: vec![6, 4], strides: vec![32, 8], flat: false };
        let dst = View { base: B, element: 8, dims: vec![6, 4], strides: vec![8, 48], flat: false };
        let plan = super::plan(&dst, &src).unwrap();
        // dst order: i (8, src 32) then j (48, src 8); src's 8 < 32*6: j loops.
        assert_eq!(region(&plan), (8, 6, 1, 8, 0, 32, 0));
        assert_eq!(plan.pieces(), 4);
    }

    #[test]
    fn shapes_and_element_sizes_must_match_unless_both_are_flat() {
        let a = view(A, 8, &[4, 8], &[1, 1], &[4, 8]);
        let b = view(B, 8, &[8, 4], &[1, 1], &[8, 4]);
        assert_eq!(super::plan(&a, &b), Err(AmlError::EINVAL));
        let c = view(B, 4, &[4, 8], &[1, 1], &[4, 8]);
        assert_eq!(super::plan(&a, &c), Err(AmlError::EINVAL));
        let d = view(B, 8, &[4, 8, 1], &[1, 1, 1], &[4, 8, 1]);
        assert_eq!(super::plan(&a, &d), Err(AmlError::EINVAL));
        // Flat views: equal byte sizes, as copy_1D.
        let flat = |base, element, n| View { base, element, dims: vec![n], strides: vec![element], flat: true };
        assert_eq!(super::plan(&flat(A, 4, 16), &flat(B, 2, 32)).unwrap().piece, Piece::Copy { size: 64 });
        assert_eq!(super::plan(&flat(A, 4, 16), &flat(B, 2, 31)), Err(AmlError::EINVAL));
        // A flat view and a dense one: same shape needed.
        let dense = view(B, 4, &[16], &[1], &[16]);
        assert_eq!(super::plan(&flat(A, 4, 16), &dense).unwrap().piece, Piece::Copy { size: 64 });
        assert_eq!(super::plan(&flat(A, 2, 32), &dense), Err(AmlError::EINVAL));
    }

    #[test]
    fn overlap_is_refused_and_interleaved_tiles_are_not() {
        // Left and right halves of one 8 × 16 array of bytes.
        let left = view(A, 1, &[8, 8], &[1, 1], &[8, 16]);
        let right = View { base: A + 8, ..left.clone() };
        assert!(super::plan(&right, &left).is_ok());
        let shifted = View { base: A + 7, ..left.clone() };
        assert_eq!(super::plan(&shifted, &left), Err(AmlError::EDOM));
        assert_eq!(super::plan(&left, &left), Err(AmlError::EDOM));
        // A destination that writes one place twice.
        let broadcast = View { base: B, element: 1, dims: vec![8, 8], strides: vec![0, 1], flat: false };
        assert_eq!(super::plan(&broadcast, &left), Err(AmlError::EDOM));
        let folded = View { base: B, element: 1, dims: vec![8, 8], strides: vec![4, 1], flat: false };
        assert_eq!(super::plan(&folded, &left), Err(AmlError::EDOM));
    }

    #[test]
    fn an_empty_copy_is_one_zero_byte_copy_and_unit_dims_vanish() {
        let a = view(A, 8, &[0, 8], &[1, 1], &[4, 8]);
        let b = view(B, 8, &[0, 8], &[1, 1], &[4, 8]);
        assert_eq!(super::plan(&a, &b).unwrap().piece, Piece::Copy { size: 0 });
        let a = view(A, 8, &[1, 1], &[1, 1], &[4, 8]);
        let b = view(B, 8, &[1, 1], &[1, 1], &[9, 9]);
        assert_eq!(super::plan(&a, &b).unwrap().piece, Piece::Copy { size: 8 });
        // N × 1 column out of rows of 8: element-wide rows.
        let a = view(A, 8, &[5, 1], &[1, 1], &[5, 1]);
        let b = view(B, 8, &[5, 1], &[1, 1], &[5, 8]);
        assert_eq!(region(&super::plan(&a, &b).unwrap()), (8, 5, 1, 8, 0, 64, 0));
    }

    #[test]
    fn pitches_beyond_u32_fall_back_to_one_copy_per_run() {
        let src = View { base: A, element: 1, dims: vec![4, 16], strides: vec![1 << 33, 1], flat: false };
        let dst = View { base: B, element: 1, dims: vec![4, 16], strides: vec![16, 1], flat: false };
        let plan = super::plan(&dst, &src).unwrap();
        assert_eq!(plan.piece, Piece::Copy { size: 16 });
        assert_eq!(plan.pieces(), 4);
    }
}
