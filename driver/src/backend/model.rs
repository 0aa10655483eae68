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

/// What Intel's driver reports for its compute engines' fills.
pub const COMPUTE_FILL_PATTERN_LIMIT: usize = usize::MAX;
/// What Intel's driver reports for its copy engines' fills
/// (`sizeof(uint32_t)`).
pub const COPY_FILL_PATTERN_LIMIT: usize = 4;

const COMPUTE_FLAGS: ze_command_queue_group_property_flags_t = ZE_COMMAND_QUEUE_GROUP_PROPERTY_FLAG_COMPUTE
    | ZE_COMMAND_QUEUE_GROUP_PROPERTY_FLAG_COPY
    | ZE_COMMAND_QUEUE_GROUP_PROPERTY_FLAG_COOPERATIVE_KERNELS
    | ZE_COMMAND_QUEUE_GROUP_PROPERTY_FLAG_METRICS;

const fn compute(queues: u32) -> QueueGroup {
    QueueGroup { flags: COMPUTE_FLAGS, queues, max_fill_pattern_size: COMPUTE_FILL_PATTERN_LIMIT }
}

const fn copy(queues: u32) -> QueueGroup {
    QueueGroup { flags: ZE_COMMAND_QUEUE_GROUP_PROPERTY_FLAG_COPY, queues, max_fill_pattern_size: COPY_FILL_PATTERN_LIMIT }
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
            _ => return None,
        })
    }
}

/// Default `SWZE_BANDWIDTH_SCALE`: every figure divided by 200, so that a
/// whole modelled node (357 GB/s both ways) moves 1.8 GB/s, which a 2-core
/// machine's memcpy sustains beside the engine threads.
pub const DEFAULT_SCALE: f64 = 200.0;

/// Intel Data Center GPU Max 1550 on an Aurora node (6 cards of 2 stacks,
/// one PCIe Gen5 x16 link per card). ALCF, "Aurora node performance
/// overview": one stack H2D 54, D2H 55, both ways 76 GB/s; full node (12
/// stacks) H2D 329, D2H 263, both ways 357 GB/s; stack to stack 196 one
/// way, 287 both ways. The link caps are the one-stack figures (one stack
/// alone fills its card's link: the second stack adds nothing); the host
/// caps are the full-node figures where the six links together exceed
/// them; a copy engine is below the link, so that one engine alone cannot
/// fill it (compute-runtime splits large host copies over copy engines,
/// `BcsSplit`, for that reason).
pub static MAX_1550_FIGURES: Figures = Figures {
    engine: 24.0,
    link_to_device: 54.0,
    link_from_device: 55.0,
    link_both: 76.0,
    host_to_device: 329.0,
    host_from_device: 263.0,
    host_both: 357.0,
    stack_to_stack: 196.0,
    stack_to_stack_both: 287.0,
    measured: Measured {
        node_cards: 6,
        one_stack_to_device: 54.0,
        one_stack_from_device: 55.0,
        one_stack_both: 76.0,
        node_to_device: 329.0,
        node_from_device: 263.0,
        node_both: 357.0,
        stack_to_stack: 196.0,
        stack_to_stack_both: 287.0,
    },
};

/// Intel Data Center GPU Flex 170: one stack on a PCIe Gen4 x16 link
/// (32 GB/s raw each way), one copy engine.
pub static FLEX_170_FIGURES: Figures = Figures {
    engine: 24.0,
    link_to_device: 24.0,
    link_from_device: 24.0,
    link_both: 40.0,
    host_to_device: 24.0 * 4.0,
    host_from_device: 24.0 * 4.0,
    host_both: 40.0 * 4.0,
    stack_to_stack: 0.0,
    stack_to_stack_both: 0.0,
    measured: Measured {
        node_cards: 1,
        one_stack_to_device: 24.0,
        one_stack_from_device: 24.0,
        one_stack_both: 40.0,
        node_to_device: 24.0,
        node_from_device: 24.0,
        node_both: 40.0,
        stack_to_stack: 0.0,
        stack_to_stack_both: 0.0,
    },
};

static MAX_1550_STACK: [QueueGroup; 3] = [compute(4), copy(1), copy(7)];
static MAX_1550_COMPOSITE: [QueueGroup; 3] = [compute(1), copy(1), copy(7)];
static FLEX_170_STACK: [QueueGroup; 2] = [compute(4), copy(1)];

pub static MAX_1550: Product = Product {
    key: c"max1550",
    name: "Intel(R) Data Center GPU Max 1550 (swze model)",
    stacks: 2,
    stack_groups: &MAX_1550_STACK,
    composite_groups: &MAX_1550_COMPOSITE,
    figures: &MAX_1550_FIGURES,
};

pub static FLEX_170: Product = Product {
    key: c"flex170",
    name: "Intel(R) Data Center GPU Flex 170 (swze model)",
    stacks: 1,
    stack_groups: &FLEX_170_STACK,
    composite_groups: &FLEX_170_STACK,
    figures: &FLEX_170_FIGURES,
};

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
    /// Every card is a root device, its stacks its subdevices. COMBINED is
    /// this too, as far as Level Zero's calls can tell.
    Composite,
}

impl Hierarchy {
    pub fn parse(text: &str) -> Option<Hierarchy> {
        match text.trim() {
            "FLAT" => Some(Hierarchy::Flat),
            "COMPOSITE" | "COMBINED" => Some(Hierarchy::Composite),
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
        assert_eq!(Hierarchy::parse("COMBINED"), Some(Hierarchy::Composite));
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
        assert!(f.engine * 2.0 <= f.link_to_device);
        assert!(f.engine * 8.0 >= 0.95 * f.stack_to_stack);
    }
}
