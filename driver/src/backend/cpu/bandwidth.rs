//! The cpu backend's bandwidth model: what a copy may use of each part of
//! the machine it crosses.
//!
//! Every part is a time line (`Timeline`) with a rate: a copy engine (one
//! per queue: device, ordinal, index, shared by every list on that queue),
//! and, under the model (`SWZE_BANDWIDTH_MODEL=1`), the host link of each
//! card (one way to the device, one way from it, and both ways at once,
//! shared by every engine and stack behind it), the host (the same three,
//! shared by every card), and the path between two stacks of a card (each
//! way, and both at once). A copy moves in chunks; each chunk reserves its
//! bytes on every part of its path (`len / rate` of each time line, starting
//! when the part's previous reservation ends) and is done when the last of
//! those slots ends. Copies sharing a part thus share its rate, each part
//! moves at most its rate plus `SLACK` of work made up after a short pause,
//! and a copy runs at the rate of the slowest part it crosses. Without the
//! model only the engine's own cap applies (`SWZE_COPY_BANDWIDTH`).
//!
//! Where memory lives comes from the backend's allocations: device memory
//! is its stack's; host, shared and `malloc` memory the host's.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use super::settings;
use crate::backend::model::Figures;
use crate::backend::policy::Memory;

const SLACK: Duration = Duration::from_millis(2);

/// The time line of one part: when its last reservation ends.
#[derive(Default)]
pub struct Timeline {
    busy_until: Mutex<Option<Instant>>,
}

impl Timeline {
    /// Reserves the part for `bytes` at `rate` bytes/s: returns the end of
    /// the slot, which starts when the previous one ends or now.
    fn reserve(&self, bytes: usize, rate: f64) -> Instant {
        let length = Duration::from_secs_f64(bytes as f64 / rate);
        let now = Instant::now();
        let mut busy_until = self.busy_until.lock();
        // A slot may start up to SLACK in the past: the sleep that waited for
        // the previous slot overshoots, and that lost time is made up; a part
        // idle for longer starts afresh and banks nothing.
        let start = match *busy_until {
            Some(end) if end + SLACK > now => end,
            _ => now,
        };
        let end = start + length;
        *busy_until = Some(end);
        end
    }
}

/// The three time lines of a full-duplex path with a cap on both ways together.
#[derive(Default)]
struct Duplex {
    to_device: Timeline,
    from_device: Timeline,
    both: Timeline,
}

/// Which part of the machine a time line stands for, with its rate.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Part {
    LinkToDevice(usize),
    LinkFromDevice(usize),
    LinkBoth(usize),
    HostToDevice,
    HostFromDevice,
    HostBoth,
    /// From one stack to another of the same card (units).
    StackToStack(usize, usize),
    StackBoth(usize),
    /// Within one stack's memory, for a copy kernel.
    StackMemory(usize),
}

/// The parts a copy crosses besides its engine (at most six).
struct Path {
    parts: [Option<Part>; 6],
}

impl Path {
    /// A copy kernel's path within one stack's memory.
    fn within(unit: usize) -> Path {
        let mut parts = [None; 6];
        parts[0] = Some(Part::StackMemory(unit));
        Path { parts }
    }
}

/// Every shared part of the machine, and where memory lives.
pub struct Fabric {
    /// The card of each unit.
    cards: Vec<usize>,
    figures: &'static Figures,
    links: Vec<Duplex>,
    host: Duplex,
    /// Per card, per ordered pair of its units (by unit index).
    stack_paths: Mutex<HashMap<(usize, usize), Arc<Timeline>>>,
    stack_both: Vec<Timeline>,
    /// Per unit: its memory, as copy kernels within it use it.
    stack_memory: Vec<Timeline>,
    engines: Mutex<HashMap<(usize, u32, u32), Arc<CopyEngine>>>,
    /// Device allocations: base -> (end, unit).
    device_memory: Mutex<BTreeMap<usize, (usize, usize)>>,
    /// Host memory the driver knows (USM host and shared allocations,
    /// imported host pointers): base -> end. Any other host address is
    /// `malloc`'d (pageable) memory.
    pinned_host: Mutex<BTreeMap<usize, usize>>,
}

impl Fabric {
    /// The parts of a machine whose units belong to `cards` (a card per unit).
    pub fn new(cards: Vec<usize>, figures: &'static Figures) -> Arc<Fabric> {
        let card_count = cards.iter().max().map_or(0, |&card| card + 1);
        let units = cards.len();
        Arc::new(Fabric {
            cards,
            figures,
            links: (0..card_count).map(|_| Duplex::default()).collect(),
            host: Duplex::default(),
            stack_paths: Mutex::new(HashMap::new()),
            stack_both: (0..card_count).map(|_| Timeline::default()).collect(),
            stack_memory: (0..units).map(|_| Timeline::default()).collect(),
            engines: Mutex::new(HashMap::new()),
            device_memory: Mutex::new(BTreeMap::new()),
            pinned_host: Mutex::new(BTreeMap::new()),
        })
    }

    /// The engine of queue `index` of group `ordinal` of `unit`: the same one
    /// for every list created on that queue, for the life of the backend.
    pub fn engine(self: &Arc<Self>, unit: usize, ordinal: u32, index: u32) -> Arc<CopyEngine> {
        let mut engines = self.engines.lock();
        let engine = engines.entry((unit, ordinal, index)).or_insert_with(|| {
            Arc::new(CopyEngine { timeline: Timeline::default(), fabric: Arc::clone(self), bytes: AtomicU64::new(0) })
        });
        Arc::clone(engine)
    }

    /// Device memory `[base, base + size)` of `unit` was allocated.
    pub fn device_allocated(&self, base: usize, size: usize, unit: usize) {
        self.device_memory.lock().insert(base, (base + size, unit));
    }

    pub fn device_freed(&self, base: usize) {
        self.device_memory.lock().remove(&base);
    }

    /// Host memory `[base, base + size)` is known to the driver from now on:
    /// a USM host or shared allocation, or an imported host pointer.
    pub fn host_pinned(&self, base: usize, size: usize) {
        self.pinned_host.lock().insert(base, base + size);
    }

    /// The range that started at `base` is no longer known to the driver.
    pub fn host_unpinned(&self, base: usize) {
        self.pinned_host.lock().remove(&base);
    }

    /// Where `address` lives: a unit's device memory, host memory the driver
    /// knows, or `malloc`'d memory.
    pub fn memory(&self, address: usize) -> Memory {
        if let Some((_, &(end, unit))) = self.device_memory.lock().range(..=address).next_back() {
            if address < end {
                return Memory::Device(unit);
            }
        }
        match self.pinned_host.lock().range(..=address).next_back() {
            Some((_, &end)) if address < end => Memory::Host,
            _ => Memory::Malloc,
        }
    }

    /// Bytes the engine of queue (`ordinal`, `index`) of `unit` has copied.
    pub fn engine_bytes(&self, unit: usize, ordinal: u32, index: u32) -> u64 {
        self.engines.lock().get(&(unit, ordinal, index)).map_or(0, |engine| engine.bytes.load(Ordering::Relaxed))
    }

    /// What a copy from `source` to `destination` crosses besides its engine.
    fn path(&self, destination: usize, source: usize) -> Path {
        let mut parts = [None; 6];
        let mut fill = |list: &[Part]| {
            for (slot, part) in parts.iter_mut().zip(list) {
                *slot = Some(*part);
            }
        };
        match (self.memory(source), self.memory(destination)) {
            (Memory::Host | Memory::Malloc, Memory::Device(unit)) => {
                let card = self.cards[unit];
                fill(&[Part::LinkToDevice(card), Part::LinkBoth(card), Part::HostToDevice, Part::HostBoth]);
            }
            (Memory::Device(unit), Memory::Host | Memory::Malloc) => {
                let card = self.cards[unit];
                fill(&[Part::LinkFromDevice(card), Part::LinkBoth(card), Part::HostFromDevice, Part::HostBoth]);
            }
            (Memory::Device(from), Memory::Device(to)) if from != to && self.cards[from] == self.cards[to] => {
                fill(&[Part::StackToStack(from, to), Part::StackBoth(self.cards[from])]);
            }
            // Within a stack, between cards (not modelled) and host to host:
            // the engine's rate alone.
            _ => {}
        }
        Path { parts }
    }

    /// The rate of `part` now, bytes per second.
    fn rate(&self, part: Part) -> f64 {
        let f = self.figures;
        let gigabytes = match part {
            Part::LinkToDevice(_) => f.link_to_device,
            Part::LinkFromDevice(_) => f.link_from_device,
            Part::LinkBoth(_) => f.link_both,
            Part::HostToDevice => f.host_to_device,
            Part::HostFromDevice => f.host_from_device,
            Part::HostBoth => f.host_both,
            Part::StackToStack(..) => f.stack_to_stack,
            Part::StackBoth(_) => f.stack_to_stack_both,
            Part::StackMemory(_) => f.stack_memory_copy,
        };
        gigabytes * 1e9 / settings::bandwidth_scale()
    }

    fn reserve(&self, part: Part, bytes: usize) -> Instant {
        let rate = self.rate(part);
        match part {
            Part::LinkToDevice(card) => self.links[card].to_device.reserve(bytes, rate),
            Part::LinkFromDevice(card) => self.links[card].from_device.reserve(bytes, rate),
            Part::LinkBoth(card) => self.links[card].both.reserve(bytes, rate),
            Part::HostToDevice => self.host.to_device.reserve(bytes, rate),
            Part::HostFromDevice => self.host.from_device.reserve(bytes, rate),
            Part::HostBoth => self.host.both.reserve(bytes, rate),
            Part::StackToStack(from, to) => {
                let timeline = Arc::clone(self.stack_paths.lock().entry((from, to)).or_default());
                timeline.reserve(bytes, rate)
            }
            Part::StackBoth(card) => self.stack_both[card].reserve(bytes, rate),
            Part::StackMemory(unit) => self.stack_memory[unit].reserve(bytes, rate),
        }
    }

    /// What pinning `size` bytes of `malloc`'d memory for one copy costs the
    /// appending thread under the model.
    pub fn host_pointer_cost(&self, size: usize) -> Duration {
        let f = self.figures;
        let scale = settings::bandwidth_scale();
        Duration::from_secs_f64((f.host_pointer_fixed_us * 1e-6 + size as f64 / (f.host_pointer_pin * 1e9)) * scale)
    }

    /// The rate of one engine, bytes per second; 0: no cap at all.
    fn engine_rate(&self) -> f64 {
        match settings::copy_bandwidth() {
            0 if settings::bandwidth_model() => self.figures.engine * 1e9 / settings::bandwidth_scale(),
            cap => cap as f64,
        }
    }
}

/// One copy engine: its own time line, and the fabric its copies cross.
pub struct CopyEngine {
    timeline: Timeline,
    fabric: Arc<Fabric>,
    /// Bytes it has copied, for the control API.
    bytes: AtomicU64,
}

/// How a transfer is paced besides the parts of its path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pace {
    /// At the engine's rate (a copy engine).
    Engine,
    /// By its path alone (a copy kernel over a link).
    Path,
    /// Within one stack's memory at its rate (a copy kernel).
    StackMemory(usize),
    /// By the CPU through device memory mapped on the host: no engine, no
    /// cap; under the model it crosses its path (the link) like any copy.
    Cpu,
}

impl CopyEngine {
    /// A copy of one command: its path is looked up once, at its first
    /// piece (a region copy moves row by row).
    pub fn transfer(&self) -> Transfer<'_> {
        self.paced(Pace::Engine)
    }

    pub fn paced(&self, pace: Pace) -> Transfer<'_> {
        Transfer { engine: self, path: None, pace }
    }

    pub fn fabric(&self) -> &Arc<Fabric> {
        &self.fabric
    }

    /// Copies with one memcpy, or, under a cap or the model, in chunks that
    /// each wait for their slots on every part of their path.
    ///
    /// # Safety
    /// `source` valid for `size` reads, `destination` for `size` writes, disjoint.
    pub unsafe fn copy(&self, destination: *mut u8, source: *const u8, size: usize) {
        // SAFETY: forwarded contract.
        unsafe { self.transfer().copy(destination, source, size) }
    }
}

/// The pieces of one command's copy.
pub struct Transfer<'a> {
    engine: &'a CopyEngine,
    path: Option<Path>,
    pace: Pace,
}

impl Transfer<'_> {
    /// # Safety
    /// As `CopyEngine::copy`.
    pub unsafe fn copy(&mut self, destination: *mut u8, source: *const u8, size: usize) {
        let fabric = &*self.engine.fabric;
        if self.pace != Pace::Cpu {
            self.engine.bytes.fetch_add(size as u64, Ordering::Relaxed);
        }
        let modelled = settings::bandwidth_model();
        let engine_rate = match self.pace {
            Pace::Engine => fabric.engine_rate(),
            // A kernel is held to its path (or its stack's memory) under the
            // model; without it, to the engine cap like any copy.
            Pace::Path | Pace::StackMemory(_) if modelled => 0.0,
            Pace::Path | Pace::StackMemory(_) => fabric.engine_rate(),
            Pace::Cpu => 0.0,
        };
        if engine_rate == 0.0 && !modelled {
            // SAFETY: forwarded contract.
            unsafe { std::ptr::copy_nonoverlapping(source, destination, size) };
            return;
        }
        let pace = self.pace;
        let path = match (&self.path, modelled) {
            (_, false) => None,
            (Some(path), true) => Some(path),
            (None, true) => Some(&*self.path.insert(match pace {
                Pace::StackMemory(unit) => Path::within(unit),
                _ => fabric.path(destination as usize, source as usize),
            })),
        };
        // About two milliseconds of the engine's transfer per chunk: smooth,
        // yet few wake-ups when many engines run at once.
        let chunk = if engine_rate > 0.0 { (engine_rate / 500.0).max(4096.0) as usize } else { 1 << 20 };
        let mut done = 0;
        while done < size {
            let length = chunk.min(size - done);
            let mut due = if engine_rate > 0.0 { self.engine.timeline.reserve(length, engine_rate) } else { Instant::now() };
            for part in path.iter().flat_map(|path| path.parts.iter().flatten()) {
                due = due.max(fabric.reserve(*part, length));
            }
            // SAFETY: done + length <= size, within the caller's ranges.
            unsafe { std::ptr::copy_nonoverlapping(source.add(done), destination.add(done), length) };
            done += length;
            let now = Instant::now();
            if due > now {
                thread::sleep(due - now);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::model::MAX_1550_FIGURES;

    #[test]
    fn slots_of_one_part_follow_each_other_and_engines_are_per_queue() {
        let timeline = Timeline::default();
        let first = timeline.reserve(1000, 1e6); // 1 ms
        let second = timeline.reserve(1000, 1e6);
        assert!(second >= first + Duration::from_micros(999), "the second slot starts when the first ends");
        let fabric = Fabric::new(vec![0, 0, 1, 1], &MAX_1550_FIGURES);
        assert!(Arc::ptr_eq(&fabric.engine(0, 1, 2), &fabric.engine(0, 1, 2)));
        assert!(!Arc::ptr_eq(&fabric.engine(0, 1, 2), &fabric.engine(0, 1, 3)));
        assert!(!Arc::ptr_eq(&fabric.engine(0, 1, 2), &fabric.engine(1, 1, 2)));
    }

    fn parts(path: Path) -> Vec<Part> {
        path.parts.iter().flatten().copied().collect()
    }

    #[test]
    fn a_copy_crosses_the_link_of_the_card_its_device_memory_is_on() {
        // Two cards of two stacks: units 0, 1 on card 0, units 2, 3 on card 1.
        let fabric = Fabric::new(vec![0, 0, 1, 1], &MAX_1550_FIGURES);
        fabric.device_allocated(0x10000, 0x1000, 1);
        fabric.device_allocated(0x20000, 0x1000, 0);
        fabric.device_allocated(0x30000, 0x1000, 3);
        let (host, on_stack_1, on_stack_0, on_card_1) = (0x5000, 0x10800, 0x20000, 0x30fff);
        assert_eq!(
            parts(fabric.path(on_stack_1, host)),
            vec![Part::LinkToDevice(0), Part::LinkBoth(0), Part::HostToDevice, Part::HostBoth]
        );
        assert_eq!(
            parts(fabric.path(host, on_card_1)),
            vec![Part::LinkFromDevice(1), Part::LinkBoth(1), Part::HostFromDevice, Part::HostBoth]
        );
        assert_eq!(parts(fabric.path(on_stack_1, on_stack_0)), vec![Part::StackToStack(0, 1), Part::StackBoth(0)]);
        assert_eq!(parts(fabric.path(on_stack_0, on_stack_0 + 16)), vec![], "within a stack: the engine alone");
        assert_eq!(parts(fabric.path(on_card_1, on_stack_0)), vec![], "between cards: not modelled");
        // The end of an allocation is not in it; a freed one is host memory again.
        assert_eq!(fabric.memory(0x11000), Memory::Malloc);
        fabric.device_freed(0x10000);
        assert_eq!(fabric.memory(on_stack_1), Memory::Malloc);
        // Host memory the driver knows is told from malloc'd memory.
        fabric.host_pinned(0x40000, 0x1000);
        assert_eq!(fabric.memory(0x40fff), Memory::Host);
        assert_eq!(fabric.memory(0x41000), Memory::Malloc);
        fabric.host_unpinned(0x40000);
        assert_eq!(fabric.memory(0x40000), Memory::Malloc);
    }
}
