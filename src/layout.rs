//! Reading an `aml_layout` through its own ops vtable, so the library needs no
//! libaml symbol. Only the four accessors a flat copy needs are used.

use std::ffi::c_void;

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
    fn an_overflowing_size_is_refused() {
        let mut fake = FakeLayout { ptr: std::ptr::null_mut(), dims: vec![usize::MAX], element: 2, dims_error: 0 };
        assert_eq!(read(&mut fake, &mut fake_ops()), Err(AmlError::EINVAL));
    }
}
