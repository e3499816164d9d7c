//! An unsupported syscall fails with ENOSYS and is named once on the console.

use kiln_tests::{image, run_image};

#[test]
fn unsupported_syscall_returns_enosys_and_is_logged_once() {
    let out = run_image(&image("unsupported"), &[], &[]);
    out.assert_status(0);
    assert_eq!(
        out.app(),
        "acct attempt 1: result=-1 errno=ENOSYS\nacct attempt 2: result=-1 errno=ENOSYS\n",
        "{}",
        out.describe()
    );
    let mentions: Vec<String> = out
        .kiln_lines()
        .into_iter()
        .filter(|line| line.contains("acct"))
        .collect();
    assert_eq!(
        mentions,
        ["kiln: unsupported syscall acct (163) -> ENOSYS"],
        "expected exactly one console line naming acct\n{}",
        out.describe()
    );
}
