//! HTTP clients for the tests: `curl` and `wrk` (Debian packages), run on the host or inside
//! a private namespace ([`crate::netns::Netns::command`]), with their output checked.
//!
//! Where a client runs is a [`Tools`]: a function that makes the [`Command`] for a program
//! name. [`host`] runs it directly; a test with a namespace passes `&|t| ns.command(t)`.

use std::process::Command;

/// Makes the command that runs the program `name` where the clients should run.
pub type Tools<'a> = &'a dyn Fn(&str) -> Command;

/// Runs clients on the host (failing with a message if the program is not installed).
pub fn host(name: &str) -> Command {
    crate::require_system_tools(&[name]);
    Command::new(name)
}

/// Runs `cmd`; panics with its output unless it succeeds. Returns stdout and stderr.
pub fn run_tool(cmd: &mut Command) -> (String, String) {
    let out = cmd.output().expect("run tool");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        out.status.success(),
        "{cmd:?} failed ({})\n--- stdout ---\n{stdout}\n--- stderr ---\n{stderr}",
        out.status
    );
    (stdout, stderr)
}

/// One `curl -v --http1.1` run that fetches every URL of `urls` in order; returns the bodies
/// (concatenated) and curl's verbose log, where the response headers appear as `< Name: value`.
pub fn curl(tools: Tools, extra: &[&str], urls: &[&str]) -> (String, String) {
    crate::require_system_tools(&["curl"]);
    let mut cmd = tools("curl");
    cmd.args(["-sS", "-v", "--http1.1", "--max-time", "20"])
        .args(extra)
        .args(urls);
    run_tool(&mut cmd)
}

/// Panics unless curl's verbose `log` shows that a later URL reused the first connection.
pub fn assert_reused(log: &str) {
    assert!(
        log.contains("Re-using existing connection"),
        "curl did not reuse the connection (keep-alive)\n{log}"
    );
}

/// The response headers in curl's verbose `log`, as (lowercase name, value), in order.
pub fn response_headers(log: &str) -> Vec<(String, String)> {
    log.lines()
        .filter_map(|l| l.strip_prefix("< "))
        .filter_map(|l| l.split_once(':'))
        .map(|(name, value)| (name.to_ascii_lowercase(), value.trim().to_owned()))
        .collect()
}

/// The routes of examples-cpp/http-callback at `base` (`http://HOST:PORT`): the index and
/// /hello over one keep-alive connection, POST /echo, and a 404.
pub fn http_callback_routes(tools: Tools, base: &str) {
    let (body, log) = curl(tools, &[], &[&format!("{base}/"), &format!("{base}/hello")]);
    assert_eq!(
        body,
        "Kiln http-callback: GET /hello, POST /echo\nHello from Kiln!\n"
    );
    assert_reused(&log);
    let (echo, _) = curl(
        tools,
        &["--data-binary", "posted body\nline 2"],
        &[&format!("{base}/echo")],
    );
    assert_eq!(echo, "posted body\nline 2");
    let (status, _) = curl(
        tools,
        &["-o", "/dev/null", "-w", "%{http_code}"],
        &[&format!("{base}/nowhere")],
    );
    assert_eq!(status, "404");
}

/// What a `wrk` run reported.
#[derive(Debug, Clone)]
pub struct WrkReport {
    /// Requests completed.
    pub requests: u64,
    /// Requests per second, as wrk computed it.
    pub per_sec: f64,
    /// The whole report, for messages.
    pub text: String,
}

/// Parses wrk's report; `Err` with the reason if it shows socket errors (connect, read,
/// write, timeout) or responses other than 2xx/3xx, or lacks the request count.
pub fn parse_wrk(text: &str) -> Result<WrkReport, String> {
    for line in text.lines().map(str::trim) {
        if let Some(counts) = line.strip_prefix("Socket errors:") {
            // "Socket errors: connect 0, read 0, write 0, timeout 0"
            let total: u64 = counts
                .split(',')
                .filter_map(|c| c.split_whitespace().nth(1))
                .map(|n| n.parse::<u64>().unwrap_or(u64::MAX))
                .fold(0, u64::saturating_add);
            if total > 0 {
                return Err(format!("socket errors: {counts}"));
            }
        }
        if let Some(n) = line.strip_prefix("Non-2xx or 3xx responses:") {
            if n.trim() != "0" {
                return Err(format!("non-2xx/3xx responses: {}", n.trim()));
            }
        }
    }
    let requests = text
        .lines()
        .find_map(|line| line.trim().split_once(" requests in "))
        .and_then(|(n, _)| n.trim().parse().ok())
        .ok_or("no request count")?;
    let per_sec = text
        .lines()
        .find_map(|line| line.trim().strip_prefix("Requests/sec:"))
        .and_then(|n| n.trim().parse().ok())
        .ok_or("no Requests/sec line")?;
    Ok(WrkReport {
        requests,
        per_sec,
        text: text.to_owned(),
    })
}

/// `wrk -t 2 -c CONNECTIONS -d SECS s URL`; panics unless it ends with zero socket errors,
/// only 2xx/3xx answers and at least `min_requests` requests. The report goes to the test's
/// output.
pub fn wrk_without_errors(
    tools: Tools,
    url: &str,
    connections: u32,
    secs: u32,
    min_requests: u64,
) -> WrkReport {
    wrk_without_errors_within(tools, url, connections, secs, min_requests, 2)
}

/// [`wrk_without_errors`] with wrk's `--timeout` (a request not answered within it counts as
/// a socket error) set to `timeout_secs` instead of wrk's 2 s.
pub fn wrk_without_errors_within(
    tools: Tools,
    url: &str,
    connections: u32,
    secs: u32,
    min_requests: u64,
    timeout_secs: u32,
) -> WrkReport {
    crate::require_system_tools(&["wrk"]);
    let (text, _) = run_tool(tools("wrk").args([
        "-t",
        "2",
        "-c",
        &connections.to_string(),
        "-d",
        &format!("{secs}s"),
        "--timeout",
        &format!("{timeout_secs}s"),
        url,
    ]));
    eprintln!("wrk -c {connections} -d {secs}s {url}:\n{text}");
    let report = parse_wrk(&text).unwrap_or_else(|e| panic!("wrk against {url}: {e}\n{text}"));
    assert!(
        report.requests >= min_requests,
        "only {} requests (want {min_requests})\n{text}",
        report.requests
    );
    report
}

#[cfg(test)]
mod tests {
    use super::parse_wrk;

    const CLEAN: &str = "Running 10s test @ http://10.77.0.2/\n  2 threads and 100 connections\n  \
        12345 requests in 10.01s, 3.00MB read\nRequests/sec:   1233.27\nTransfer/sec:    307.12KB\n";

    #[test]
    fn a_clean_report_parses() {
        let r = parse_wrk(CLEAN).unwrap();
        assert_eq!(r.requests, 12345);
        assert!((r.per_sec - 1233.27).abs() < 1e-9);
    }

    #[test]
    fn socket_errors_and_bad_statuses_fail() {
        let timeouts = CLEAN.replace(
            "Requests/sec",
            "  Socket errors: connect 0, read 0, write 0, timeout 7\nRequests/sec",
        );
        assert!(parse_wrk(&timeouts).unwrap_err().contains("timeout 7"));
        let bad = CLEAN.replace(
            "Requests/sec",
            "  Non-2xx or 3xx responses: 3\nRequests/sec",
        );
        assert!(parse_wrk(&bad).is_err());
        assert!(parse_wrk("nothing").is_err());
    }
}
