//! Time: the TSC as the clock source (calibrated against the PIT), the CMOS RTC for the wall
//! clock, and sleeping with the local APIC timer as a one-shot wake-up and `hlt`.

pub mod civil;
pub mod discipline;

#[cfg(target_os = "none")]
mod clock;
#[cfg(target_os = "none")]
pub use clock::*;
