//! One dma over several queues of a group: one immediate list per queue
//! ("lanes"), requests placed by `placement`, kept in the order one list
//! would give them by `dependencies`, and a barrier over every lane.
//!
//! Lane 0 is the dma's `command_list`, serialised by `aml_dma_ze_data.lock`
//! (custom operators run under it and append to it). Every other lane has
//! its own lock, always taken while holding `aml_dma_ze_data.lock` (never the
//! other way round): a request on lane q takes lane q's lock, then lets go of
//! the dma's lock while it appends. So appends reach each lane in placement
//! (ticket) order, and whatever takes the dma's lock later and then a lane's
//! lock (a barrier, a marker) comes after every append placed before it.
//!
//! A request that must follow outstanding work on other lanes goes whole to
//! one of those lanes and waits for the others through markers: on each
//! other lane, a barrier signalling a fresh event, which the request's copy
//! waits on. A marker's event is reset only once completion is observed on
//! an event signalled after that wait (the request's own, or one taken for
//! the purpose when the request has no handle), so no command can still be
//! waiting on it when it is reused.

use std::ptr;

use crate::abi::aml_dma_request;
use crate::append_lock::AppendGuard;
use crate::pending::{Blocks, Pending, Retired};
use crate::dependencies::{lanes_of, set_of, Access, Dependencies, LaneSet};
use crate::error::{AmlError, ZeError};
use crate::fence::{Fence, FirstList};
use crate::events::{Recycler, RequestBlock, Work};
use crate::footprint::Copy;
use crate::in_order::Mode;
use crate::level_zero::{Appender, Device, ImmediateList, Memory};
use crate::loader::Ze;
use crate::placement::{Direction, Placement};
use crate::split::Part;
use crate::sync::{AtomicU64, Mutex, MutexGuard, Ordering};

/// The first list, where operators run and joins gather.
const FIRST: usize = 0;

/// What of its dma a request over the lanes uses.
pub struct DmaView<'a> {
    pub ze: &'static Ze,
    pub device: Device,
    /// Lane 0: the dma's first list, serialised by the dma's lock.
    pub first: &'a ImmediateList,
    pub recycler: &'a Recycler,
}

/// One list of a dma over several queues.
struct Lane {
    /// `None` for lane 0, the dma's first list (`DmaView::first`).
    list: Option<ImmediateList>,
    /// Serialises appends to `list`; lane 0 uses the dma's lock instead.
    lock: Mutex<()>,
    /// Keeps the list in order (written under `lock`).
    fence: Fence,
}

/// The lanes of a dma over several queues.
pub struct Lanes {
    lanes: Box<[Lane]>,
    placement: Placement,
    /// Only ever locked under the dma's lock, so never contended.
    dependencies: Mutex<Dependencies>,
    /// The last ticket handed out; advanced under the dma's lock.
    tickets: AtomicU64,
}

/// Holds a lane's append lock (nothing for lane 0, whose lock is the
/// dma's), and with it the right to append to the lane's list.
struct LaneGuard<'a> {
    list: Appender<'a>,
    _lock: Option<MutexGuard<'a, ()>>,
}

impl Lanes {
    /// `others` are the lists after the dma's `command_list`, lane 0; copies
    /// of at least `split_bytes` are split (0: never).
    /// `local`: the lane for copies within the device's memory, if any;
    /// `main_copy`: the lane on the main copy engine (see `Placement::new`).
    pub fn new(others: Vec<ImmediateList>, mode: Mode, split_bytes: usize, local: Option<usize>, main_copy: Option<usize>) -> Lanes {
        let lane = |list| Lane { list, lock: Mutex::new(()), fence: Fence::new(mode) };
        let lanes: Box<[Lane]> = std::iter::once(lane(None)).chain(others.into_iter().map(|list| lane(Some(list)))).collect();
        Lanes {
            placement: Placement::new(lanes.len(), split_bytes, local, main_copy),
            lanes,
            dependencies: Mutex::new(Dependencies::default()),
            tickets: AtomicU64::new(0),
        }
    }

    pub fn len(&self) -> usize {
        self.lanes.len()
    }

    /// Takes lane `lane`'s append lock, and with it the right to append to
    /// its list. The caller holds the dma's lock (`dma` is that dma's).
    fn lock<'a>(&'a self, dma: &DmaView<'a>, lane: usize) -> LaneGuard<'a> {
        let (list, lock) = match &self.lanes[lane].list {
            Some(list) => (list, Some(self.lanes[lane].lock.lock())),
            None => (dma.first, None),
        };
        // SAFETY: appends to `list` are serialised while the guard lives: a
        // lane's by its lock, held just above; lane 0's by the dma's, which
        // every entry of `Lanes` that appends is called under and keeps while
        // it appends there.
        LaneGuard { list: unsafe { list.appender() }, _lock: lock }
    }

    /// The next ticket. The caller holds the dma's lock.
    fn next_ticket(&self) -> u64 {
        self.tickets.fetch_add(1, Ordering::Relaxed) + 1
    }

    fn done_through(&self) -> impl Fn(usize) -> u64 + '_ {
        |lane| self.placement.done_through(lane)
    }

    /// Completion of `block` (a request of this dma) was observed.
    #[inline(always)]
    pub fn credit(&self, block: &RequestBlock) {
        if self.lanes.len() == 1 {
            // One list: every request on it records its ticket and no bytes
            // (`one_list`), so its ticket is all there is to credit; on an
            // in-order list nothing reads it, and none was recorded.
            if !self.lanes[FIRST].fence.in_order() {
                self.placement.credit_ticket(FIRST, block.work().ticket);
            }
        } else {
            self.placement.credit(block);
        }
    }

    /// How a request on a dma with one lane is kept in order on its list,
    /// with the next ticket. The caller holds the dma's lock.
    ///
    /// An in-order list keeps its order itself: its requests take no ticket
    /// and credit none (tickets and done-through only decide its fence,
    /// which it never needs), which keeps the fast path's request to the
    /// driver's two calls and little else.
    #[inline(always)]
    pub fn one_list(&self) -> FirstList<'_> {
        let fence = &self.lanes[FIRST].fence;
        if fence.in_order() {
            return FirstList { fence, done_through: 0, ticket: 0, credited: false };
        }
        FirstList { fence, done_through: self.placement.done_through(FIRST), ticket: self.next_ticket(), credited: true }
    }

    /// The mode of its lists (the same for all).
    pub fn mode(&self) -> Mode {
        self.lanes[FIRST].fence.mode()
    }

    /// How an operator's request with `ticket` is kept in order on the
    /// first list (its completion is not credited: an operator records no
    /// placement). The caller holds the dma's lock.
    pub fn first_list(&self, ticket: u64) -> FirstList<'_> {
        FirstList {
            fence: &self.lanes[FIRST].fence,
            done_through: self.placement.done_through(FIRST),
            ticket,
            credited: false,
        }
    }

    /// A barrier on `lane` before the next command there, if its earlier
    /// work is not known complete (`fence`), under the lane's lock (`locked`).
    #[inline(always)]
    fn fence(&self, locked: &LaneGuard, lane: usize) -> Result<(), ZeError> {
        let fence = &self.lanes[lane].fence;
        if !fence.in_order() && fence.needed(self.placement.done_through(lane)) {
            locked.list.barrier(None, &[])?;
            fence.barrier_appended();
        }
        Ok(())
    }

    /// A contiguous copy over the lanes. The caller holds the dma's lock
    /// (`dma_lock`), which this lets go of once the copy's lane is locked.
    #[cold]
    #[inline(never)]
    pub fn create_copy(&self, dma: &DmaView, dma_lock: AppendGuard, want: bool, copy: Copy) -> Result<*mut aml_dma_request, AmlError> {
        let access = copy.access();
        let mut table = self.dependencies.lock();
        if table.is_full(self.done_through()) {
            self.join(dma, &dma_lock, &mut table)?;
        }
        let ticket = self.next_ticket();
        let follow = table.lanes_to_follow(&access, self.done_through());
        if follow == 0 && !self.placement.may_split(copy.size()) {
            // Most requests: small and independent, whole on one lane.
            let lane = self.placement.place_whole(copy.size());
            table.record(access, 1 << lane, ticket);
            drop(table);
            return self.create_whole(dma, dma_lock, want, copy, lane, ticket);
        }
        let plan = if follow == 0 {
            self.placement.place(copy.size(), || direction(dma, &copy))
        } else {
            // Behind the work it follows, never split beside it.
            self.placement.place_among(follow, copy.size())
        };
        let parts = plan.parts();
        let assigned = self.placement.assigned(parts);
        let last = parts.len() - 1;
        let all_lanes = set_of(parts.iter().map(|part| part.lane));
        // A split request with a handle is joined on its last lane.
        let joined = want && last > 0;
        table.record(access, if joined { 1 << parts[last].lane } else { all_lanes }, ticket);
        drop(table);

        // Markers for a request that follows work (one part), or part
        // blocks for a joined split (no work followed). Whatever fails from
        // here goes back by itself: the blocks to the recycler, the bytes
        // to the placement.
        let mut extras = Blocks::new(dma.recycler);
        self.mark(dma, &dma_lock, follow & !(1 << parts[0].lane), ticket, &mut extras)?;
        let markers = extras.len();
        // A request with no handle that waits on markers still gets an event
        // of its own: observing it is what frees the markers.
        let mut owner = if want || markers > 0 { Some(Pending::take(dma.recycler, dma.ze, &dma_lock)?) } else { None };
        let owner_event = owner.as_ref().map(|block| {
            block.fresh_request();
            block.event()
        });
        if joined {
            for _ in 0..last {
                extras.push(Pending::take(dma.recycler, dma.ze, &dma_lock)?);
            }
        }

        let mut dma_lock = Some(dma_lock);
        let mut outcome = Ok(());
        for (index, part) in parts.iter().enumerate() {
            let lane_guard = self.lock(dma, part.lane);
            if parts.len() == 1 && part.lane != FIRST {
                // A whole copy on another lane: the lane's lock is enough from here.
                dma_lock = None;
            }
            let (signal, wait): (_, &[_]) = match index {
                _ if index < last => (if joined { extras.event(index) } else { None }, &[]),
                0 => (owner_event, extras.wait_list()),
                _ => (None, &[]),
            };
            if let Err(error) = self.fence(&lane_guard, part.lane) {
                outcome = Err(error);
                break;
            }
            // The markers' events were appended before.
            outcome = lane_guard.list.copy(&copy.part(part.offset, part.len), signal, wait);
            if outcome.is_err() {
                break;
            }
            self.lanes[part.lane].fence.appended(ticket);
            if index < last {
                if joined {
                    extras.submitted_through(index + 1);
                }
            } else if joined {
                // The last lane signals the request once every part is done.
                outcome = lane_guard.list.barrier(owner_event, &extras.wait_list()[..last]);
                if outcome.is_ok() {
                    self.lanes[part.lane].fence.barrier_appended();
                }
            } else if let Some(owner) = &mut owner {
                owner.submitted();
            }
        }
        if outcome.is_err() && joined && extras.any_submitted() {
            // Parts ran without the join that let the table place the
            // request on its last lane alone: later work follows them all.
            self.dependencies.lock().record(access, all_lanes, ticket);
        }
        drop(dma_lock);
        // Failed: the owner's event is signalled only by the last append, which failed.
        outcome?;
        assigned.keep();
        let Some(owner) = owner else {
            return Ok(ptr::null_mut());
        };
        owner.set_work(self.placement.work(&parts[last], ticket));
        if joined {
            for (block, part) in extras.iter().zip(parts) {
                block.set_work(self.placement.work(part, ticket));
            }
        }
        extras.attach_to(&owner);
        let owner = owner.commit();
        if !want {
            dma.recycler.retire(owner);
            return Ok(ptr::null_mut());
        }
        Ok(dma.recycler.hand_out(owner))
    }

    /// A copy placed whole on `lane`, following nothing outstanding (the
    /// table has it already). The caller holds the dma's lock (`dma_lock`),
    /// which this lets go of once the lane is locked.
    fn create_whole(&self, dma: &DmaView, dma_lock: AppendGuard, want: bool, copy: Copy, lane: usize, ticket: u64)
        -> Result<*mut aml_dma_request, AmlError> {
        let part = Part { lane, offset: 0, len: copy.size() };
        let assigned = self.placement.assigned(std::slice::from_ref(&part));
        let owner = if want { Some(Pending::take(dma.recycler, dma.ze, &dma_lock)?) } else { None };
        let event = owner.as_ref().map(|block| {
            block.fresh_request();
            block.event()
        });
        {
            let lane_guard = self.lock(dma, lane);
            if lane != FIRST {
                drop(dma_lock);
            }
            // Failed: the owner goes back unsubmitted, the bytes unassigned.
            self.fence(&lane_guard, lane).and_then(|()| lane_guard.list.copy(&copy, event, &[]))?;
            // Under the lane's lock: the next request there must see this
            // copy in the fence, or it goes without the barrier it needs.
            self.lanes[lane].fence.appended(ticket);
        }
        assigned.keep();
        let Some(owner) = owner else {
            return Ok(ptr::null_mut());
        };
        let owner = owner.commit();
        owner.set_work(self.placement.work(&part, ticket));
        Ok(dma.recycler.hand_out(owner))
    }

    /// Before an operator runs on the first list (the dma's lock held): the
    /// first list waits for the outstanding work it must follow on other
    /// lanes. `access` is what the operator touches; `None` (unknown) follows
    /// everything, and everything later follows it.
    pub fn before_first_list(&self, dma: &DmaView, dma_lock: &AppendGuard, access: Option<Access>) -> Result<u64, AmlError> {
        let mut table = self.dependencies.lock();
        let follow = match &access {
            None => table.live_lanes(self.done_through()),
            Some(access) => {
                if table.is_full(self.done_through()) {
                    self.join(dma, dma_lock, &mut table)?;
                }
                table.lanes_to_follow(access, self.done_through())
            }
        };
        self.gather_on_first(dma, dma_lock, follow)?;
        let ticket = self.next_ticket();
        match access {
            None => table.collapse(1 << FIRST, ticket),
            Some(access) => table.record(access, 1 << FIRST, ticket),
        }
        Ok(ticket)
    }

    /// The table is full: the first list waits for every other lane with
    /// outstanding work, and one entry touching everything stands for them all.
    #[cold]
    fn join(&self, dma: &DmaView, dma_lock: &AppendGuard, table: &mut Dependencies) -> Result<(), AmlError> {
        self.gather_on_first(dma, dma_lock, table.live_lanes(self.done_through()))?;
        table.collapse(1 << FIRST, self.next_ticket());
        Ok(())
    }

    /// Makes the first list wait for everything appended so far on `lanes`
    /// (the first lane itself needs nothing: it is in order): markers there,
    /// then a barrier on the first list waiting for them, whose event, once
    /// observed, frees them.
    #[inline]
    fn gather_on_first(&self, dma: &DmaView, dma_lock: &AppendGuard, lanes: LaneSet) -> Result<(), AmlError> {
        let others = lanes & !(1 << FIRST);
        if others == 0 {
            return Ok(());
        }
        self.gather_others(dma, dma_lock, others)
    }

    #[cold]
    fn gather_others(&self, dma: &DmaView, dma_lock: &AppendGuard, others: LaneSet) -> Result<(), AmlError> {
        let mut markers = Blocks::new(dma.recycler);
        self.mark(dma, dma_lock, others, 0, &mut markers)?;
        let mut gathered = Pending::take(dma.recycler, dma.ze, dma_lock)?;
        dma_lock.first_list().barrier(Some(gathered.event()), markers.wait_list())?;
        gathered.submitted();
        self.lanes[FIRST].fence.barrier_appended();
        markers.attach_to(&gathered);
        dma.recycler.retire(gathered.commit());
        Ok(())
    }

    /// A marker on each lane of `lanes`: a barrier signalling a fresh event
    /// once everything appended there so far is done. The caller holds the
    /// dma's lock, so that is everything placed there before.
    fn mark<'r>(&self, dma: &DmaView<'r>, dma_lock: &AppendGuard, lanes: LaneSet, ticket: u64, markers: &mut Blocks<'r>) -> Result<(), AmlError> {
        for lane in lanes_of(lanes) {
            let mut block = Pending::take(dma.recycler, dma.ze, dma_lock)?;
            {
                let lane_guard = self.lock(dma, lane);
                lane_guard.list.barrier(Some(block.event()), &[])?;
                self.lanes[lane].fence.barrier_appended();
            }
            block.submitted();
            // Observed with its owner, it proves the lane done up to here.
            block.set_work(Work { lane: lane as u32, ticket, ..Work::default() });
            markers.push(block);
        }
        Ok(())
    }

    /// `barrier` over every lane: a barrier on every other lane signals a
    /// part event, and the first list's barrier waits for them all before it
    /// signals the one event the host waits for. The caller holds the dma's
    /// lock (`dma_lock`).
    pub fn barrier(&self, dma: &DmaView, dma_lock: AppendGuard) -> Result<(), AmlError> {
        let (ze, recycler) = (dma.ze, dma.recycler);
        let others = self.lanes.len() - 1;
        let mut main = Pending::take(recycler, ze, &dma_lock)?;
        let mut parts = Blocks::new(recycler);
        for _ in 0..others {
            parts.push(Pending::take(recycler, ze, &dma_lock)?);
        }
        // From here a failure puts every block back by itself: the retired
        // ones still retired, the parts appended retired, the others free.
        let retired = Retired::take(recycler, ze);
        let mark = self.placement.barrier_appended(self.next_ticket());
        for index in 0..others {
            let lane = index + 1;
            let lane_guard = self.lock(dma, lane);
            lane_guard.list.barrier(parts.event(index), &[])?;
            self.lanes[lane].fence.barrier_appended();
            parts.submitted_through(index + 1);
        }
        dma_lock.first_list().barrier(Some(main.event()), parts.wait_list())?;
        main.submitted();
        self.lanes[FIRST].fence.barrier_appended();
        drop(dma_lock);
        parts.attach_to(&main);
        main.event().host_synchronize(ze)?;
        self.placement.barrier_completed(&mark);
        retired.completed();
        recycler.give_back(ze, main.commit())?;
        Ok(())
    }

    /// The `fprintf` lines naming every list of the dma, `first` its first.
    pub fn lists_line(&self, prefix: &str, first: &ImmediateList) -> String {
        let lists: Vec<String> =
            self.lanes.iter().map(|lane| format!("{:p}", lane.list.as_ref().unwrap_or(first).as_raw())).collect();
        format!(
            "{prefix}dma-ze: command_lists: {} ({})\n{prefix}dma-ze: split_bytes: {}\n",
            self.len(),
            lists.join(" "),
            self.placement.split_bytes()
        )
    }
}

/// Which way a copy goes, from the driver's view of its two buffers; a
/// failed lookup (a placement hint, never a correctness matter) is `Other`.
fn direction(dma: &DmaView, copy: &Copy) -> Direction {
    // Some(Some(device)) for device memory, Some(None) for host memory.
    let on_device = |address: *const u8| -> Option<Option<Device>> {
        match dma.first.context().memory_at(address.cast()).ok()? {
            Memory::Device(Some(device)) => Some(Some(device)),
            Memory::Host | Memory::Unknown => Some(None),
            Memory::Device(None) | Memory::Other => None,
        }
    };
    match (on_device(copy.dst()), on_device(copy.src())) {
        (Some(None), Some(Some(_))) => Direction::FromDevice,
        (Some(Some(_)), Some(None)) => Direction::ToDevice,
        (Some(Some(to)), Some(Some(from))) if to == dma.device && from == dma.device => Direction::DeviceLocal,
        _ => Direction::Other,
    }
}
