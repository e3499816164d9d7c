//! Waiting. A syscall that cannot make progress yet (an empty pipe, a socket without data, a
//! poll with nothing ready) waits here: the event sources (the network stack, later more)
//! run, the condition is checked again, and otherwise the CPU halts until an interrupt — a
//! device, or the one-shot timer armed for the earliest deadline. Nothing busy-waits.
//!
//! With several threads, waiting gives the CPU to the others ([`thread::wait`]); the CPU
//! halts only when every thread is waiting.

pub mod cputime;
pub mod futex;
pub mod policy;
#[cfg(target_os = "none")]
pub mod thread;
#[cfg(target_os = "none")]
mod wait;
#[cfg(target_os = "none")]
pub use wait::*;
