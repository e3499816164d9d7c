//! Futexes: the waiters per address, woken by FUTEX_WAKE from another thread. A waiter
//! waits through [`super::block_until`] on its own `woken` flag, so a wake can never be lost.
#![forbid(unsafe_code)]

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, Ordering};
use spin::Mutex;

#[derive(Debug)]
struct Waiter {
    addr: u64,
    bitset: u32,
    woken: Arc<AtomicBool>,
}

static WAITERS: Mutex<Vec<Waiter>> = Mutex::new(Vec::new());

/// Registers a waiter on `addr`; the flag turns true when it is woken.
pub fn enqueue(addr: u64, bitset: u32) -> Arc<AtomicBool> {
    let woken = Arc::new(AtomicBool::new(false));
    WAITERS.lock().push(Waiter {
        addr,
        bitset,
        woken: woken.clone(),
    });
    woken
}

/// Removes a waiter that gave up (timeout); true if it had been woken meanwhile.
pub fn dequeue(flag: &Arc<AtomicBool>) -> bool {
    WAITERS.lock().retain(|w| !Arc::ptr_eq(&w.woken, flag));
    flag.load(Ordering::Acquire)
}

/// Wakes up to `n` waiters on `addr` whose bitset intersects `bitset`; returns how many.
pub fn wake(addr: u64, n: u32, bitset: u32) -> u32 {
    let mut list = WAITERS.lock();
    let mut woken = 0;
    list.retain(|w| {
        if woken < n && w.addr == addr && w.bitset & bitset != 0 {
            w.woken.store(true, Ordering::Release);
            woken += 1;
            false
        } else {
            true
        }
    });
    woken
}

/// FUTEX_REQUEUE: wakes up to `n` waiters on `from`, moves up to `m` more to `to`; returns
/// how many were woken plus moved (what FUTEX_CMP_REQUEUE returns).
pub fn requeue(from: u64, n: u32, to: u64, m: u32) -> u32 {
    let woken = wake(from, n, u32::MAX);
    let mut moved = 0;
    for w in WAITERS.lock().iter_mut() {
        if moved < m && w.addr == from {
            w.addr = to;
            moved += 1;
        }
    }
    woken + moved
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wake_respects_count_address_and_bitset() {
        let a = enqueue(0x1000, u32::MAX);
        let b = enqueue(0x1000, 0b01);
        let c = enqueue(0x2000, u32::MAX);
        assert_eq!(wake(0x1000, 1, u32::MAX), 1);
        assert!(a.load(Ordering::Acquire) && !b.load(Ordering::Acquire));
        assert_eq!(wake(0x1000, 5, 0b10), 0, "bitset does not intersect");
        assert_eq!(wake(0x1000, 5, 0b01), 1);
        assert!(b.load(Ordering::Acquire));
        assert!(!dequeue(&c));
        assert_eq!(wake(0x2000, 1, u32::MAX), 0, "dequeued waiters are gone");
    }

    #[test]
    fn requeue_moves_the_rest() {
        let w: Vec<_> = (0..4).map(|_| enqueue(0x3000, u32::MAX)).collect();
        assert_eq!(requeue(0x3000, 1, 0x4000, 2), 3);
        assert_eq!(wake(0x3000, 10, u32::MAX), 1);
        assert_eq!(wake(0x4000, 10, u32::MAX), 2);
        assert!(w.iter().all(|f| f.load(Ordering::Acquire)));
    }
}
