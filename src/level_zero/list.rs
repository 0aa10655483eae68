//! What the library appends to Level Zero's lists: a `Copy`, whose
//! constructor is where a copy's pointers are vouched for.

/// A contiguous copy whose pointers its maker vouched for: `size` bytes at
/// `src` the device may read and `size` bytes at `dst` it may write, until the
/// copy completes. `footprint` reads a request's into one.
#[derive(Debug, Clone, Copy)]
pub struct Copy {
    dst: *mut u8,
    src: *const u8,
    size: usize,
}

impl Copy {
    /// # Safety
    /// `size` bytes at `dst` are memory the device may write, and `size`
    /// bytes at `src` memory it may read, until the copy completes.
    #[inline(always)]
    pub unsafe fn new(dst: *mut u8, src: *const u8, size: usize) -> Copy {
        Copy { dst, src, size }
    }

    #[inline(always)]
    pub fn dst(&self) -> *mut u8 {
        self.dst
    }

    #[inline(always)]
    pub fn src(&self) -> *const u8 {
        self.src
    }

    #[inline(always)]
    pub fn size(&self) -> usize {
        self.size
    }

    /// The `len` bytes from `offset` on, which lie inside this copy and so
    /// are vouched for as it is. Panics if they do not.
    pub fn part(&self, offset: usize, len: usize) -> Copy {
        assert!(offset <= self.size && len <= self.size - offset, "part {offset}+{len} of a copy of {}", self.size);
        Copy { dst: self.dst.wrapping_add(offset), src: self.src.wrapping_add(offset), size: len }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_part_lies_inside_its_copy() {
        // SAFETY: never appended: only its arithmetic is tested.
        let copy = unsafe { Copy::new(0x1000 as *mut u8, 0x9000 as *const u8, 100) };
        let part = copy.part(40, 60);
        assert_eq!((part.dst() as usize, part.src() as usize, part.size()), (0x1028, 0x9028, 60));
        assert_eq!(copy.part(100, 0).size(), 0);
        assert!(std::panic::catch_unwind(|| copy.part(41, 60)).is_err(), "past the end");
        assert!(std::panic::catch_unwind(|| copy.part(101, 0)).is_err());
    }
}
