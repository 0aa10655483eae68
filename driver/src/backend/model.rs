//! The device models (`SWZE_DEVICE_MODEL`): the shape of an Intel product as
//! Intel's driver reports it (stacks per card, the queue groups of a stack
//! and of a composite root), and the figures the cpu backend's bandwidth
//! model is scaled from. Every default of the model and every public figure
//! it reproduces is in this file, and nowhere else.
//!
//! The shapes follow compute-runtime's engine groups: on a Data Center GPU
//! Max stack, ordinal 0 is the compute engines, ordinal 1 the main copy
//! engine (one queue) and ordinal 2 the link copy engines; a client or Flex
//! GPU has compute and one copy engine.

use std::ffi::CStr;

use ze_sys::*;

use super::QueueGroup;

/// What Intel's driver reports for its compute engines' fills (any size).
pub const COMPUTE_FILL_PATTERN_LIMIT: usize = usize::MAX;
/// What Intel's driver reports for the copy engines' fills of a Data
/// Center GPU Max (`sizeof(uint8_t)`: both copy groups, compute-runtime
/// since late 2025; the main copy engine reported 16 before).
pub const MAX_COPY_FILL_PATTERN_LIMIT: usize = 1;
/// The same for DG2 (Arc, Flex) and earlier platforms.
pub const DG2_COPY_FILL_PATTERN_LIMIT: usize = 16;

/// A compute group's flags: compute engines also copy and run cooperative
/// kernels; METRICS is reported only for a render-compute engine, which
/// neither modelled product exposes as its compute group.
const COMPUTE_FLAGS: ze_command_queue_group_property_flags_t = ZE_COMMAND_QUEUE_GROUP_PROPERTY_FLAG_COMPUTE
    | ZE_COMMAND_QUEUE_GROUP_PROPERTY_FLAG_COPY
    | ZE_COMMAND_QUEUE_GROUP_PROPERTY_FLAG_COOPERATIVE_KERNELS;

const fn compute(queues: u32) -> QueueGroup {
    QueueGroup { flags: COMPUTE_FLAGS, queues, max_fill_pattern_size: COMPUTE_FILL_PATTERN_LIMIT }
}

const fn copy(queues: u32, max_fill_pattern_size: usize) -> QueueGroup {
    QueueGroup { flags: ZE_COMMAND_QUEUE_GROUP_PROPERTY_FLAG_COPY, queues, max_fill_pattern_size }
}

/// One product: how many stacks a card has and what its engines look like.
pub struct Product {
    /// `SWZE_DEVICE_MODEL`'s name for it.
    pub key: &'static CStr,
    /// What `zeDeviceGetProperties` names a device of it.
    pub name: &'static str,
    /// Stacks (tiles) per card; each is a root device under
    /// `ZE_FLAT_DEVICE_HIERARCHY=FLAT`, a subdevice under COMPOSITE.
    pub stacks: u32,
    /// The queue groups of one stack (a FLAT root device, a COMPOSITE
    /// subdevice, or the whole card when it has one stack).
    pub stack_groups: &'static [QueueGroup],
    /// The queue groups of a COMPOSITE root device of several stacks.
    pub composite_groups: &'static [QueueGroup],
    /// The public figures its bandwidth model is scaled from.
    pub figures: &'static Figures,
    /// What Intel's driver does with a copy on it (`policy.rs` applies it).
    pub copy_policy: CopyPolicy,
}

/// Intel's driver's own handling of copies on one product, as
/// compute-runtime sets it for that product.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CopyPolicy {
    /// The main copy engine's split of large copies (`BcsSplit`), if any.
    pub split: Option<SplitSettings>,
    /// Small copies done by the CPU on immediate lists, if any.
    pub cpu_copy: Option<CpuCopyThresholds>,
}

/// compute-runtime's `BcsSplit` settings for a product. Engine masks have
/// bit n for copy engine BCSn; BCSn (n >= 1) is queue n - 1 of the link
/// copy group.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SplitSettings {
    /// On unless `SplitBcsCopy=0`.
    pub enabled: bool,
    /// The engine whose immediate lists split: the product's default copy engine.
    pub main_ordinal: u32,
    pub main_index: u32,
    /// The group the parts go to.
    pub link_ordinal: u32,
    /// Engines for copies between device memories of different stacks.
    pub all: u32,
    /// Engines for host to device and device to host.
    pub to_device: u32,
    pub from_device: u32,
    /// Copies of at least this many bytes split (`SplitBcsSize`, KiB).
    pub min_size: usize,
    /// Only a device of this many stacks splits (a FLAT root device, a
    /// COMPOSITE subdevice; not a COMPOSITE root of two stacks).
    pub required_stacks: u32,
}

/// Largest copies (bytes, inclusive) an immediate list does with the CPU,
/// by direction; "host" is USM host memory, "malloc" memory the driver does
/// not know.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CpuCopyThresholds {
    pub host_to_device: usize,
    pub device_to_host: usize,
    pub malloc_to_device: usize,
    pub device_to_malloc: usize,
    pub device_to_device: usize,
}

/// Data movement of one product, in GB/s (10^9 bytes per second), from the
/// public sources named beside each product. The cpu backend divides them
/// all by one scale factor (`SWZE_BANDWIDTH_SCALE`).
pub struct Figures {
    /// One copy engine, any path.
    pub engine: f64,
    /// The host link of one card (shared by its stacks): host to device,
    /// device to host, and both ways at once.
    pub link_to_device: f64,
    pub link_from_device: f64,
    pub link_both: f64,
    /// What the host (every card's link together) sustains: to the devices,
    /// from them, both ways at once.
    pub host_to_device: f64,
    pub host_from_device: f64,
    pub host_both: f64,
    /// Between two stacks of one card: one way, both ways at once.
    pub stack_to_stack: f64,
    pub stack_to_stack_both: f64,
    /// A copy kernel within one stack's memory (it reads and writes every
    /// byte: half the memory's rate).
    pub stack_memory_copy: f64,
    /// What a copy from or to `malloc`'d memory costs the appending thread
    /// before the copy starts (the driver pins the range for that copy):
    /// bytes pinned per second, after a fixed cost in microseconds.
    pub host_pointer_pin: f64,
    pub host_pointer_fixed_us: f64,
    /// The measurements the model reproduces (one stack, and a full node of
    /// `node_cards` cards), for benchmarks to compare with.
    pub measured: Measured,
}

/// A published table of measurements: one stack alone, and every stack of
/// a node at once (one process per stack).
pub struct Measured {
    pub node_cards: u32,
    pub one_stack_to_device: f64,
    pub one_stack_from_device: f64,
    pub one_stack_both: f64,
    pub node_to_device: f64,
    pub node_from_device: f64,
    pub node_both: f64,
    pub stack_to_stack: f64,
    pub stack_to_stack_both: f64,
    /// One stack's memory bandwidth, triad (two loads and a store per
    /// element); a copy kernel moves half of it (one load, one store).
    pub one_stack_triad: f64,
}

impl Figures {
    /// A figure by its name in `swze_model_rate` (the field's name), GB/s.
    pub fn by_name(&self, name: &str) -> Option<f64> {
        Some(match name {
            "engine" => self.engine,
            "link_to_device" => self.link_to_device,
            "link_from_device" => self.link_from_device,
            "link_both" => self.link_both,
            "host_to_device" => self.host_to_device,
            "host_from_device" => self.host_from_device,
            "host_both" => self.host_both,
            "stack_to_stack" => self.stack_to_stack,
            "stack_to_stack_both" => self.stack_to_stack_both,
            "stack_memory_copy" => self.stack_memory_copy,
            "host_pointer_pin" => self.host_pointer_pin,
            _ => return None,
        })
    }
}

impl Measured {
    /// A measurement by its name in `swze_model_measured` (the field's
    /// name), GB/s; `node_cards` is a count.
    pub fn by_name(&self, name: &str) -> Option<f64> {
        Some(match name {
            "node_cards" => self.node_cards as f64,
            "one_stack_to_device" => self.one_stack_to_device,
            "one_stack_from_device" => self.one_stack_from_device,
            "one_stack_both" => self.one_stack_both,
            "node_to_device" => self.node_to_device,
            "node_from_device" => self.node_from_device,
            "node_both" => self.node_both,
            "stack_to_stack" => self.stack_to_stack,
            "stack_to_stack_both" => self.stack_to_stack_both,
            "one_stack_triad" => self.one_stack_triad,
            _ => return None,
        })
    }
}

/// Default `SWZE_BANDWIDTH_SCALE`: every figure divided by 200, so that a
/// whole modelled node (357 GB/s both ways) moves 1.8 GB/s, which a 2-core
/// machine's memcpy sustains beside the engine threads.
pub const DEFAULT_SCALE: f64 = 200.0;

/// What pinning `malloc`'d memory for one copy costs the host: GB/s
/// pinned, after a fixed cost in microseconds.
pub struct HostPointerCost {
    pub pin: f64,
    pub fixed_us: f64,
}

impl Figures {
    /// The caps a table of measurements implies for a product whose copy
    /// engines each move `engine` GB/s: a card's link is what one stack
    /// moves alone (one stack fills its card's link; a second stack behind
    /// it adds nothing), the host is what the whole node moves, and the
    /// path between stacks is its own measurement.
    const fn from_table(engine: f64, host_pointer: HostPointerCost, measured: Measured) -> Figures {
        Figures {
            stack_memory_copy: measured.one_stack_triad / 2.0,
            host_pointer_pin: host_pointer.pin,
            host_pointer_fixed_us: host_pointer.fixed_us,
            engine,
            link_to_device: measured.one_stack_to_device,
            link_from_device: measured.one_stack_from_device,
            link_both: measured.one_stack_both,
            host_to_device: measured.node_to_device,
            host_from_device: measured.node_from_device,
            host_both: measured.node_both,
            stack_to_stack: measured.stack_to_stack,
            stack_to_stack_both: measured.stack_to_stack_both,
            measured,
        }
    }
}

/// Intel Data Center GPU Max 1550 on an Aurora node (6 cards of 2 stacks,
/// one PCIe Gen5 x16 link per card). The table is ALCF's "Aurora node
/// performance overview" (one stack, and 12 stacks at once, one process
/// each; SYCL `memcpy` of 1 GiB between pinned host and device memory;
/// stack to stack within a card). Where the node's figure is below six
/// links (from the device, both ways), the host is the limit, and the model
/// caps the host there.
///
/// The rate of one copy engine is not published. The table's SYCL copies
/// run on the main copy engine, whose copies of this size Intel's driver
/// splits over two link copy engines each way (`BcsSplit`, `policy.rs`),
/// so two engines move at least the link's 55 GB/s: the model gives one
/// engine 28 GB/s. One engine alone then moves about half the link, and
/// the eight copy engines of a stack (main and link) exceed the path
/// between stacks (8 x 28 = 224 > 196).
///
/// Memory: ALCF's triad on one stack, 1 TB/s (the same table), so a copy
/// kernel within a stack moves 500 GB/s.
///
/// `malloc`'d memory: chipStar measured a 4 MB copy from `malloc`'d memory
/// to an Aurora GPU about 2.5 times slower than the same copy from an
/// imported range (chipStar issue #1324). At the link's 54 GB/s the
/// imported copy takes 78 us, so pinning the range for the copy costs
/// about 116 us: 36 GB/s pinned, no fixed cost assumed.
pub static MAX_1550_FIGURES: Figures = Figures::from_table(
    28.0,
    HostPointerCost { pin: 36.0, fixed_us: 0.0 },
    Measured {
        node_cards: 6,
        one_stack_to_device: 54.0,
        one_stack_from_device: 55.0,
        one_stack_both: 76.0,
        node_to_device: 329.0,
        node_from_device: 263.0,
        node_both: 357.0,
        stack_to_stack: 196.0,
        stack_to_stack_both: 287.0,
        one_stack_triad: 1000.0,
    },
);

/// Intel Data Center GPU Flex 170: one stack on a PCIe Gen4 x16 link, one
/// copy engine (compute-runtime's DG2 has a single BCS). No host-link
/// measurement of the Flex 170 is published; the table stands in with what
/// compute-runtime's issue #618 measured on the same DG2 chip (Arc A770,
/// also PCIe Gen4 x16): host to device 23.6 GB/s, device to host 22.5. Both
/// ways at once is not measured there; the model assumes 32 GB/s (about
/// 1.4 times one way, as on the Max link). The single engine is as fast as
/// the link: nothing is gained by more queues, and nothing may be lost.
/// The table is of one card; the host is not a limit in this model. Its
/// memory: Intel's product page gives 576 GB/s (GDDR6, peak), taken as
/// the triad figure. Pinning `malloc`'d memory costs what it costs on the
/// Max (the same driver and kernel).
pub static FLEX_170_FIGURES: Figures = Figures {
    host_to_device: f64::INFINITY,
    host_from_device: f64::INFINITY,
    host_both: f64::INFINITY,
    ..Figures::from_table(24.0, HostPointerCost { pin: 36.0, fixed_us: 0.0 }, FLEX_170_MEASURED)
};

const FLEX_170_MEASURED: Measured = Measured {
    node_cards: 1,
    one_stack_to_device: 23.6,
    one_stack_from_device: 22.5,
    one_stack_both: 32.0,
    node_to_device: 23.6,
    node_from_device: 22.5,
    node_both: 32.0,
    stack_to_stack: 0.0,
    stack_to_stack_both: 0.0,
    one_stack_triad: 576.0,
};

/// A Max stack: 4 compute engines (CCS), the main copy engine (BCS0), the
/// link copy engines (7 here; compute-runtime counts those the kernel
/// driver reports, up to 8). A COMPOSITE root (implicit scaling) has one
/// compute queue and its first stack's copy groups.
static MAX_1550_STACK: [QueueGroup; 3] =
    [compute(4), copy(1, MAX_COPY_FILL_PATTERN_LIMIT), copy(7, MAX_COPY_FILL_PATTERN_LIMIT)];
static MAX_1550_COMPOSITE: [QueueGroup; 3] =
    [compute(1), copy(1, MAX_COPY_FILL_PATTERN_LIMIT), copy(7, MAX_COPY_FILL_PATTERN_LIMIT)];
static FLEX_170_STACK: [QueueGroup; 2] = [compute(4), copy(1, DG2_COPY_FILL_PATTERN_LIMIT)];

pub static MAX_1550: Product = Product {
    key: c"max1550",
    name: "Intel(R) Data Center GPU Max 1550 (swze model)",
    stacks: 2,
    stack_groups: &MAX_1550_STACK,
    composite_groups: &MAX_1550_COMPOSITE,
    figures: &MAX_1550_FIGURES,
    copy_policy: MAX_1550_COPY_POLICY,
};

pub static FLEX_170: Product = Product {
    key: c"flex170",
    name: "Intel(R) Data Center GPU Flex 170 (swze model)",
    stacks: 1,
    stack_groups: &FLEX_170_STACK,
    composite_groups: &FLEX_170_STACK,
    figures: &FLEX_170_FIGURES,
    copy_policy: FLEX_170_COPY_POLICY,
};

/// What Intel's driver does with copies on a Max 1550 (PVC).
///
/// The split: compute-runtime's `getBcsSplitSettings` for PVC
/// (`shared/source/xe_hpc_core/pvc/os_agnostic_product_helper_pvc.inl`):
/// enabled, every odd link copy engine (BCS1, 3, 5, 7), host to device on
/// BCS1 and BCS3, device to host on BCS5 and BCS7 (`EngineHelpers`,
/// `shared/source/helpers/engine_node_helper.h`), devices of one tile;
/// only immediate lists on the default copy engine
/// (`level_zero/core/source/device/bcs_split.cpp`); copies of at least
/// `minimalSizeForBcsSplit`, 4 MiB (`level_zero/core/source/cmdlist/cmdlist.h`).
///
/// CPU copies: the immediate list's copy through a locked (host-mapped)
/// pointer (`level_zero/core/source/cmdlist/cmdlist_hw_immediate.inl`,
/// `preferCopyThroughLockedPtr`), with PVC's thresholds.
pub const MAX_1550_COPY_POLICY: CopyPolicy = CopyPolicy {
    split: Some(SplitSettings {
        enabled: true,
        main_ordinal: 1,
        main_index: 0,
        link_ordinal: 2,
        all: 0b1010_1010,
        to_device: 0b0000_1010,
        from_device: 0b1010_0000,
        min_size: 4 << 20,
        required_stacks: 1,
    }),
    cpu_copy: Some(CpuCopyThresholds {
        host_to_device: 50 * 1024,
        device_to_host: 128,
        malloc_to_device: 4 << 20,
        device_to_malloc: 1024,
        device_to_device: 0,
    }),
};

/// DG2 (Flex 170): one copy engine, so no split; no CPU copies modelled.
pub const FLEX_170_COPY_POLICY: CopyPolicy = CopyPolicy { split: None, cpu_copy: None };

/// The default model: the GPU of the machines AML's Level Zero users run on
/// (Aurora), with Intel's default hierarchy (FLAT).
pub static DEFAULT: &Product = &MAX_1550;

/// Every model, for `SWZE_DEVICE_MODEL`.
pub static PRODUCTS: [&Product; 2] = [&MAX_1550, &FLEX_170];

/// The model `SWZE_DEVICE_MODEL` names (`flex` is `flex170`).
pub fn by_name(name: &str) -> Option<&'static Product> {
    let name = match name.trim() {
        "flex" => "flex170",
        "max" => "max1550",
        other => other,
    };
    PRODUCTS.iter().copied().find(|product| product.key.to_str().is_ok_and(|key| key.eq_ignore_ascii_case(name)))
}

/// `ZE_FLAT_DEVICE_HIERARCHY`, as Intel's driver reads it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hierarchy {
    /// Every stack is a root device (the default of current drivers).
    Flat,
    /// Every card is a root device, its stacks its subdevices.
    Composite,
    /// Every stack is a root device, as FLAT, but reported as a subdevice
    /// of its card (flag and id) where the card has several stacks.
    Combined,
}

impl Hierarchy {
    pub fn parse(text: &str) -> Option<Hierarchy> {
        match text.trim() {
            "FLAT" => Some(Hierarchy::Flat),
            "COMPOSITE" => Some(Hierarchy::Composite),
            "COMBINED" => Some(Hierarchy::Combined),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_find_their_products() {
        assert!(std::ptr::eq(by_name("max1550").unwrap(), &MAX_1550));
        assert!(std::ptr::eq(by_name("flex").unwrap(), &FLEX_170));
        assert!(std::ptr::eq(by_name("FLEX170").unwrap(), &FLEX_170));
        assert!(by_name("a100").is_none());
        assert_eq!(Hierarchy::parse("COMBINED"), Some(Hierarchy::Combined));
        assert_eq!(Hierarchy::parse("flat"), None, "Intel's driver takes the upper-case names only");
    }

    #[test]
    fn the_max_figures_reproduce_the_table_they_come_from() {
        let f = &MAX_1550_FIGURES;
        let m = &f.measured;
        // One stack alone is limited by its link, not by the host.
        assert!(f.link_to_device <= f.host_to_device && f.link_both <= f.host_both);
        // A card's links together exceed the host where the table's node
        // figure is below six links.
        assert!(f.link_from_device * m.node_cards as f64 > m.node_from_device);
        assert!(f.link_both * m.node_cards as f64 > m.node_both);
        // One engine is below the link, and the engines of a stack exceed
        // it and the stack-to-stack path's 0.95.
        // One engine moves about half the link, two of them (the split) all of it.
        assert!(f.engine < f.link_to_device && f.engine * 2.0 >= f.link_from_device);
        assert!(f.engine * 8.0 > f.stack_to_stack);
        // The link caps are what one stack moves, the host caps what the node does.
        assert_eq!((f.link_both, f.host_both), (m.one_stack_both, m.node_both));
    }
}
