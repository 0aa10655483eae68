//! What Intel's driver does with a copy once it is appended, on the
//! modelled product: which engine runs it, whether it is split over other
//! engines, run as a copy kernel, or done by the CPU. Pure decisions; the
//! model (`model.rs`) holds the product's settings and thresholds, the front
//! gives each queue its [`Role`] when it is created, and a backend asks
//! [`Role::route`] for every copy it runs.
//!
//! Intel's debug keys switch each policy as they do on Intel's driver, read
//! at the first `zeInit` only when `NEOReadDebugKeys=1` (as a release build
//! of compute-runtime reads them): `SplitBcsCopy`, `SplitBcsSize` (KiB),
//! `SplitBcsMask`, `SplitBcsMaskH2D`, `SplitBcsMaskD2H`,
//! `ExperimentalCopyThroughLock` (0: no CPU copies),
//! `ExperimentalH2DCpuCopyThreshold`, `ExperimentalD2HCpuCopyThreshold`.
//! `SWZE_INTEL_POLICIES=0` turns every policy off at once (each copy on its
//! list's own engine, at that engine's rate), for comparison.

use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};

use super::model::{CpuCopyThresholds, Product, SplitSettings};

/// Where one side of a copy lives, as the driver sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Memory {
    /// Host memory the driver does not know (`malloc`): pinned per copy.
    Malloc,
    /// A USM host or shared allocation, or an imported host pointer.
    Host,
    /// Device memory of this backend unit (a stack).
    Device(usize),
}

impl Memory {
    fn is_host(self) -> bool {
        !matches!(self, Memory::Device(_))
    }
}

/// The kind of engine a queue's group is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EngineClass {
    /// A compute engine: copies run as builtin copy kernels.
    Compute,
    /// A copy (blitter) engine.
    Copy,
}

/// What the driver does on one queue, decided when the list or queue is
/// created: copied into the backend's queue, read for every copy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Role {
    pub engine: EngineClass,
    /// The list splits large copies (Intel's `BcsSplit`): an immediate list
    /// on the product's main copy engine of a device of one stack.
    pub split: Option<SplitSettings>,
    /// The list may copy small amounts through the CPU (immediate lists).
    pub cpu_copy: Option<CpuCopyThresholds>,
    /// An in-order list (`ZE_COMMAND_QUEUE_FLAG_IN_ORDER`): a CPU copy
    /// first waits for every earlier command of the list (compute-runtime's
    /// `performCpuMemcpy` synchronizes when `isInOrderExecutionEnabled()`).
    pub in_order: bool,
}

/// The events a copy waits on, as the driver sees them at append.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Waits {
    pub count: usize,
    /// Every one of them is already signalled.
    pub completed: bool,
}

impl Waits {
    #[cfg(test)]
    pub const NONE: Waits = Waits { count: 0, completed: true };
}

/// How many wait events a CPU copy of `malloc`'d memory still waits for on
/// the host; from this many on, the driver synchronizes the list instead
/// (`ExperimentalCopyThroughLockWaitlistSizeThreshold`, default 5).
const HOST_WAIT_EVENTS_LIMIT: usize = 5;

impl Role {
    /// A queue of a driver that does nothing of its own with copies: each
    /// on its list's engine at that engine's rate, compute lists too.
    pub const PLAIN: Role = Role { engine: EngineClass::Copy, split: None, cpu_copy: None, in_order: false };

    /// The role of queue (`ordinal`, `index`) of a device of `product` with
    /// `stacks` stacks behind it (2 for a COMPOSITE root of a Max card),
    /// compute or copy as `compute` says; `immediate` for an immediate list.
    ///
    /// A COMPOSITE root splits too, over its first stack's engines (Intel's
    /// `BcsSplit::setupDevice` routes a root device to tile 0), but copies
    /// nothing with the CPU: its device memory spans both stacks' memory
    /// banks, which the CPU path refuses (`isSuitableUSMDeviceAlloc`).
    pub fn of(product: &Product, ordinal: u32, index: u32, compute: bool, stacks: u32, immediate: bool) -> Role {
        if !policies_on() {
            return Role::PLAIN;
        }
        let engine = if compute { EngineClass::Compute } else { EngineClass::Copy };
        let policy = &product.copy_policy;
        let split = policy
            .split
            .filter(|split| immediate && split_enabled(split.enabled))
            .filter(|split| (split.main_ordinal, split.main_index) == (ordinal, index))
            .map(keyed_split);
        let cpu_copy =
            policy.cpu_copy.filter(|_| immediate && stacks == 1 && cpu_copy_enabled()).map(keyed_thresholds);
        Role { engine, split, cpu_copy, in_order: false }
    }

    /// What happens to a copy of `size` bytes from `source` to
    /// `destination` on this queue. `dependencies`: a barrier or a wait on
    /// events was appended to the list since the driver last synchronized
    /// it for a CPU copy (compute-runtime's `dependenciesPresent`).
    pub fn route(&self, size: usize, destination: Memory, source: Memory, waits: Waits, dependencies: bool) -> Route {
        if let Some(thresholds) = &self.cpu_copy {
            if let Some(route) = cpu_route(thresholds, size, destination, source, waits, dependencies) {
                return match route {
                    Route::Cpu { .. } if self.in_order => Route::Cpu { synchronize: true },
                    route => route,
                };
            }
        }
        if let Some(split) = &self.split {
            if let Some(engines) = split_engines(split, size, destination, source) {
                return Route::Split { ordinal: split.link_ordinal, engines };
            }
        }
        match (self.engine, destination, source) {
            (EngineClass::Compute, Memory::Device(to), Memory::Device(from)) if to == from => Route::KernelLocal,
            (EngineClass::Compute, ..) => Route::Kernel,
            (EngineClass::Copy, ..) => Route::Engine,
        }
    }
}

/// Where a copy runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route {
    /// On the list's own copy engine, at its rate.
    Engine,
    /// A copy kernel on the list's compute engine: at the rate of the path.
    Kernel,
    /// A copy kernel within one stack's memory: at the stack's memory rate.
    KernelLocal,
    /// Equal parts on the link copy engines of `engines` (a mask of
    /// copy-engine numbers, BCSn = bit n; BCS n ≥ 1 is queue n - 1 of group
    /// `ordinal`), run at once; the list goes on when every part is done.
    Split { ordinal: u32, engines: u32 },
    /// By the appending thread through the device memory mapped on the
    /// host, at append: after the copy's wait events (on the host), and
    /// after every earlier command of the list only if `synchronize` (always
    /// on an in-order list). An immediate list that is not in order does not
    /// otherwise wait for its earlier commands: the CPU copy may overtake them.
    Cpu { synchronize: bool },
}

/// Copies routed each way since the last reset, for the control API:
/// engine, kernel, kernel_local, split, cpu, host_pointer (copies that paid
/// the pinning of a `malloc`'d side).
static ROUTES: [AtomicU64; 6] = [const { AtomicU64::new(0) }; 6];
pub const ROUTE_NAMES: [&str; 6] = ["engine", "kernel", "kernel_local", "split", "cpu", "host_pointer"];

/// Counts a copy that went `route`.
pub fn count(route: Route) {
    let slot = match route {
        Route::Engine => 0,
        Route::Kernel => 1,
        Route::KernelLocal => 2,
        Route::Split { .. } => 3,
        Route::Cpu { .. } => 4,
    };
    ROUTES[slot].fetch_add(1, Ordering::Relaxed);
}

/// Counts a copy whose `malloc`'d side was pinned for it.
pub fn count_host_pointer() {
    ROUTES[5].fetch_add(1, Ordering::Relaxed);
}

/// Copies counted under a name of [`ROUTE_NAMES`]; `None` for another name.
pub fn route_count(name: &str) -> Option<u64> {
    let slot = ROUTE_NAMES.iter().position(|&known| known == name)?;
    Some(ROUTES[slot].load(Ordering::Relaxed))
}

pub fn reset_route_counts() {
    for count in &ROUTES {
        count.store(0, Ordering::Relaxed);
    }
}

/// Queues of a mask of copy-engine numbers, in the link group: BCSn is
/// index n - 1 (BCS0, the main copy engine, is never in a split mask).
pub fn split_queues(engines: u32) -> impl Iterator<Item = u32> {
    (1..32).filter(move |bcs| engines & (1 << bcs) != 0).map(|bcs| bcs - 1)
}

/// compute-runtime's `preferCopyThroughLockedPtr` and `performCpuMemcpy`
/// (`level_zero/core/source/cmdlist/cmdlist_hw_immediate.inl`): USM host
/// memory and device memory only with no dependencies on the list and every
/// wait event already complete; `malloc`'d memory and device memory always,
/// waiting for the wait events on the host, or, with dependencies (or many
/// wait events), for the whole list. Device to device never.
fn cpu_route(thresholds: &CpuCopyThresholds, size: usize, destination: Memory, source: Memory, waits: Waits,
    dependencies: bool) -> Option<Route> {
    let (limit, known_host) = match (source, destination) {
        (Memory::Host, Memory::Device(_)) => (thresholds.host_to_device, true),
        (Memory::Device(_), Memory::Host) => (thresholds.device_to_host, true),
        (Memory::Malloc, Memory::Device(_)) => (thresholds.malloc_to_device, false),
        (Memory::Device(_), Memory::Malloc) => (thresholds.device_to_malloc, false),
        _ => return None,
    };
    if size > limit {
        return None;
    }
    if known_host {
        return (!dependencies && waits.completed).then_some(Route::Cpu { synchronize: false });
    }
    Some(Route::Cpu { synchronize: dependencies || waits.count >= HOST_WAIT_EVENTS_LIMIT })
}

/// The engines a copy is split over, or `None` if it is not split: at least
/// the split size, not within one stack's memory, and at least two engines.
fn split_engines(split: &SplitSettings, size: usize, destination: Memory, source: Memory) -> Option<u32> {
    if size < split.min_size {
        return None;
    }
    let engines = match (source, destination) {
        (Memory::Device(from), Memory::Device(to)) if from == to => return None,
        (from, Memory::Device(_)) if from.is_host() => split.to_device,
        (Memory::Device(_), to) if to.is_host() => split.from_device,
        _ => split.all,
    };
    // Intel's driver uses as many engines as the size allows parts of at
    // least the split size's share; a mask of one engine is not a split.
    (engines.count_ones() >= 2).then_some(engines)
}

// Intel's debug keys, as read at the first zeInit. -1: not set (Intel's
// own "default" value).
static POLICIES: AtomicBool = AtomicBool::new(true);
static SPLIT_BCS_COPY: AtomicI64 = AtomicI64::new(-1);
static SPLIT_BCS_SIZE_KIB: AtomicI64 = AtomicI64::new(-1);
static SPLIT_BCS_MASK: AtomicI64 = AtomicI64::new(-1);
static SPLIT_BCS_MASK_H2D: AtomicI64 = AtomicI64::new(-1);
static SPLIT_BCS_MASK_D2H: AtomicI64 = AtomicI64::new(-1);
static COPY_THROUGH_LOCK: AtomicI64 = AtomicI64::new(-1);
static H2D_CPU_COPY_THRESHOLD: AtomicI64 = AtomicI64::new(-1);
static D2H_CPU_COPY_THRESHOLD: AtomicI64 = AtomicI64::new(-1);

/// The names `config` reads, with where each value goes.
pub const DEBUG_KEYS: [(&str, &AtomicI64); 8] = [
    ("SplitBcsCopy", &SPLIT_BCS_COPY),
    ("SplitBcsSize", &SPLIT_BCS_SIZE_KIB),
    ("SplitBcsMask", &SPLIT_BCS_MASK),
    ("SplitBcsMaskH2D", &SPLIT_BCS_MASK_H2D),
    ("SplitBcsMaskD2H", &SPLIT_BCS_MASK_D2H),
    ("ExperimentalCopyThroughLock", &COPY_THROUGH_LOCK),
    ("ExperimentalH2DCpuCopyThreshold", &H2D_CPU_COPY_THRESHOLD),
    ("ExperimentalD2HCpuCopyThreshold", &D2H_CPU_COPY_THRESHOLD),
];

/// `SWZE_INTEL_POLICIES`: false turns every policy off.
pub fn set_policies(on: bool) {
    POLICIES.store(on, Ordering::Relaxed);
}

pub fn policies_on() -> bool {
    POLICIES.load(Ordering::Relaxed)
}

fn key(value: &AtomicI64) -> Option<i64> {
    Some(value.load(Ordering::Relaxed)).filter(|&value| value >= 0)
}

fn split_enabled(default: bool) -> bool {
    key(&SPLIT_BCS_COPY).map_or(default, |on| on != 0)
}

fn cpu_copy_enabled() -> bool {
    key(&COPY_THROUGH_LOCK).is_none_or(|on| on != 0)
}

fn keyed_split(split: SplitSettings) -> SplitSettings {
    let mask = |value: &AtomicI64, default: u32| key(value).map_or(default, |mask| mask as u32 & !1);
    SplitSettings {
        min_size: key(&SPLIT_BCS_SIZE_KIB).map_or(split.min_size, |kib| kib as usize * 1024),
        all: mask(&SPLIT_BCS_MASK, split.all),
        to_device: mask(&SPLIT_BCS_MASK_H2D, split.to_device),
        from_device: mask(&SPLIT_BCS_MASK_D2H, split.from_device),
        ..split
    }
}

fn keyed_thresholds(thresholds: CpuCopyThresholds) -> CpuCopyThresholds {
    let keyed = |value: &AtomicI64, default: usize| key(value).map_or(default, |bytes| bytes as usize);
    CpuCopyThresholds {
        malloc_to_device: keyed(&H2D_CPU_COPY_THRESHOLD, thresholds.malloc_to_device),
        device_to_malloc: keyed(&D2H_CPU_COPY_THRESHOLD, thresholds.device_to_malloc),
        ..thresholds
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::model::{FLEX_170, MAX_1550};

    const MIB: usize = 1 << 20;

    fn main_copy_engine() -> Role {
        Role::of(&MAX_1550, 1, 0, false, 1, true)
    }

    #[test]
    fn the_main_copy_engine_splits_large_copies_by_direction() {
        let role = main_copy_engine();
        let (host, device, other) = (Memory::Host, Memory::Device(0), Memory::Device(1));
        // Host to device over BCS1 and BCS3, back over BCS5 and BCS7.
        let none = Waits::NONE;
        assert_eq!(role.route(4 * MIB, device, host, none, false), Route::Split { ordinal: 2, engines: 0b1010 });
        assert_eq!(
            role.route(16 * MIB, Memory::Malloc, device, none, false),
            Route::Split { ordinal: 2, engines: 0b1010_0000 }
        );
        assert_eq!(split_queues(0b1010).collect::<Vec<_>>(), vec![0, 2]);
        // Between stacks and host to host over all four; within one stack not at all.
        assert_eq!(role.route(8 * MIB, other, device, none, false), Route::Split { ordinal: 2, engines: 0b1010_1010 });
        assert_eq!(role.route(8 * MIB, host, host, none, false), Route::Split { ordinal: 2, engines: 0b1010_1010 });
        assert_eq!(role.route(8 * MIB, device, device, none, false), Route::Engine);
        assert_eq!(role.route(4 * MIB - 1, device, host, none, true), Route::Engine);
    }

    #[test]
    fn only_immediate_lists_on_the_main_copy_engine_split() {
        assert!(main_copy_engine().split.is_some());
        assert!(Role::of(&MAX_1550, 1, 0, false, 1, false).split.is_none(), "a regular list");
        assert!(Role::of(&MAX_1550, 2, 0, false, 1, true).split.is_none(), "a link copy engine");
        assert!(Role::of(&MAX_1550, 1, 0, false, 2, true).split.is_some(), "a COMPOSITE root, on its first stack");
        assert!(Role::of(&MAX_1550, 1, 0, false, 2, true).cpu_copy.is_none(), "memory over two stacks' banks");
        assert!(Role::of(&FLEX_170, 1, 0, false, 1, true).split.is_none(), "one copy engine");
    }

    #[test]
    fn compute_lists_copy_with_kernels() {
        let compute = Role::of(&MAX_1550, 0, 0, true, 1, true);
        let (host, device, none) = (Memory::Host, Memory::Device(0), Waits::NONE);
        assert_eq!(compute.route(MIB, device, device, none, false), Route::KernelLocal);
        assert_eq!(compute.route(MIB, device, host, none, false), Route::Kernel);
        assert_eq!(compute.route(MIB, Memory::Device(1), device, none, false), Route::Kernel);
    }

    #[test]
    fn small_copies_go_through_the_cpu_without_waiting_for_the_list() {
        let role = main_copy_engine();
        let (host, device, none) = (Memory::Host, Memory::Device(0), Waits::NONE);
        let t = MAX_1550.copy_policy.cpu_copy.unwrap();
        let cpu = Route::Cpu { synchronize: false };
        assert_eq!(role.route(t.host_to_device, device, host, none, false), cpu);
        assert_eq!(role.route(t.host_to_device + 1, device, host, none, false), Route::Engine);
        assert_eq!(role.route(t.device_to_host, host, device, none, false), cpu);
        assert_eq!(role.route(t.device_to_host + 1, host, device, none, false), Route::Engine);
        assert_eq!(role.route(64, device, device, none, false), Route::Engine, "device to device: never");
        assert_eq!(role.route(64, host, host, none, false), Route::Engine, "no device memory");
        // USM host: not after a barrier, nor behind an event not yet signalled.
        assert_eq!(role.route(64, device, host, none, true), Route::Engine);
        assert_eq!(role.route(64, device, host, Waits { count: 1, completed: false }, false), Route::Engine);
        assert_eq!(role.route(64, device, host, Waits { count: 1, completed: true }, false), cpu);
        // malloc'd memory: always, the list synchronized first after a barrier.
        let malloced = Memory::Malloc;
        assert_eq!(role.route(t.malloc_to_device, device, malloced, none, false), cpu);
        assert_eq!(role.route(1024, malloced, device, none, true), Route::Cpu { synchronize: true });
        assert_eq!(role.route(1025, malloced, device, none, false), Route::Engine);
        assert_eq!(role.route(64, device, malloced, Waits { count: 1, completed: false }, false), cpu);
        assert_eq!(role.route(64, device, malloced, Waits { count: 5, completed: false }, false), Route::Cpu { synchronize: true });
    }

    #[test]
    fn an_in_order_list_waits_for_its_earlier_commands_before_a_cpu_copy() {
        let role = Role { in_order: true, ..main_copy_engine() };
        let (host, device, none) = (Memory::Host, Memory::Device(0), Waits::NONE);
        let synchronized = Route::Cpu { synchronize: true };
        assert_eq!(role.route(64, device, host, none, false), synchronized);
        assert_eq!(role.route(64, host, device, none, false), synchronized);
        assert_eq!(role.route(64, device, Memory::Malloc, none, false), synchronized);
        // What does not go through the CPU is unchanged: in order already.
        assert_eq!(role.route(64, device, host, none, true), Route::Engine);
        assert_eq!(role.route(4 * MIB, device, host, none, false), Route::Split { ordinal: 2, engines: 0b1010 });
    }
}
