//! The host's control channel (placeholder until the COM2 driver lands).

/// True when the host sent something not yet read.
pub fn pending() -> bool {
    false
}

/// Reads and acts on what the host sent.
pub fn poll() {}
