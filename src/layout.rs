//! Reading an `aml_layout`: through its own ops vtable (no libaml symbol
//! needed; only the four accessors a flat copy needs are used), or, for AML's
//! dense layouts, recognised by their ops table found in the process at run
//! time, through `struct aml_layout_dense` itself.

use std::ffi::{c_void, CStr};
use std::sync::OnceLock;

use crate::abi::{aml_layout, aml_layout_ops};
use crate::error::AmlError;

/// A one-dimensional contiguous layout, as a flat byte range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlatLayout {
    pub raw: *mut c_void,
    pub bytes: usize,
}

/// Reads `layout` as a 1-D layout: raw pointer and `dims[0] × element_size`
/// bytes. A NULL layout, NULL ops or NULL accessor, or a layout that is not
/// 1-D → `-AML_EINVAL`; an error from the layout's `dims` is passed on negated.
///
/// # Safety
/// `layout` must be NULL or point to a layout whose ops and data are valid.
pub unsafe fn read_flat(layout: *const aml_layout) -> Result<FlatLayout, AmlError> {
    if layout.is_null() {
        return Err(AmlError::EINVAL);
    }
    // SAFETY: non-NULL and valid by the caller's contract.
    let (ops, data) = unsafe { ((*layout).ops as *const aml_layout_ops, (*layout).data) };
    if ops.is_null() {
        return Err(AmlError::EINVAL);
    }
    // SAFETY: non-NULL ops table of a valid layout.
    let ops = unsafe { &*ops };
    let (Some(rawptr), Some(ndims), Some(dims), Some(element_size)) =
        (ops.rawptr, ops.ndims, ops.dims, ops.element_size)
    else {
        return Err(AmlError::EINVAL);
    };
    // SAFETY: the layout's own accessors, called with its own data.
    if unsafe { ndims(data) } != 1 {
        return Err(AmlError::EINVAL);
    }
    let mut extent = [0usize; 1];
    // SAFETY: a 1-D layout writes exactly one entry into `dims`.
    let err = unsafe { dims(data, extent.as_mut_ptr()) };
    if err != 0 {
        return Err(AmlError(-err.abs()));
    }
    // SAFETY: as above.
    let (raw, element) = unsafe { (rawptr(data), element_size(data)) };
    let bytes = extent[0].checked_mul(element).ok_or(AmlError::EINVAL)?;
    Ok(FlatLayout { raw, bytes })
}

/// A layout as an affine array: element `c` (in the layout's own order, that
/// of its `dims` op) is at `base + Σ c[i] * strides[i]` bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct View {
    pub base: usize,
    pub element: usize,
    pub dims: Vec<usize>,
    /// In bytes.
    pub strides: Vec<usize>,
    /// Read through its ops as 1-D contiguous (not a dense layout of libaml's):
    /// a flat byte range, as `aml_dma_ze_copy_1D` sees it.
    pub flat: bool,
}

/// libaml's `struct aml_layout_dense` (`aml/layout/dense.h`): arrays of
/// `ndims` entries in native order, index 0 varying fastest.
#[repr(C)]
struct AmlLayoutDense {
    ptr: *mut c_void,
    ndims: usize,
    dims: *const usize,
    stride: *const usize,
    cpitch: *const usize,
}

/// The order a dense layout's `dims` op reports, relative to native order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DenseOrder {
    /// `dims` reports native order reversed.
    RowMajor,
    /// `dims` reports native order.
    ColumnMajor,
}

fn symbol_address(name: &CStr) -> usize {
    // SAFETY: looking up a NUL-terminated symbol name in the global scope.
    unsafe { libc::dlsym(libc::RTLD_DEFAULT, name.as_ptr()) as usize }
}

/// The addresses of libaml's `aml_layout_row_ops` and `aml_layout_column_ops`
/// (0 where absent), looked up once: libaml, when used, is loaded with the
/// program, before any copy.
fn dense_ops() -> (usize, usize) {
    static OPS: OnceLock<(usize, usize)> = OnceLock::new();
    *OPS.get_or_init(|| (symbol_address(c"aml_layout_row_ops"), symbol_address(c"aml_layout_column_ops")))
}

/// Whether `ops` is one of the two dense ops tables `known` (row, column).
pub fn dense_order(ops: usize, known: (usize, usize)) -> Option<DenseOrder> {
    match ops {
        0 => None,
        ops if ops == known.0 => Some(DenseOrder::RowMajor),
        ops if ops == known.1 => Some(DenseOrder::ColumnMajor),
        _ => None,
    }
}

/// Reads `layout` for an N-D copy. libaml's dense layouts (recognised by
/// their ops, never guessed) are read as their struct; any other layout only
/// as 1-D contiguous through its ops, else `-AML_ENOTSUP`. NULL layout or ops
/// → `-AML_EINVAL`.
///
/// # Safety
/// `layout` must be NULL or point to a layout whose ops and data are valid.
pub unsafe fn read_view(layout: *const aml_layout) -> Result<View, AmlError> {
    if layout.is_null() {
        return Err(AmlError::EINVAL);
    }
    // SAFETY: non-NULL and valid by the caller's contract.
    let (ops, data) = unsafe { ((*layout).ops as usize, (*layout).data) };
    if ops == 0 {
        return Err(AmlError::EINVAL);
    }
    if let Some(order) = dense_order(ops, dense_ops()) {
        // SAFETY: a layout with libaml's dense ops has a `struct aml_layout_dense` as data.
        return unsafe { read_dense(data as *const c_void, order) };
    }
    // SAFETY: forwarded contract.
    unsafe { read_other(layout) }
}

/// # Safety
/// `data` must point to a valid `struct aml_layout_dense`.
pub(crate) unsafe fn read_dense(data: *const c_void, order: DenseOrder) -> Result<View, AmlError> {
    if data.is_null() {
        return Err(AmlError::EINVAL);
    }
    // SAFETY: valid by the caller's contract.
    let dense = unsafe { &*(data as *const AmlLayoutDense) };
    let n = dense.ndims;
    if n == 0 || dense.dims.is_null() || dense.stride.is_null() || dense.cpitch.is_null() {
        return Err(AmlError::EINVAL);
    }
    // SAFETY: each array holds `ndims` entries (libaml's invariant).
    let (dims, stride, cpitch) = unsafe {
        (
            std::slice::from_raw_parts(dense.dims, n),
            std::slice::from_raw_parts(dense.stride, n),
            std::slice::from_raw_parts(dense.cpitch, n),
        )
    };
    let strides: Vec<usize> =
        stride.iter().zip(cpitch).map(|(s, c)| s.checked_mul(*c)).collect::<Option<_>>().ok_or(AmlError::EINVAL)?;
    let mut view = View { base: dense.ptr as usize, element: cpitch[0], dims: dims.to_vec(), strides, flat: false };
    if order == DenseOrder::RowMajor {
        view.dims.reverse();
        view.strides.reverse();
    }
    Ok(view)
}

/// A layout of another kind: 1-D contiguous through its ops, or unsupported.
///
/// # Safety
/// As `read_view`, with non-NULL ops.
unsafe fn read_other(layout: *const aml_layout) -> Result<View, AmlError> {
    // SAFETY: non-NULL ops of a valid layout.
    let (ops, data) = unsafe { (&*((*layout).ops as *const aml_layout_ops), (*layout).data) };
    let (Some(rawptr), Some(ndims), Some(dims), Some(element_size)) =
        (ops.rawptr, ops.ndims, ops.dims, ops.element_size)
    else {
        return Err(AmlError::ENOTSUP);
    };
    // SAFETY: the layout's own accessors, called with its own data.
    if unsafe { ndims(data) } != 1 {
        return Err(AmlError::ENOTSUP);
    }
    let mut extent = [0usize; 1];
    // SAFETY: a 1-D layout writes exactly one entry into `dims`.
    let err = unsafe { dims(data, extent.as_mut_ptr()) };
    if err != 0 {
        return Err(AmlError(-err.abs()));
    }
    // SAFETY: as above.
    let (raw, element) = unsafe { (rawptr(data), element_size(data)) };
    Ok(View { base: raw as usize, element, dims: vec![extent[0]], strides: vec![element], flat: true })
}

#[cfg(test)]
pub(crate) mod tests {
    use std::ffi::c_int;

    use super::*;
    use crate::abi::{aml_layout_data, AML_EDOM, AML_EINVAL};

    /// A dense layout written in Rust, reached only through its ops table.
    #[repr(C)]
    pub struct FakeLayout {
        pub ptr: *mut c_void,
        pub dims: Vec<usize>,
        pub element: usize,
        pub dims_error: c_int,
    }

    unsafe extern "C" fn fake_rawptr(data: *const aml_layout_data) -> *mut c_void {
        // SAFETY: tests pass a FakeLayout as the data.
        unsafe { (*(data as *const FakeLayout)).ptr }
    }
    unsafe extern "C" fn fake_ndims(data: *const aml_layout_data) -> usize {
        // SAFETY: as above.
        unsafe { (*(data as *const FakeLayout)).dims.len() }
    }
    unsafe extern "C" fn fake_element_size(data: *const aml_layout_data) -> usize {
        // SAFETY: as above.
        unsafe { (*(data as *const FakeLayout)).element }
    }
    unsafe extern "C" fn fake_dims(data: *const aml_layout_data, out: *mut usize) -> c_int {
        // SAFETY: as above; `out` has room for ndims entries.
        let fake = unsafe { &*(data as *const FakeLayout) };
        if fake.dims_error != 0 {
            return fake.dims_error;
        }
        for (i, d) in fake.dims.iter().enumerate() {
            // SAFETY: the caller sized `out` by ndims.
            unsafe { *out.add(i) = *d };
        }
        0
    }

    pub fn fake_ops() -> aml_layout_ops {
        aml_layout_ops {
            deref: None,
            deref_native: None,
            rawptr: Some(fake_rawptr),
            order: None,
            dims: Some(fake_dims),
            dims_native: None,
            ndims: Some(fake_ndims),
            element_size: Some(fake_element_size),
            reshape: None,
            slice: None,
            slice_native: None,
            fprintf: None,
            duplicate: None,
            destroy: None,
        }
    }

    fn read(fake: &mut FakeLayout, ops: &mut aml_layout_ops) -> Result<FlatLayout, AmlError> {
        let layout = aml_layout { ops, data: fake as *mut FakeLayout as *mut aml_layout_data };
        // SAFETY: the layout and its data live for the call.
        unsafe { read_flat(&layout) }
    }

    #[test]
    fn a_1d_layout_reads_as_dims_times_element_size() {
        let mut buffer = [0u8; 64];
        let mut fake = FakeLayout { ptr: buffer.as_mut_ptr().cast(), dims: vec![16], element: 4, dims_error: 0 };
        let flat = read(&mut fake, &mut fake_ops()).unwrap();
        assert_eq!(flat, FlatLayout { raw: buffer.as_mut_ptr().cast(), bytes: 64 });
    }

    #[test]
    fn a_2d_layout_is_refused() {
        let mut fake = FakeLayout { ptr: std::ptr::null_mut(), dims: vec![4, 4], element: 1, dims_error: 0 };
        assert_eq!(read(&mut fake, &mut fake_ops()), Err(AmlError(-AML_EINVAL)));
    }

    #[test]
    fn null_layout_ops_or_accessor_is_refused() {
        // SAFETY: NULL is an accepted input.
        assert_eq!(unsafe { read_flat(std::ptr::null()) }, Err(AmlError::EINVAL));
        let mut fake = FakeLayout { ptr: std::ptr::null_mut(), dims: vec![4], element: 1, dims_error: 0 };
        let layout = aml_layout { ops: std::ptr::null_mut(), data: &mut fake as *mut FakeLayout as *mut _ };
        // SAFETY: the layout lives for the call.
        assert_eq!(unsafe { read_flat(&layout) }, Err(AmlError::EINVAL));
        let mut ops = fake_ops();
        ops.element_size = None;
        assert_eq!(read(&mut fake, &mut ops), Err(AmlError::EINVAL));
    }

    #[test]
    fn a_dims_error_is_passed_on_negated() {
        let mut fake = FakeLayout { ptr: std::ptr::null_mut(), dims: vec![4], element: 1, dims_error: AML_EDOM };
        assert_eq!(read(&mut fake, &mut fake_ops()), Err(AmlError(-AML_EDOM)));
        fake.dims_error = -AML_EDOM;
        assert_eq!(read(&mut fake, &mut fake_ops()), Err(AmlError(-AML_EDOM)));
    }

    #[test]
    fn dense_layouts_are_recognised_by_their_ops_only() {
        let known = (0x1000, 0x2000);
        assert_eq!(dense_order(0x1000, known), Some(DenseOrder::RowMajor));
        assert_eq!(dense_order(0x2000, known), Some(DenseOrder::ColumnMajor));
        assert_eq!(dense_order(0x3000, known), None);
        // Without libaml both are absent (0): nothing is dense.
        assert_eq!(dense_order(0x1000, (0, 0)), None);
    }

    #[test]
    fn a_dense_struct_reads_in_the_order_its_dims_op_reports() {
        // A 3 × 5 tile (row-major) of 8-byte elements out of rows of 16: native
        // dims {5, 3}, cpitch {8, 128}, stride {1, 1}.
        let (dims, stride, cpitch) = ([5usize, 3], [1usize, 1], [8usize, 128]);
        let dense = AmlLayoutDense { ptr: 0x4000 as *mut c_void, ndims: 2, dims: dims.as_ptr(), stride: stride.as_ptr(), cpitch: cpitch.as_ptr() };
        let data = &dense as *const AmlLayoutDense as *const c_void;
        // SAFETY: a valid struct whose arrays outlive the call.
        let row = unsafe { read_dense(data, DenseOrder::RowMajor) }.unwrap();
        assert_eq!(row, View { base: 0x4000, element: 8, dims: vec![3, 5], strides: vec![128, 8], flat: false });
        // SAFETY: as above.
        let column = unsafe { read_dense(data, DenseOrder::ColumnMajor) }.unwrap();
        assert_eq!((column.dims, column.strides), (vec![5, 3], vec![8, 128]));
        // A stride of 2 multiplies the pitch.
        let stride = [2usize, 1];
        let dense = AmlLayoutDense { stride: stride.as_ptr(), ..dense };
        // SAFETY: as above.
        let strided = unsafe { read_dense(&dense as *const AmlLayoutDense as *const c_void, DenseOrder::ColumnMajor) }.unwrap();
        assert_eq!(strided.strides, vec![16, 128]);
    }

    #[test]
    fn other_kinds_are_read_only_as_1d() {
        let mut buffer = [0u8; 64];
        let mut fake = FakeLayout { ptr: buffer.as_mut_ptr().cast(), dims: vec![16], element: 4, dims_error: 0 };
        let mut ops = fake_ops();
        let layout = aml_layout { ops: &mut ops, data: &mut fake as *mut FakeLayout as *mut aml_layout_data };
        // SAFETY: the layout and its data live for the call.
        let view = unsafe { read_view(&layout) }.unwrap();
        assert_eq!(view, View { base: buffer.as_ptr() as usize, element: 4, dims: vec![16], strides: vec![4], flat: true });
        let mut fake = FakeLayout { ptr: buffer.as_mut_ptr().cast(), dims: vec![4, 4], element: 4, dims_error: 0 };
        let layout = aml_layout { ops: &mut ops, data: &mut fake as *mut FakeLayout as *mut aml_layout_data };
        // SAFETY: as above.
        assert_eq!(unsafe { read_view(&layout) }, Err(AmlError::ENOTSUP));
        // SAFETY: NULL is an accepted input.
        assert_eq!(unsafe { read_view(std::ptr::null()) }, Err(AmlError::EINVAL));
    }

    #[test]
    fn an_overflowing_size_is_refused() {
        let mut fake = FakeLayout { ptr: std::ptr::null_mut(), dims: vec![usize::MAX], element: 2, dims_error: 0 };
        assert_eq!(read(&mut fake, &mut fake_ops()), Err(AmlError::EINVAL));
    }
}
