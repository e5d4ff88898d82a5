//! A counting wrapper around the system allocator, to measure the heap a
//! piece of code keeps (the TUI's event buffer) exactly, not through RSS
//! (which the allocator does not give back and other threads disturb).
//!
//! Counting is off until [`set_counting`] turns it on, so the hot paths of the
//! network benchmarks pay one relaxed load per allocation and no shared write.
//! Install it in a binary with
//! `#[global_allocator] static A: orchestrator_bench::alloc::Counting = Counting;`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};

static COUNTING: AtomicBool = AtomicBool::new(false);
static INSTALLED: AtomicBool = AtomicBool::new(false);
static LIVE: AtomicI64 = AtomicI64::new(0);

/// The system allocator, counting live bytes while counting is on.
#[derive(Debug, Default, Clone, Copy)]
pub struct Counting;

// SAFETY: every call is forwarded unchanged to `System`; only counters are added.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            LIVE.fetch_add(layout.size() as i64, Ordering::Relaxed);
        }
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if COUNTING.load(Ordering::Relaxed) {
            LIVE.fetch_sub(layout.size() as i64, Ordering::Relaxed);
        }
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            LIVE.fetch_add(layout.size() as i64, Ordering::Relaxed);
        }
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if COUNTING.load(Ordering::Relaxed) {
            LIVE.fetch_add(new_size as i64 - layout.size() as i64, Ordering::Relaxed);
        }
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// Turns counting on or off. Blocks freed while counting was off and
/// allocated while it was on are not told apart, so measure a section that
/// allocates and frees its own memory, with counting on for all of it.
pub fn set_counting(on: bool) {
    if on {
        // Probe: if this allocation is counted, the counter is installed.
        COUNTING.store(true, Ordering::SeqCst);
        let before = LIVE.load(Ordering::SeqCst);
        let probe = std::hint::black_box(vec![0u8; 64]);
        INSTALLED.store(LIVE.load(Ordering::SeqCst) != before, Ordering::SeqCst);
        drop(probe);
    } else {
        COUNTING.store(false, Ordering::SeqCst);
    }
}

/// Bytes allocated and not freed while counting was on; `None` when the
/// counting allocator is not this program's global allocator.
pub fn live_bytes() -> Option<i64> {
    INSTALLED
        .load(Ordering::SeqCst)
        .then(|| LIVE.load(Ordering::SeqCst))
}
