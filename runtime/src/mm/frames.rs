//! The physical frame allocator: a bump pointer over the usable RAM regions plus a free list
//! threaded through freed frames (identity-mapped, so a freed frame can hold the link).

use spin::Mutex;

use super::layout::PAGE_SIZE;

const MAX_REGIONS: usize = 64;

#[derive(Debug)]
pub struct FrameAllocator {
    regions: [(u64, u64); MAX_REGIONS],
    count: usize,
    current: usize,
    next: u64,
    free_head: u64,
    free_frames: u64,
    total: u64,
}

pub static FRAMES: Mutex<FrameAllocator> = Mutex::new(FrameAllocator {
    regions: [(0, 0); MAX_REGIONS],
    count: 0,
    current: 0,
    next: 0,
    free_head: 0,
    free_frames: 0,
    total: 0,
});

impl FrameAllocator {
    /// Adds `[start, end)`, cut to whole pages and minus every range in `exclude`.
    pub fn add_region(&mut self, start: u64, end: u64, exclude: &[(u64, u64)]) {
        let mut s = start.next_multiple_of(PAGE_SIZE);
        let e = end & !(PAGE_SIZE - 1);
        // Exclusions are few; carve them out by splitting at each one in address order.
        let mut cuts: [(u64, u64); 8] = [(0, 0); 8];
        let n = exclude.len().min(8);
        cuts[..n].copy_from_slice(&exclude[..n]);
        cuts[..n].sort_unstable();
        for &(xs, xe) in &cuts[..n] {
            let xs = xs & !(PAGE_SIZE - 1);
            let xe = xe.next_multiple_of(PAGE_SIZE);
            if xe <= s || xs >= e {
                continue;
            }
            if xs > s {
                self.push(s, xs);
            }
            s = s.max(xe);
        }
        if s < e {
            self.push(s, e);
        }
    }

    fn push(&mut self, start: u64, end: u64) {
        if self.count < MAX_REGIONS && end > start {
            self.regions[self.count] = (start, end);
            self.count += 1;
            self.total += (end - start) / PAGE_SIZE;
            if self.count == 1 {
                self.next = start;
            }
        }
    }

    /// One frame, not zeroed.
    pub fn alloc(&mut self) -> Option<u64> {
        if self.free_head != 0 {
            let frame = self.free_head;
            // SAFETY: frames on the free list are identity-mapped RAM owned by the allocator,
            // whose first word holds the next link.
            self.free_head = unsafe { (frame as *const u64).read() };
            self.free_frames -= 1;
            return Some(frame);
        }
        self.alloc_contiguous(1)
    }

    /// `n` physically contiguous frames from the bump pointer (never from the free list).
    pub fn alloc_contiguous(&mut self, n: u64) -> Option<u64> {
        let size = n * PAGE_SIZE;
        while self.current < self.count {
            let (_, end) = self.regions[self.current];
            if self.next + size <= end {
                let frame = self.next;
                self.next += size;
                return Some(frame);
            }
            self.current += 1;
            if self.current < self.count {
                self.next = self.regions[self.current].0;
            }
        }
        None
    }

    /// Returns a frame to the allocator.
    ///
    /// # Safety
    /// `frame` came from this allocator, is identity-mapped writable, and nothing uses it.
    pub unsafe fn free(&mut self, frame: u64) {
        // SAFETY: the caller gives up the frame; its first word becomes the link.
        unsafe { (frame as *mut u64).write(self.free_head) };
        self.free_head = frame;
        self.free_frames += 1;
    }

    /// Frames never handed out plus frames on the free list.
    pub fn free_count(&self) -> u64 {
        let mut bump = 0;
        if self.current < self.count {
            bump += (self.regions[self.current].1 - self.next) / PAGE_SIZE;
            for &(s, e) in &self.regions[self.current + 1..self.count] {
                bump += (e - s) / PAGE_SIZE;
            }
        }
        bump + self.free_frames
    }

    pub fn total_count(&self) -> u64 {
        self.total
    }
}

/// One zeroed frame.
pub fn alloc_zeroed() -> Option<u64> {
    let frame = FRAMES.lock().alloc()?;
    // SAFETY: the frame is identity-mapped RAM that nobody else owns now.
    unsafe { core::ptr::write_bytes(frame as *mut u8, 0, PAGE_SIZE as usize) };
    Some(frame)
}
