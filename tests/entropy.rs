//! Every boot gets fresh entropy: AT_RANDOM differs between boots and musl's stack canary
//! (`%fs:0x28`), which musl copies from AT_RANDOM, differs with it.

use kiln_tests::{image, run_image};
use std::thread;

struct Boot {
    canary: u64,
    at_random: Vec<u8>,
}

fn field<'a>(app: &'a str, name: &str) -> &'a str {
    app.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix('='))
        .unwrap_or_else(|| panic!("the canary program printed no `{name}=` line:\n{app}"))
}

fn boot() -> Boot {
    let out = run_image(&image("canary"), &[], &[]);
    out.assert_status(0);
    let app = out.app();
    let canary = u64::from_str_radix(field(&app, "canary"), 16).expect("canary is hex");
    let hex = field(&app, "at_random");
    assert_eq!(hex.len(), 32, "AT_RANDOM is not 16 bytes: {hex}");
    let at_random = (0..16)
        .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).expect("AT_RANDOM is hex"))
        .collect();
    Boot { canary, at_random }
}

#[test]
fn two_boots_get_different_canaries_and_at_random() {
    let (a, b) = thread::scope(|s| {
        let a = s.spawn(boot);
        let b = s.spawn(boot);
        (
            a.join().expect("first boot"),
            b.join().expect("second boot"),
        )
    });
    assert_ne!(
        a.at_random, b.at_random,
        "AT_RANDOM was the same on two boots"
    );
    assert_ne!(
        a.canary, b.canary,
        "the stack canary was the same on two boots"
    );
    for boot in [&a, &b] {
        assert_ne!(boot.at_random, [0u8; 16], "AT_RANDOM is all zero");
        // The low byte is zero so a string overflow cannot reproduce the canary (the runtime
        // zeroes AT_RANDOM's first byte); musl (__init_ssp) copies the first 8 AT_RANDOM bytes
        // and zeroes the second byte too.
        assert_eq!(
            boot.canary & 0xff,
            0,
            "canary {:#018x}: low byte is not zero",
            boot.canary
        );
        assert_eq!(
            boot.canary & 0xff00,
            0,
            "canary {:#018x}: byte 1 is not zero",
            boot.canary
        );
        assert!(
            boot.canary >> 16 != 0,
            "canary {:#018x} has no random bits",
            boot.canary
        );
        let mut expected = [0u8; 8];
        expected.copy_from_slice(&boot.at_random[..8]);
        expected[1] = 0;
        assert_eq!(
            boot.canary,
            u64::from_le_bytes(expected),
            "the canary {:#018x} is not AT_RANDOM's first 8 bytes {:02x?}",
            boot.canary,
            &boot.at_random[..8]
        );
    }
}
