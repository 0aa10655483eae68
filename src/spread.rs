//! Which queues a dma spans and which copies it splits: the create's index
//! (-1: every queue of the group) and the variables `AML_DMA_ZE_QUEUES` and
//! `AML_DMA_ZE_SPLIT_BYTES`, read once at create.

use std::ffi::c_int;

use crate::loader::secure_env;

/// Most lists one dma makes: more than any known queue group holds.
pub(crate) const MAX_QUEUES: usize = 32;
/// Default `AML_DMA_ZE_SPLIT_BYTES`, measured (docs/performance.md, "One dma over several
/// queues"): below it an extra part costs more than a second engine gains.
pub(crate) const DEFAULT_SPLIT_BYTES: usize = 4 << 20;

/// How many queues a create asks for: `index` ≥ 0 is that queue alone unless
/// `AML_DMA_ZE_QUEUES` says otherwise; -1 (our extension) is every queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Spread {
    /// The queue of the first list (`command_list`); the others follow it, wrapping.
    pub first: u32,
    pub count: u32,
}

/// `AML_DMA_ZE_QUEUES`: `all`, or N ≥ 1 (at most N queues); anything else is ignored.
fn queues_variable(value: Option<&str>) -> Option<u32> {
    match value?.trim() {
        "all" => Some(u32::MAX),
        n => n.parse::<u32>().ok().filter(|&n| n >= 1),
    }
}

/// `AML_DMA_ZE_SPLIT_BYTES`: bytes, optional suffix K, M or G (powers of
/// 1024); 0 never splits. Unset or malformed: the default.
fn split_variable(value: Option<&str>) -> usize {
    let Some(value) = value.map(str::trim) else {
        return DEFAULT_SPLIT_BYTES;
    };
    let (digits, scale) = match value.as_bytes().last() {
        Some(b'K' | b'k') => (&value[..value.len() - 1], 1 << 10),
        Some(b'M' | b'm') => (&value[..value.len() - 1], 1 << 20),
        Some(b'G' | b'g') => (&value[..value.len() - 1], 1 << 30),
        _ => (value, 1),
    };
    digits
        .parse::<usize>()
        .ok()
        .and_then(|n| n.checked_mul(scale))
        .unwrap_or(DEFAULT_SPLIT_BYTES)
}

/// The queues of a group of `queues` queues that a create with `index` uses,
/// given the value of `AML_DMA_ZE_QUEUES`. `None`: index out of range.
pub fn spread(queues: u32, index: c_int, variable: Option<&str>) -> Option<Spread> {
    let limit = queues_variable(variable);
    let (first, wanted) = match (index, limit) {
        (-1, limit) => (0, limit.unwrap_or(u32::MAX)),
        (index, limit) => (
            u32::try_from(index).ok().filter(|&i| i < queues)?,
            limit.unwrap_or(1),
        ),
    };
    if queues == 0 {
        return None;
    }
    Some(Spread {
        first,
        count: wanted.min(queues).min(MAX_QUEUES as u32),
    })
}

/// The spread of a create, reading `AML_DMA_ZE_QUEUES` now.
pub fn spread_from_environment(queues: u32, index: c_int) -> Option<Spread> {
    spread(queues, index, secure_env(c"AML_DMA_ZE_QUEUES").as_deref())
}

/// `AML_DMA_ZE_SPLIT_BYTES` now.
pub fn split_bytes_from_environment() -> usize {
    split_variable(secure_env(c"AML_DMA_ZE_SPLIT_BYTES").as_deref())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_index_alone_is_one_queue_and_minus_one_every_queue() {
        assert_eq!(spread(7, 2, None), Some(Spread { first: 2, count: 1 }));
        assert_eq!(spread(7, -1, None), Some(Spread { first: 0, count: 7 }));
        assert_eq!(spread(7, 7, None), None);
        assert_eq!(spread(7, -2, None), None);
        assert_eq!(
            spread(7, 3, Some("all")),
            Some(Spread { first: 3, count: 7 })
        );
        assert_eq!(spread(7, 3, Some("2")), Some(Spread { first: 3, count: 2 }));
        assert_eq!(
            spread(7, -1, Some("4")),
            Some(Spread { first: 0, count: 4 })
        );
        assert_eq!(
            spread(1, 0, Some("all")),
            Some(Spread { first: 0, count: 1 })
        );
        // Malformed values are ignored.
        assert_eq!(spread(7, 1, Some("0")), Some(Spread { first: 1, count: 1 }));
        assert_eq!(
            spread(7, 1, Some("many")),
            Some(Spread { first: 1, count: 1 })
        );
        assert_eq!(
            spread(64, -1, None),
            Some(Spread {
                first: 0,
                count: MAX_QUEUES as u32
            })
        );
    }

    #[test]
    fn the_split_variable_takes_suffixes_and_zero_disables() {
        assert_eq!(split_variable(None), DEFAULT_SPLIT_BYTES);
        assert_eq!(split_variable(Some("0")), 0);
        assert_eq!(split_variable(Some("65536")), 65536);
        assert_eq!(split_variable(Some("64K")), 65536);
        assert_eq!(split_variable(Some("2M")), 2 << 20);
        assert_eq!(split_variable(Some("1G")), 1 << 30);
        assert_eq!(split_variable(Some("lots")), DEFAULT_SPLIT_BYTES);
    }
}
