//! The e1000 receive ring over descriptors a hostile device wrote: whatever it reports, the
//! ring hands up only frames that fit their buffer, never examines the descriptor held back
//! from the device, and gives descriptors back in order. Must never panic.
#![no_main]

use kiln_runtime::drivers::e1000::ring::{Desc, RxEvent, RxRing, MIN_FRAME};
use libfuzzer_sys::fuzz_target;

const SIZE: usize = 16;
const BUF: usize = 2048;

fuzz_target!(|data: &[u8]| {
    let mut ring = RxRing::new(SIZE, BUF).expect("a valid size");
    let mut mem = [Desc::default(); SIZE];
    ring.init(&mut mem[..], |i| (i * BUF) as u64);
    let mut tail = SIZE - 1;
    // Each 8 bytes: a write-back word for the next descriptor the device owns, then a step
    // of the driver (examine everything, give back every other time).
    let mut head = 0;
    for (step, chunk) in data.chunks(8).enumerate() {
        let mut w = [0u8; 8];
        w[..chunk.len()].copy_from_slice(chunk);
        if head != tail {
            mem[head].word = u64::from_le_bytes(w);
            head = (head + 1) % SIZE;
        }
        while let Some(ev) = ring.poll(&mem[..]) {
            if let RxEvent::Frame { index, len } = ev {
                assert!(index < SIZE && index != tail);
                assert!((MIN_FRAME..=BUF).contains(&len));
            }
        }
        if step % 2 == 0 {
            while let Some(i) = ring.oldest_examined() {
                tail = ring
                    .give_back(&mut mem[..], i, (i * BUF) as u64)
                    .expect("in order") as usize;
            }
        }
    }
});
