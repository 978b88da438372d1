//! The TaskExecutor's managed memory, split into slots: one [`SlotPool`] per slot, each with its
//! own mapping and lock, so slots never contend with each other.
//!
//! Two ways to split, as in Flink: `taskmanager.numberOfTaskSlots` equal slots sharing the managed
//! memory (from the memory model's `TaskExecutorProcessSpec`: `managed`, `num_slots`) (each gets `managed / slots` bytes, Flink's `MemorySize.divide`), or explicit per-slot
//! sizes (fine-grained resource management) whose sum may not exceed the managed memory. A slot
//! can be freed (its pool closes, its leak report is returned, its budget goes back to the
//! TaskExecutor) and allocated again with another size while other slots keep working; a
//! thread still holding the freed slot's pool gets "Memory manager has been shut down." errors,
//! never a dangling mapping.

use std::sync::Arc;

use parking_lot::RwLock;

use super::{ManagedMemoryError, PageSize, SlotPool, UsageReport};
use crate::config::Configuration;
use crate::memory::TaskExecutorProcessSpec;

/// The managed memory of one TaskExecutor, by slot.
#[derive(Debug)]
pub struct ManagedMemorySlots {
    managed: u64,
    page_size: PageSize,
    slots: RwLock<Vec<Option<Arc<SlotPool>>>>,
}

impl ManagedMemorySlots {
    /// `num_slots` equal slots of `managed / num_slots` bytes each.
    pub fn equal(managed: u64, num_slots: usize, page_size: PageSize) -> Result<Self, ManagedMemoryError> {
        if num_slots == 0 {
            return Err(ManagedMemoryError::NoSuchSlot { slot: 0, slots: 0 });
        }
        let each = managed / num_slots as u64;
        Self::fine_grained(managed, &vec![each; num_slots], page_size)
    }

    /// The slots of a TaskExecutor as Flink's memory model derives it: `spec.num_slots`
    /// (`taskmanager.numberOfTaskSlots`) equal slots sharing `spec.managed`, with pages of
    /// `taskmanager.memory.segment-size` from `config`.
    pub fn from_process_spec(
        spec: &TaskExecutorProcessSpec,
        config: &Configuration,
    ) -> Result<Self, ManagedMemoryError> {
        let page_size = PageSize::from_config(config)?;
        let slots = usize::try_from(spec.num_slots).unwrap_or(0);
        Self::equal(spec.managed.bytes(), slots, page_size)
    }

    /// One slot per entry of `sizes` (bytes), which may add up to at most `managed`.
    pub fn fine_grained(managed: u64, sizes: &[u64], page_size: PageSize) -> Result<Self, ManagedMemoryError> {
        let requested = sizes
            .iter()
            .try_fold(0u64, |a, s| a.checked_add(*s))
            .unwrap_or(u64::MAX);
        if requested > managed {
            return Err(ManagedMemoryError::SlotsExceedManaged {
                requested,
                available: managed,
            });
        }
        let mut slots = Vec::with_capacity(sizes.len());
        for (i, size) in sizes.iter().enumerate() {
            slots.push(Some(Arc::new(SlotPool::new(slot_name(i), *size, page_size)?)));
        }
        Ok(ManagedMemorySlots {
            managed,
            page_size,
            slots: RwLock::new(slots),
        })
    }

    /// The TaskExecutor's managed memory in bytes.
    pub fn managed(&self) -> u64 {
        self.managed
    }
    pub fn page_size(&self) -> PageSize {
        self.page_size
    }
    pub fn num_slots(&self) -> usize {
        self.slots.read().len()
    }

    /// Managed memory not given to any slot.
    pub fn unassigned(&self) -> u64 {
        self.managed - self.slots.read().iter().flatten().map(|p| p.size()).sum::<u64>()
    }

    /// The pool of slot `slot`, or `None` when it is free.
    pub fn slot(&self, slot: usize) -> Result<Option<Arc<SlotPool>>, ManagedMemoryError> {
        let slots = self.slots.read();
        let n = slots.len();
        slots
            .get(slot)
            .cloned()
            .ok_or(ManagedMemoryError::NoSuchSlot { slot, slots: n })
    }

    /// Frees slot `slot`: closes its pool and returns the leak report (empty when all memory was
    /// released). Freeing a free slot returns `None`.
    pub fn free_slot(&self, slot: usize) -> Result<Option<UsageReport>, ManagedMemoryError> {
        let pool = {
            let mut slots = self.slots.write();
            let n = slots.len();
            slots
                .get_mut(slot)
                .ok_or(ManagedMemoryError::NoSuchSlot { slot, slots: n })?
                .take()
        };
        Ok(pool.map(|p| p.close()))
    }

    /// Gives the free slot `slot` a new pool of `size` bytes, from the unassigned managed memory.
    pub fn allocate_slot(&self, slot: usize, size: u64) -> Result<Arc<SlotPool>, ManagedMemoryError> {
        let mut slots = self.slots.write();
        let n = slots.len();
        let assigned: u64 = slots.iter().flatten().map(|p| p.size()).sum();
        match slots.get(slot) {
            None => return Err(ManagedMemoryError::NoSuchSlot { slot, slots: n }),
            Some(Some(_)) => return Err(ManagedMemoryError::SlotOccupied { slot }),
            Some(None) => {}
        }
        if assigned.saturating_add(size) > self.managed {
            return Err(ManagedMemoryError::SlotsExceedManaged {
                requested: assigned.saturating_add(size),
                available: self.managed,
            });
        }
        let pool = Arc::new(SlotPool::new(slot_name(slot), size, self.page_size)?);
        slots[slot] = Some(pool.clone());
        Ok(pool)
    }

    /// Closes every slot; returns the leak reports of the slots that still held memory.
    pub fn close(&self) -> Vec<UsageReport> {
        let pools: Vec<_> = self.slots.write().iter_mut().filter_map(Option::take).collect();
        pools.into_iter().map(|p| p.close()).filter(|r| !r.is_empty()).collect()
    }
}

fn slot_name(i: usize) -> String {
    format!("slot {i}")
}
