//! The runtime's random numbers: one ChaCha20 CSPRNG (`rand_chacha`) behind `getrandom`,
//! `/dev/urandom` and AT_RANDOM (hence the stack canary) and the address-space layout,
//! seeded and reseeded from pluggable hardware seed sources.
//!
//! A [`SeedSource`] is anything that can deliver fresh entropy on request: the CPU's
//! RDSEED/RDRAND (`arch::cpu::CpuRandom`) and virtio-rng devices (`drivers::virtio::rng`),
//! given to [`Pool::new`] at boot; a source found later registers with [`Pool::add_source`]
//! and is mixed in at once and at every reseed.
//!
//! Policy:
//! - the generator is keyed with 32 bytes; mixing fresh seed material replaces the key by
//!   `ChaCha20(old key) XOR seed`, so one good source is enough and a bad one cannot undo it;
//! - every [`Pool::fill`] ends by rekeying from the generator's own output ("fast key
//!   erasure"), so a later leak of the state does not reveal bytes already handed out;
//! - after [`RESEED_BYTES`] of output the pool asks every source again;
//! - with no source that delivers, the pool runs on the fallback seed the caller provides (a
//!   TSC-derived one at boot) and reports [`Strength::Weak`]; the boot warns loudly about it,
//!   and `kiln.entropy=strict` refuses to start.
#![forbid(unsafe_code)]

use alloc::boxed::Box;
use alloc::vec::Vec;
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use spin::Mutex;

/// Bytes of key the generator takes and every source delivers per request.
pub const SEED_LEN: usize = 32;

/// Output after which every source is asked for fresh entropy again.
pub const RESEED_BYTES: u64 = 1 << 20;

/// A device that delivers fresh entropy on request.
pub trait SeedSource: Send {
    /// A short name for log lines (`rdseed/rdrand`, `virtio-rng`).
    fn name(&self) -> &'static str;
    /// Fills `seed` with fresh entropy; false if the device has none to give right now (the
    /// pool then keeps its current key).
    fn fill_seed(&mut self, seed: &mut [u8; SEED_LEN]) -> bool;
}

/// Whether the pool has ever been seeded by a real source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strength {
    /// At least one source delivered: the output is unpredictable.
    Hardware,
    /// Only the caller's fallback seed: predictable by anyone who can guess it.
    Weak,
}

/// The CSPRNG and its seed sources.
pub struct Pool {
    rng: ChaCha20Rng,
    sources: Vec<Box<dyn SeedSource>>,
    since_reseed: u64,
    strength: Strength,
    reseeds: u64,
}

impl core::fmt::Debug for Pool {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // Never print the key.
        f.debug_struct("Pool")
            .field(
                "sources",
                &self.sources.iter().map(|s| s.name()).collect::<Vec<_>>(),
            )
            .field("since_reseed", &self.since_reseed)
            .field("strength", &self.strength)
            .field("reseeds", &self.reseeds)
            .finish()
    }
}

impl Pool {
    /// A pool keyed with `fallback`, then mixed with a seed from each of `sources`.
    pub fn new(fallback: [u8; SEED_LEN], sources: Vec<Box<dyn SeedSource>>) -> Pool {
        let mut pool = Pool {
            rng: ChaCha20Rng::from_seed(fallback),
            sources,
            since_reseed: 0,
            strength: Strength::Weak,
            reseeds: 0,
        };
        pool.reseed();
        pool
    }

    /// Adds a seed source (e.g. a virtio-rng device found after boot) and mixes in a seed
    /// from it at once. Returns the pool's strength afterwards.
    pub fn add_source(&mut self, mut source: Box<dyn SeedSource>) -> Strength {
        let mut seed = [0u8; SEED_LEN];
        if source.fill_seed(&mut seed) {
            self.mix(&seed);
            self.strength = Strength::Hardware;
        }
        self.sources.push(source);
        self.strength
    }

    pub fn strength(&self) -> Strength {
        self.strength
    }

    /// How many times the sources were asked for fresh entropy (including at creation).
    pub fn reseeds(&self) -> u64 {
        self.reseeds
    }

    /// Names of the registered sources.
    pub fn source_names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.sources.iter().map(|s| s.name())
    }

    /// Fills `out` with random bytes, reseeding every [`RESEED_BYTES`], then rekeys.
    pub fn fill(&mut self, out: &mut [u8]) {
        let mut rest = out;
        while !rest.is_empty() {
            if self.since_reseed >= RESEED_BYTES {
                self.reseed();
            }
            let room = (RESEED_BYTES - self.since_reseed).min(rest.len() as u64) as usize;
            let (now, later) = rest.split_at_mut(room);
            self.rng.fill_bytes(now);
            self.since_reseed += room as u64;
            rest = later;
        }
        self.rekey();
    }

    /// A random u64 (for the layout and other kernel uses).
    pub fn next_u64(&mut self) -> u64 {
        let mut b = [0u8; 8];
        self.fill(&mut b);
        u64::from_le_bytes(b)
    }

    /// Asks every source for a seed and mixes in each one that delivers.
    pub fn reseed(&mut self) {
        let mut seeds = Vec::with_capacity(self.sources.len());
        for source in self.sources.iter_mut() {
            let mut seed = [0u8; SEED_LEN];
            if source.fill_seed(&mut seed) {
                seeds.push(seed);
            }
        }
        for seed in &seeds {
            self.mix(seed);
            self.strength = Strength::Hardware;
        }
        self.since_reseed = 0;
        self.reseeds += 1;
    }

    /// New key = next 32 bytes of the generator XOR `seed`.
    fn mix(&mut self, seed: &[u8; SEED_LEN]) {
        let mut key = [0u8; SEED_LEN];
        self.rng.fill_bytes(&mut key);
        for (k, s) in key.iter_mut().zip(seed) {
            *k ^= s;
        }
        self.rng = ChaCha20Rng::from_seed(key);
    }

    /// New key = next 32 bytes of the generator (forgets the old key).
    fn rekey(&mut self) {
        let mut key = [0u8; SEED_LEN];
        self.rng.fill_bytes(&mut key);
        self.rng = ChaCha20Rng::from_seed(key);
    }
}

/// The kernel's pool, installed once at boot.
static POOL: Mutex<Option<Pool>> = Mutex::new(None);

/// Makes `pool` the kernel's pool (boot does this before anything draws random numbers).
pub fn install(pool: Pool) {
    *POOL.lock() = Some(pool);
}

/// Fills `buf` from the kernel's pool: getrandom, /dev/urandom, AT_RANDOM, the layout.
pub fn fill(buf: &mut [u8]) {
    POOL.lock()
        .as_mut()
        .expect("the entropy pool is installed at boot before any use")
        .fill(buf)
}

/// A random u64 from the kernel's pool.
pub fn next_u64() -> u64 {
    let mut b = [0u8; 8];
    fill(&mut b);
    u64::from_le_bytes(b)
}

/// Registers another seed source with the kernel's pool (the hook for a virtio-rng driver);
/// its strength afterwards, or `None` before boot installed the pool.
pub fn add_source(source: Box<dyn SeedSource>) -> Option<Strength> {
    POOL.lock().as_mut().map(|pool| pool.add_source(source))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Arc;

    /// A source that delivers `value` repeated, counting requests; `None` = never delivers.
    struct Fake {
        value: Option<u8>,
        calls: Arc<AtomicU64>,
    }

    impl SeedSource for Fake {
        fn name(&self) -> &'static str {
            "fake"
        }
        fn fill_seed(&mut self, seed: &mut [u8; SEED_LEN]) -> bool {
            self.calls.fetch_add(1, Ordering::Relaxed);
            match self.value {
                Some(v) => {
                    seed.fill(v);
                    true
                }
                None => false,
            }
        }
    }

    fn fake(value: Option<u8>) -> (Box<dyn SeedSource>, Arc<AtomicU64>) {
        let calls = Arc::new(AtomicU64::new(0));
        (
            Box::new(Fake {
                value,
                calls: calls.clone(),
            }),
            calls,
        )
    }

    fn bytes(pool: &mut Pool, n: usize) -> Vec<u8> {
        let mut v = vec![0u8; n];
        pool.fill(&mut v);
        v
    }

    #[test]
    fn no_source_is_weak_and_a_delivering_one_is_strong() {
        let (none, _) = fake(None);
        assert_eq!(Pool::new([1; 32], vec![none]).strength(), Strength::Weak);
        assert_eq!(Pool::new([1; 32], Vec::new()).strength(), Strength::Weak);
        let (some, calls) = fake(Some(7));
        let pool = Pool::new([1; 32], vec![some]);
        assert_eq!(pool.strength(), Strength::Hardware);
        assert_eq!(calls.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn the_seed_source_changes_the_output() {
        let (a, _) = fake(Some(1));
        let (b, _) = fake(Some(2));
        let mut pa = Pool::new([0; 32], vec![a]);
        let mut pb = Pool::new([0; 32], vec![b]);
        assert_ne!(bytes(&mut pa, 64), bytes(&mut pb, 64));
        // The same inputs give the same stream: the pool is deterministic in its inputs.
        let (c, _) = fake(Some(1));
        let mut pc = Pool::new([0; 32], vec![c]);
        let (d, _) = fake(Some(1));
        let mut pd = Pool::new([0; 32], vec![d]);
        assert_eq!(bytes(&mut pc, 64), bytes(&mut pd, 64));
    }

    #[test]
    fn consecutive_fills_differ_and_are_not_all_zero() {
        let mut pool = Pool::new([9; 32], Vec::new());
        let a = bytes(&mut pool, 32);
        let b = bytes(&mut pool, 32);
        assert_ne!(a, b);
        assert!(a.iter().any(|&x| x != 0));
    }

    #[test]
    fn rekeying_after_each_fill_differs_from_one_long_stream() {
        // With fast key erasure, two 16-byte fills are not the first 32 bytes of the stream.
        let mut split = Pool::new([3; 32], Vec::new());
        let mut whole = Pool::new([3; 32], Vec::new());
        let mut first = bytes(&mut split, 16);
        first.extend(bytes(&mut split, 16));
        let one = bytes(&mut whole, 32);
        assert_eq!(first[..16], one[..16]);
        assert_ne!(first[16..], one[16..]);
    }

    #[test]
    fn reseeds_every_reseed_bytes_of_output() {
        let (src, calls) = fake(Some(5));
        let mut pool = Pool::new([0; 32], vec![src]);
        assert_eq!(pool.reseeds(), 1);
        let mut big = vec![0u8; (RESEED_BYTES * 2 + 10) as usize];
        pool.fill(&mut big);
        assert_eq!(pool.reseeds(), 3);
        assert_eq!(calls.load(Ordering::Relaxed), 3);
        // Small fills add up to a reseed too.
        for _ in 0..(RESEED_BYTES / 4096) {
            bytes(&mut pool, 4096);
        }
        assert_eq!(pool.reseeds(), 4);
    }

    #[test]
    fn a_source_added_later_upgrades_the_pool() {
        let mut pool = Pool::new([0; 32], Vec::new());
        let before = bytes(&mut Pool::new([0; 32], Vec::new()), 32);
        let (late, calls) = fake(Some(4));
        assert_eq!(pool.add_source(late), Strength::Hardware);
        assert_eq!(calls.load(Ordering::Relaxed), 1);
        assert_ne!(bytes(&mut pool, 32), before);
        assert_eq!(pool.source_names().collect::<Vec<_>>(), ["fake"]);
        let (dead, _) = fake(None);
        let mut weak = Pool::new([0; 32], Vec::new());
        assert_eq!(weak.add_source(dead), Strength::Weak);
    }
}
