//! Environment configuration, read once at the first `zeInit`
//! (documented in `driver/README.md`).

use std::sync::atomic::{AtomicBool, Ordering};

use ze_sys::*;

use crate::args;
use crate::backend::choice::Choice;
use crate::backend::cpu::settings;
use crate::backend::model::{self, Hierarchy};
use crate::backend::policy;
use crate::calls::{self, Api};

/// `SWZE_COUNTER_EVENTS`: on unless `0` (the front's `counter` module reads it).
static COUNTER_EVENTS: AtomicBool = AtomicBool::new(true);

/// Whether swze offers counter-based events (`SWZE_COUNTER_EVENTS`).
pub fn counter_events() -> bool {
    COUNTER_EVENTS.load(Ordering::Relaxed)
}

pub struct Config {
    pub backend: Choice,
    /// `ZE_FLAT_DEVICE_HIERARCHY`, read as Intel's driver reads it.
    pub hierarchy: Hierarchy,
}

/// Reads every `SWZE_*` variable, applies the process-global ones (bandwidth,
/// inline mode, strict rules, faults) and returns the backend and topology to build. A malformed
/// value is reported on stderr and ignored: a driver must not abort its host.
pub fn load_from_environment() -> Config {
    let devices = read_number("SWZE_DEVICES").unwrap_or(1).min(64) as u32;
    let product = match read_variable("SWZE_DEVICE_MODEL") {
        None => model::DEFAULT,
        Some(name) => model::by_name(&name).unwrap_or_else(|| {
            warn("SWZE_DEVICE_MODEL", &name);
            model::DEFAULT
        }),
    };
    // Intel's driver takes FLAT when the variable is unset or unknown.
    let hierarchy = read_variable("ZE_FLAT_DEVICE_HIERARCHY")
        .and_then(|text| Hierarchy::parse(&text))
        .unwrap_or(Hierarchy::Flat);
    if let Some(on) = read_variable("SWZE_BANDWIDTH_MODEL") {
        settings::set_bandwidth_model(on.trim() == "1");
    }
    if let Some(scale) = read_variable("SWZE_BANDWIDTH_SCALE") {
        match scale.trim().parse::<f64>() {
            Ok(scale) if scale.is_finite() && scale > 0.0 => settings::set_bandwidth_scale(scale),
            _ => warn("SWZE_BANDWIDTH_SCALE", &scale),
        }
    }
    if let Some(bandwidth) = read_variable("SWZE_COPY_BANDWIDTH") {
        match parse_bandwidth(&bandwidth) {
            Some(bytes_per_second) => settings::set_copy_bandwidth(bytes_per_second),
            None => warn("SWZE_COPY_BANDWIDTH", &bandwidth),
        }
    }
    if let Some(inline) = read_variable("SWZE_INLINE") {
        settings::set_inline_mode(inline.trim() == "1");
    }
    if let Some(on) = read_variable("SWZE_INTEL_POLICIES") {
        policy::set_policies(on.trim() != "0");
    }
    if let Some(on) = read_variable("SWZE_COUNTER_EVENTS") {
        COUNTER_EVENTS.store(on.trim() != "0", Ordering::Relaxed);
    }
    // Intel's debug keys, read as a release build of Intel's driver reads
    // them: only with NEOReadDebugKeys=1.
    if read_variable("NEOReadDebugKeys").is_some_and(|on| on.trim() == "1") {
        for (name, slot) in policy::DEBUG_KEYS {
            if let Some(text) = read_variable(name) {
                match parse_key(&text) {
                    Some(value) => slot.store(value, std::sync::atomic::Ordering::Relaxed),
                    None => warn(name, &text),
                }
            }
        }
    }
    if let Some(strict) = read_variable("SWZE_STRICT") {
        args::set_strict(strict.trim() == "1");
    }
    let backend = Choice {
        name: read_variable("SWZE_BACKEND").map(|name| name.trim().to_string()).unwrap_or_default(),
        product,
        cpu_devices: devices,
        cuda_library: read_variable("SWZE_CUDA_LIBRARY").unwrap_or_else(|| "libcuda.so.1".into()),
    };
    if let Some(faults) = read_variable("SWZE_FAULT") {
        for fault in faults.split(',').filter(|entry| !entry.trim().is_empty()) {
            match parse_fault(fault) {
                Some((api, nth, result)) => {
                    calls::arm_fault(api, nth, result);
                }
                None => warn("SWZE_FAULT", fault),
            }
        }
    }
    Config { backend, hierarchy }
}

fn read_variable(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

fn read_number(name: &str) -> Option<u64> {
    let text = read_variable(name)?;
    let parsed = text.trim().parse().ok();
    if parsed.is_none() {
        warn(name, &text);
    }
    parsed
}

fn warn(variable: &str, value: &str) {
    eprintln!("swze: ignoring malformed {variable}={value:?}");
}

/// A debug key's value as Intel's driver takes it: decimal, or hex with 0x
/// (masks); -1 leaves the default.
fn parse_key(text: &str) -> Option<i64> {
    let text = text.trim();
    match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => i64::from_str_radix(hex, 16).ok(),
        None => text.parse().ok(),
    }
    .filter(|&value| value >= -1)
}

/// `123`, `100K`, `1.5G`...: bytes per second, decimal unit suffixes (K = 1000).
pub fn parse_bandwidth(text: &str) -> Option<u64> {
    let text = text.trim();
    let (digits, multiplier) = match text.char_indices().last()? {
        (at, 'k' | 'K') => (&text[..at], 1e3),
        (at, 'm' | 'M') => (&text[..at], 1e6),
        (at, 'g' | 'G') => (&text[..at], 1e9),
        _ => (text, 1.0),
    };
    let value: f64 = digits.trim().parse().ok()?;
    if !value.is_finite() || value < 0.0 {
        return None;
    }
    Some((value * multiplier) as u64)
}

/// `function:nth:result`, result by name (`ZE_RESULT_ERROR_...`) or number.
pub fn parse_fault(text: &str) -> Option<(Api, u64, ze_result_t)> {
    let mut fields = text.trim().splitn(3, ':');
    let api = Api::from_name(fields.next()?.trim())?;
    let nth: u64 = fields.next()?.trim().parse().ok()?;
    let result = parse_result(fields.next()?.trim())?;
    (nth > 0).then_some((api, nth, result))
}

pub fn parse_result(text: &str) -> Option<ze_result_t> {
    if let Some(hex) = text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        return ze_result_t::from_str_radix(hex, 16).ok();
    }
    if let Ok(number) = text.parse() {
        return Some(number);
    }
    RESULT_NAMES.iter().find(|(name, _)| *name == text).map(|(_, value)| *value)
}

macro_rules! result_names {
    ($($name:ident),* $(,)?) => {
        /// Names accepted in `SWZE_FAULT`, with their values from the headers.
        pub const RESULT_NAMES: &[(&str, ze_result_t)] = &[$((stringify!($name), $name)),*];
    };
}

result_names! {
    ZE_RESULT_SUCCESS,
    ZE_RESULT_NOT_READY,
    ZE_RESULT_ERROR_DEVICE_LOST,
    ZE_RESULT_ERROR_OUT_OF_HOST_MEMORY,
    ZE_RESULT_ERROR_OUT_OF_DEVICE_MEMORY,
    ZE_RESULT_ERROR_MODULE_BUILD_FAILURE,
    ZE_RESULT_ERROR_MODULE_LINK_FAILURE,
    ZE_RESULT_ERROR_DEVICE_REQUIRES_RESET,
    ZE_RESULT_ERROR_DEVICE_IN_LOW_POWER_STATE,
    ZE_RESULT_ERROR_INSUFFICIENT_PERMISSIONS,
    ZE_RESULT_ERROR_NOT_AVAILABLE,
    ZE_RESULT_ERROR_DEPENDENCY_UNAVAILABLE,
    ZE_RESULT_WARNING_DROPPED_DATA,
    ZE_RESULT_ERROR_UNINITIALIZED,
    ZE_RESULT_ERROR_UNSUPPORTED_VERSION,
    ZE_RESULT_ERROR_UNSUPPORTED_FEATURE,
    ZE_RESULT_ERROR_INVALID_ARGUMENT,
    ZE_RESULT_ERROR_INVALID_NULL_HANDLE,
    ZE_RESULT_ERROR_HANDLE_OBJECT_IN_USE,
    ZE_RESULT_ERROR_INVALID_NULL_POINTER,
    ZE_RESULT_ERROR_INVALID_SIZE,
    ZE_RESULT_ERROR_UNSUPPORTED_SIZE,
    ZE_RESULT_ERROR_UNSUPPORTED_ALIGNMENT,
    ZE_RESULT_ERROR_INVALID_SYNCHRONIZATION_OBJECT,
    ZE_RESULT_ERROR_INVALID_ENUMERATION,
    ZE_RESULT_ERROR_UNSUPPORTED_ENUMERATION,
    ZE_RESULT_ERROR_UNSUPPORTED_IMAGE_FORMAT,
    ZE_RESULT_ERROR_INVALID_NATIVE_BINARY,
    ZE_RESULT_ERROR_INVALID_GLOBAL_NAME,
    ZE_RESULT_ERROR_INVALID_KERNEL_NAME,
    ZE_RESULT_ERROR_INVALID_FUNCTION_NAME,
    ZE_RESULT_ERROR_INVALID_GROUP_SIZE_DIMENSION,
    ZE_RESULT_ERROR_INVALID_GLOBAL_WIDTH_DIMENSION,
    ZE_RESULT_ERROR_INVALID_KERNEL_ARGUMENT_INDEX,
    ZE_RESULT_ERROR_INVALID_KERNEL_ARGUMENT_SIZE,
    ZE_RESULT_ERROR_INVALID_KERNEL_ATTRIBUTE_VALUE,
    ZE_RESULT_ERROR_INVALID_MODULE_UNLINKED,
    ZE_RESULT_ERROR_INVALID_COMMAND_LIST_TYPE,
    ZE_RESULT_ERROR_OVERLAPPING_REGIONS,
    ZE_RESULT_ERROR_UNKNOWN,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bandwidth_suffixes() {
        assert_eq!(parse_bandwidth("1000"), Some(1000));
        assert_eq!(parse_bandwidth("2K"), Some(2000));
        assert_eq!(parse_bandwidth("1.5M"), Some(1_500_000));
        assert_eq!(parse_bandwidth("3g"), Some(3_000_000_000));
        assert_eq!(parse_bandwidth("fast"), None);
        assert_eq!(parse_bandwidth(""), None);
    }

    #[test]
    fn fault_specs() {
        assert_eq!(
            parse_fault("zeEventCreate:2:ZE_RESULT_ERROR_OUT_OF_HOST_MEMORY"),
            Some((Api::zeEventCreate, 2, ZE_RESULT_ERROR_OUT_OF_HOST_MEMORY))
        );
        assert_eq!(parse_fault("zeMemFree:1:0x78000004"), Some((Api::zeMemFree, 1, 0x7800_0004)));
        assert_eq!(parse_fault("zeMemFree:0:1"), None);
        assert_eq!(parse_fault("zeNothing:1:1"), None);
        assert_eq!(parse_fault("zeMemFree:1:ZE_RESULT_BOGUS"), None);
    }
}
