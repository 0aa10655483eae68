//! The devices the application sees, arranged from the backend's stacks by
//! the product model and the hierarchy (FLAT, COMPOSITE or COMBINED), each
//! with its queue groups. Apart from the driver (`driver.rs`, which builds
//! the topology once at `zeInit` and keeps it) so that the arrangement is a
//! plain function of its inputs, tested without a backend.

use ze_sys::*;

use crate::backend::model::{Hierarchy, Product};
use crate::backend::{Backend, DeviceDescription, QueueGroup};

pub struct Device {
    pub name: String,
    /// Index among the root devices, or among its parent's subdevices.
    pub index: u32,
    /// Position of the parent in `Topology::devices` for a subdevice.
    pub parent: Option<usize>,
    /// Positions of the subdevices in `Topology::devices`.
    pub subdevices: Vec<usize>,
    /// The backend's device this one is, or for a root device of several
    /// stacks (COMPOSITE) its first stack, whose engines its lists use and
    /// where its memory is modelled to live.
    pub backend_device: usize,
    /// Its queue groups, as Intel's driver reports them for such a device.
    pub groups: &'static [QueueGroup],
    /// Bytes of device memory (all its stacks' for a COMPOSITE root).
    pub memory_size: u64,
    /// A COMPOSITE root of several stacks: its UUID is marked apart from
    /// its first stack's.
    pub whole_card: bool,
    /// Under COMBINED, a root device that is one stack of a card of several:
    /// its index on the card. Intel's driver then reports it as a subdevice
    /// (flag and id) though `zeDeviceGet` lists it.
    pub stack_of_card: Option<u32>,
}

impl Device {
    pub fn handle(&self) -> ze_device_handle_t {
        self as *const Device as ze_device_handle_t
    }

    pub fn is_subdevice(&self) -> bool {
        self.parent.is_some()
    }

    /// What `zeDeviceGetProperties` says: flagged a subdevice, and its id.
    pub(super) fn reported_as_subdevice(&self) -> Option<u32> {
        if self.is_subdevice() {
            Some(self.index)
        } else {
            self.stack_of_card
        }
    }
}

pub struct Topology {
    /// Every device, roots and subdevices. Complete before the topology is
    /// published and never modified after, so handles (addresses) never move.
    pub devices: Vec<Device>,
    pub roots: Vec<usize>,
    pub backend: &'static dyn Backend,
}

/// The devices the application sees: under FLAT every stack of every card
/// is a root device; under COMPOSITE every card is, with its stacks as
/// subdevices when it has several (a card of one stack has none, as on
/// Intel's driver).
pub(super) fn arrange(product: &'static Product, units: &[DeviceDescription], hierarchy: Hierarchy) -> (Vec<Device>, Vec<usize>) {
    let mut devices: Vec<Device> = Vec::new();
    let mut roots = Vec::new();
    let mut first = 0;
    while first < units.len() {
        let card = units[first].card;
        let stacks = units[first..].iter().take_while(|unit| unit.card == card).count();
        let stack = |unit: usize, index: u32, parent: Option<usize>| Device {
            name: units[unit].name.clone(),
            index,
            parent,
            subdevices: Vec::new(),
            backend_device: unit,
            groups: product.stack_groups,
            memory_size: units[unit].memory_size,
            whole_card: false,
            stack_of_card: None,
        };
        if hierarchy != Hierarchy::Composite || stacks == 1 {
            for (on_card, unit) in (first..first + stacks).enumerate() {
                roots.push(devices.len());
                let mut device = stack(unit, roots.len() as u32 - 1, None);
                if hierarchy == Hierarchy::Combined && stacks > 1 {
                    device.stack_of_card = Some(on_card as u32);
                }
                devices.push(device);
            }
        } else {
            let root = devices.len();
            roots.push(root);
            devices.push(Device {
                name: format!("{} {card}", product.name),
                index: roots.len() as u32 - 1,
                parent: None,
                subdevices: Vec::new(),
                backend_device: first,
                groups: product.composite_groups,
                memory_size: units[first..first + stacks].iter().map(|unit| unit.memory_size).sum(),
                whole_card: true,
                stack_of_card: None,
            });
            for (index, unit) in (first..first + stacks).enumerate() {
                let position = devices.len();
                devices[root].subdevices.push(position);
                devices.push(stack(unit, index as u32, Some(root)));
            }
        }
        first += stacks;
    }
    (devices, roots)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::model::{FLEX_170, MAX_1550};

    fn units(cards: usize, stacks: usize) -> Vec<DeviceDescription> {
        (0..cards * stacks)
            .map(|unit| DeviceDescription {
                name: format!("unit {unit}"),
                uuid: [unit as u8; 16],
                memory_size: 1 << 30,
                max_allocation: 1 << 30,
                card: unit / stacks,
            })
            .collect()
    }

    #[test]
    fn flat_makes_every_stack_a_root_device() {
        let (devices, roots) = arrange(&MAX_1550, &units(3, 2), Hierarchy::Flat);
        assert_eq!(roots.len(), 6);
        assert_eq!(devices.len(), 6);
        for (index, &root) in roots.iter().enumerate() {
            let device = &devices[root];
            assert_eq!((device.index, device.backend_device, device.parent), (index as u32, index, None));
            assert!(device.subdevices.is_empty() && !device.whole_card);
            assert!(std::ptr::eq(device.groups, MAX_1550.stack_groups));
        }
    }

    #[test]
    fn composite_makes_every_card_a_root_with_its_stacks_below() {
        let (devices, roots) = arrange(&MAX_1550, &units(2, 2), Hierarchy::Composite);
        assert_eq!(roots, vec![0, 3]);
        let root = &devices[3];
        assert_eq!((root.index, root.backend_device, root.memory_size), (1, 2, 2 << 30));
        assert!(root.whole_card && std::ptr::eq(root.groups, MAX_1550.composite_groups));
        assert_eq!(root.subdevices, vec![4, 5]);
        for (index, &sub) in root.subdevices.iter().enumerate() {
            let stack = &devices[sub];
            assert_eq!((stack.index, stack.backend_device, stack.parent), (index as u32, 2 + index, Some(3)));
            assert!(std::ptr::eq(stack.groups, MAX_1550.stack_groups));
        }
        // A card of one stack is a root without subdevices either way.
        let (devices, roots) = arrange(&FLEX_170, &units(2, 1), Hierarchy::Composite);
        assert_eq!((devices.len(), roots.len()), (2, 2));
        assert!(devices.iter().all(|device| device.subdevices.is_empty() && !device.whole_card));
    }

    #[test]
    fn combined_lists_every_stack_as_flat_does_but_reports_each_as_a_subdevice() {
        let (devices, roots) = arrange(&MAX_1550, &units(2, 2), Hierarchy::Combined);
        assert_eq!(roots, vec![0, 1, 2, 3]);
        let reported: Vec<Option<u32>> = devices.iter().map(Device::reported_as_subdevice).collect();
        assert_eq!(reported, vec![Some(0), Some(1), Some(0), Some(1)]);
        assert!(devices.iter().all(|device| device.subdevices.is_empty() && device.parent.is_none()));
        // A card of one stack is a plain root.
        let (devices, _) = arrange(&FLEX_170, &units(2, 1), Hierarchy::Combined);
        assert!(devices.iter().all(|device| device.reported_as_subdevice().is_none()));
    }
}
