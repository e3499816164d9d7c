//! The program: the kernel command line's meaning, the initial stack Linux would build, and
//! the jump into musl's `_start`.

pub mod cmdline;
pub mod prctl;
pub mod stack;

#[cfg(target_os = "none")]
pub mod start;
