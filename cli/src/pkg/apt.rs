//! Debian source packages for `kiln pkg`, through apt's own tools with a private state.
//!
//! `apt-get source` needs `deb-src` entries and their `Sources` indexes. Rather than edit the
//! host's apt configuration, `kiln pkg` keeps its own under `target/kiln/pkg/apt`: a sources
//! file that is the `deb-src` twin of every Debian `deb` entry the host has (same URIs,
//! suites, components and keys, `Types: deb-src`), its own lists and cache directories, and
//! an `APT_CONFIG` file pointing apt at them (the host's `apt.conf.d`, with its proxies, still
//! applies). `apt-get update` with that config fetches only the `Sources` indexes; apt checks
//! them against the archive's signed `Release` files and every downloaded file against them.
//! This needs no root. Versions are ordered by `dpkg --compare-versions`, and a version the
//! mirror cannot deliver (a security update still missing from a partial mirror) is skipped
//! for the next newest one, with a warning.

use crate::{Failure, Result};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime};

/// How old the `Sources` indexes may be before `kiln pkg` refreshes them.
pub const MAX_INDEX_AGE: Duration = Duration::from_secs(24 * 3600);

/// The host's apt sources that are read for `deb` entries.
const SYSTEM_SOURCES: [&str; 2] = ["/etc/apt/sources.list", "/etc/apt/sources.list.d"];

/// apt with `kiln pkg`'s private configuration rooted at `dir`.
#[derive(Debug, Clone)]
pub struct Apt {
    dir: PathBuf,
}

impl Apt {
    pub fn new(dir: PathBuf) -> Apt {
        Apt { dir }
    }

    fn config(&self) -> PathBuf {
        self.dir.join("apt.conf")
    }

    fn lists(&self) -> PathBuf {
        self.dir.join("lists")
    }

    /// Writes the private sources and configuration (from the host's current sources).
    pub fn configure(&self) -> Result<()> {
        let parts = self.dir.join("sources.list.d");
        for dir in [
            parts.clone(),
            self.lists().join("partial"),
            self.dir.join("cache/archives/partial"),
        ] {
            fs::create_dir_all(&dir)
                .map_err(|e| Failure::new(1, format!("creating {}: {e}", dir.display())))?;
        }
        let mut deb822 = String::new();
        let mut one_line = String::new();
        for file in system_source_files() {
            let Ok(text) = fs::read_to_string(&file) else {
                continue;
            };
            if file.extension().is_some_and(|e| e == "sources") {
                deb822.push_str(&deb_src_twin_deb822(&text));
            } else if file.extension().is_some_and(|e| e == "list") {
                one_line.push_str(&deb_src_twin_one_line(&text));
            }
        }
        if deb822.trim().is_empty() && one_line.trim().is_empty() {
            return Err(Failure::usage(
                "kiln pkg: the host's apt sources (/etc/apt/sources.list, /etc/apt/sources.list.d) name no Debian archive to fetch source packages from",
            )
            .into());
        }
        fs::write(parts.join("kiln-deb-src.sources"), deb822)?;
        fs::write(parts.join("kiln-deb-src.list"), one_line)?;
        let quote = |p: &Path| p.display().to_string().replace('"', "");
        let config = format!(
            "// kiln pkg: apt for Debian source packages, with a state of its own.\n\
             Dir::Etc::SourceList \"/dev/null\";\n\
             Dir::Etc::SourceParts \"{}\";\n\
             Dir::State::Lists \"{}\";\n\
             Dir::Cache \"{}\";\n\
             APT::Sandbox::User \"root\";\n\
             APT::Get::List-Cleanup \"false\";\n",
            quote(&parts),
            quote(&self.lists()),
            quote(&self.dir.join("cache")),
        );
        fs::write(self.config(), config)?;
        Ok(())
    }

    fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new(program);
        cmd.env("APT_CONFIG", self.config())
            .env("LC_ALL", "C")
            .env("DEBIAN_FRONTEND", "noninteractive");
        cmd
    }

    /// A file written after each successful `apt-get update` (apt gives the index files the
    /// archive's own modification times, so theirs say nothing about when they came).
    fn update_stamp(&self) -> PathBuf {
        self.dir.join("updated")
    }

    /// When the `Sources` indexes were last fetched.
    fn index_time(&self) -> Option<SystemTime> {
        fs::metadata(self.update_stamp()).ok()?.modified().ok()
    }

    /// Fetches the `Sources` indexes unless they are younger than [`MAX_INDEX_AGE`] (or
    /// `force`). A failed refresh with older indexes at hand is a warning, not an error.
    pub fn update(&self, force: bool) -> Result<()> {
        self.configure()?;
        let age = self
            .index_time()
            .and_then(|t| SystemTime::now().duration_since(t).ok());
        if !force && age.is_some_and(|a| a < MAX_INDEX_AGE) {
            return Ok(());
        }
        eprintln!("kiln pkg: fetching the Debian source package indexes (apt-get update)");
        let out = self
            .command("apt-get")
            .args(["update", "-q"])
            .output()
            .map_err(|e| {
                Failure::usage(format!(
                    "cannot run apt-get ({e}): kiln pkg needs Debian's apt"
                ))
            })?;
        if out.status.success() {
            fs::write(self.update_stamp(), b"")?;
            return Ok(());
        }
        let stderr = String::from_utf8_lossy(&out.stderr);
        if age.is_some() {
            eprintln!(
                "kiln pkg: warning: refreshing the source indexes failed, using the ones from before:\n{}",
                stderr.trim()
            );
            return Ok(());
        }
        Err(Failure::new(
            1,
            format!(
                "apt-get update (for Debian's Sources indexes) failed:\n{}",
                stderr.trim()
            ),
        )
        .into())
    }

    /// The versions of source package `name` the indexes list, newest first.
    pub fn versions(&self, name: &str) -> Result<Vec<String>> {
        let out = self
            .command("apt-cache")
            .args(["showsrc", "--only-source", name])
            .output()?;
        let mut versions = source_versions(&String::from_utf8_lossy(&out.stdout), name);
        sort_newest_first(&mut versions)?;
        Ok(versions)
    }

    /// A mark for `dir` that says its version could not be fetched with the current indexes.
    fn unavailable_mark(&self, dir: &Path) -> PathBuf {
        let mut name = dir.as_os_str().to_owned();
        name.push(".unavailable");
        PathBuf::from(name)
    }

    /// Whether an earlier [`Apt::fetch`] of `dir`'s version failed with the indexes in use
    /// now (a refresh of the indexes lets it be tried again).
    pub fn known_unavailable(&self, dir: &Path) -> bool {
        let mark = self.unavailable_mark(dir);
        match (
            fs::metadata(&mark).and_then(|m| m.modified()),
            self.index_time(),
        ) {
            (Ok(marked), Some(index)) => marked >= index,
            _ => false,
        }
    }

    /// Downloads `name`=`version` into `dir` (`apt-get source --download-only`) and unpacks
    /// it with Debian's patches applied (`dpkg-source -x`) into `dir/tree`.
    pub fn fetch(&self, name: &str, version: &str, dir: &Path) -> Result<PathBuf> {
        let tree = dir.join("tree");
        if dir.join("unpacked").is_file() && tree.is_dir() {
            return Ok(tree);
        }
        let _ = fs::remove_dir_all(dir);
        fs::create_dir_all(dir)?;
        let out = self
            .command("apt-get")
            .current_dir(dir)
            .args(["source", "--download-only", "-q"])
            .arg(format!("{name}={version}"))
            .output()?;
        if !out.status.success() {
            let _ = fs::remove_dir_all(dir);
            let _ = fs::write(self.unavailable_mark(dir), version);
            return Err(Failure::new(
                1,
                format!(
                    "apt-get source {name}={version} failed: {}",
                    String::from_utf8_lossy(&out.stderr).trim()
                ),
            )
            .into());
        }
        let dsc = fs::read_dir(dir)?
            .flatten()
            .map(|e| e.path())
            .find(|p| p.extension().is_some_and(|e| e == "dsc"))
            .ok_or_else(|| {
                Failure::new(
                    1,
                    format!("apt-get source {name}={version} fetched no .dsc"),
                )
            })?;
        let out = Command::new("dpkg-source")
            .current_dir(dir)
            .env("LC_ALL", "C")
            .arg("-x")
            .arg(&dsc)
            .arg(&tree)
            .output()
            .map_err(|e| {
                Failure::usage(format!(
                    "cannot run dpkg-source ({e}): install dpkg-dev (kiln doctor --install)"
                ))
            })?;
        if !out.status.success() {
            return Err(Failure::new(
                1,
                format!(
                    "dpkg-source -x {} failed: {}",
                    dsc.display(),
                    String::from_utf8_lossy(&out.stderr).trim()
                ),
            )
            .into());
        }
        fs::write(dir.join("unpacked"), version)?;
        Ok(tree)
    }
}

/// The host's source files: `sources.list` and `sources.list.d/*.{list,sources}`, sorted.
fn system_source_files() -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in SYSTEM_SOURCES {
        let path = Path::new(entry);
        if path.is_file() {
            files.push(path.to_path_buf());
        } else if let Ok(dir) = fs::read_dir(path) {
            let mut found: Vec<PathBuf> = dir.flatten().map(|e| e.path()).collect();
            found.sort();
            files.extend(found);
        }
    }
    files
}

/// Whether an archive URI is a Debian one (deb.debian.org, security.debian.org, mirrors and
/// snapshots with `debian` in their address): third-party repositories rarely publish
/// sources, and a missing index fails `apt-get update`.
fn is_debian_uri(uri: &str) -> bool {
    uri.to_ascii_lowercase().contains("debian")
}

/// The `deb-src` twins of the enabled `deb` stanzas of a deb822 `.sources` file.
pub fn deb_src_twin_deb822(text: &str) -> String {
    let mut out = String::new();
    for stanza in text.split("\n\n") {
        let mut fields: Vec<(String, String)> = Vec::new();
        for line in stanza.lines() {
            if line.starts_with('#') {
                continue;
            }
            if line.starts_with([' ', '\t']) {
                if let Some(last) = fields.last_mut() {
                    last.1.push('\n');
                    last.1.push_str(line);
                }
            } else if let Some((key, value)) = line.split_once(':') {
                fields.push((key.trim().to_owned(), value.trim().to_owned()));
            }
        }
        let get = |key: &str| {
            fields
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(key))
                .map(|(_, v)| v.as_str())
        };
        let is_deb = get("Types").is_some_and(|t| t.split_whitespace().any(|t| t == "deb"));
        let enabled = get("Enabled").is_none_or(|v| !v.eq_ignore_ascii_case("no"));
        let debian = get("URIs").is_some_and(|u| u.split_whitespace().any(is_debian_uri));
        if !(is_deb && enabled && debian) {
            continue;
        }
        for (key, value) in &fields {
            if key.eq_ignore_ascii_case("Types") {
                out.push_str("Types: deb-src\n");
            } else {
                out.push_str(&format!("{key}: {value}\n"));
            }
        }
        out.push('\n');
    }
    out
}

/// The `deb-src` twins of the `deb` lines of a one-line-style `.list` file.
pub fn deb_src_twin_one_line(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .filter_map(|line| {
            line.strip_prefix("deb ")
                .or_else(|| line.strip_prefix("deb\t"))
        })
        .filter(|rest| {
            // The URI is the first word after the options in brackets.
            let after_options = match rest.trim_start().strip_prefix('[') {
                Some(r) => r.split_once(']').map_or("", |(_, r)| r),
                None => rest,
            };
            after_options
                .split_whitespace()
                .next()
                .is_some_and(is_debian_uri)
        })
        .map(|rest| format!("deb-src {}\n", rest.trim()))
        .collect()
}

/// The distinct versions of source package `name` in `apt-cache showsrc` output.
pub fn source_versions(showsrc: &str, name: &str) -> Vec<String> {
    let mut versions = Vec::new();
    for stanza in showsrc.split("\n\n") {
        let field = |key: &str| {
            stanza
                .lines()
                .find_map(|l| l.strip_prefix(key))
                .map(str::trim)
        };
        if field("Package:") != Some(name) {
            continue;
        }
        if let Some(version) = field("Version:") {
            if !versions.iter().any(|v| v == version) {
                versions.push(version.to_owned());
            }
        }
    }
    versions
}

/// Sorts Debian versions newest first with `dpkg --compare-versions` (Debian's own ordering:
/// epochs, `~`, revisions).
fn sort_newest_first(versions: &mut [String]) -> Result<()> {
    let mut error = None;
    versions.sort_by(|a, b| {
        if a == b {
            return std::cmp::Ordering::Equal;
        }
        match Command::new("dpkg")
            .args(["--compare-versions", a, "gt", b])
            .status()
        {
            Ok(status) if status.success() => std::cmp::Ordering::Less,
            Ok(_) => std::cmp::Ordering::Greater,
            Err(e) => {
                error = Some(e);
                std::cmp::Ordering::Equal
            }
        }
    });
    match error {
        Some(e) => Err(Failure::usage(format!("cannot run dpkg --compare-versions: {e}")).into()),
        None => Ok(()),
    }
}

/// The upstream part of a Debian version: no epoch, no Debian revision, no repack suffix
/// (`1:1.2.13.dfsg-1+deb12u1` → `1.2.13`).
pub fn upstream_version(version: &str) -> &str {
    let no_epoch = version.split_once(':').map_or(version, |(_, v)| v);
    let no_revision = no_epoch.rsplit_once('-').map_or(no_epoch, |(v, _)| v);
    ["+dfsg", ".dfsg", "+ds", ".ds", "~dfsg"]
        .iter()
        .find_map(|suffix| no_revision.find(suffix).map(|i| &no_revision[..i]))
        .unwrap_or(no_revision)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deb822_stanzas_get_deb_src_twins() {
        let text = "Types: deb\n# a comment\nURIs: http://deb.debian.org/debian\nSuites: bookworm bookworm-updates\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n\n\
                    Types: deb\nURIs: https://deb.nodesource.com/node_20.x\nSuites: nodistro\nComponents: main\n\n\
                    Types: deb deb-src\nURIs: http://security.debian.org/debian-security\nSuites: bookworm-security\nComponents: main\nEnabled: no\n\n\
                    Types: deb\nURIs: http://ftp.de.debian.org/debian\nSuites: bookworm\nComponents: main\nSigned-By:\n -----BEGIN PGP PUBLIC KEY BLOCK-----\n .\n -----END PGP PUBLIC KEY BLOCK-----\n";
        let twin = deb_src_twin_deb822(text);
        assert_eq!(
            twin,
            "Types: deb-src\nURIs: http://deb.debian.org/debian\nSuites: bookworm bookworm-updates\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n\n\
             Types: deb-src\nURIs: http://ftp.de.debian.org/debian\nSuites: bookworm\nComponents: main\nSigned-By: \n -----BEGIN PGP PUBLIC KEY BLOCK-----\n .\n -----END PGP PUBLIC KEY BLOCK-----\n\n"
        );
    }

    #[test]
    fn one_line_entries_get_deb_src_twins() {
        let text = "deb http://deb.debian.org/debian bookworm main contrib\n\
                    # deb http://old.example/debian buster main\n\
                    deb [signed-by=/usr/share/keyrings/x.gpg arch=amd64] http://mirror.example/debian bookworm main\n\
                    deb https://packages.cloud.google.com/apt cloud-sdk-bookworm main\n\
                    deb-src http://deb.debian.org/debian bookworm main\n";
        assert_eq!(
            deb_src_twin_one_line(text),
            "deb-src http://deb.debian.org/debian bookworm main contrib\n\
             deb-src [signed-by=/usr/share/keyrings/x.gpg arch=amd64] http://mirror.example/debian bookworm main\n"
        );
    }

    #[test]
    fn versions_of_one_source_package() {
        let showsrc = "Package: zlib\nBinary: zlib1g\nVersion: 1:1.2.13.dfsg-1\n\n\
                       Package: zlib\nVersion: 1:1.2.13.dfsg-1\n\n\
                       Package: zlib-ng\nVersion: 2.0\n\n\
                       Package: zlib\nVersion: 1:1.2.13.dfsg-1+deb12u1\n";
        assert_eq!(
            source_versions(showsrc, "zlib"),
            ["1:1.2.13.dfsg-1", "1:1.2.13.dfsg-1+deb12u1"]
        );
    }

    #[test]
    fn dpkg_orders_versions() {
        let mut versions = vec![
            "3.0.17-1~deb12u2".to_owned(),
            "3.0.22-1~deb12u2".to_owned(),
            "3.0.20-1~deb12u2".to_owned(),
            "3.0.22-1".to_owned(),
        ];
        sort_newest_first(&mut versions).unwrap();
        assert_eq!(
            versions,
            [
                "3.0.22-1",
                "3.0.22-1~deb12u2",
                "3.0.20-1~deb12u2",
                "3.0.17-1~deb12u2"
            ]
        );
    }

    #[test]
    fn upstream_versions() {
        assert_eq!(upstream_version("1:1.2.13.dfsg-1+deb12u1"), "1.2.13");
        assert_eq!(upstream_version("3.0.17-1~deb12u2"), "3.0.17");
        assert_eq!(upstream_version("2.1.12-stable-8"), "2.1.12-stable");
        assert_eq!(upstream_version("10.42-1"), "10.42");
        assert_eq!(upstream_version("3.40.1-2+deb12u2"), "3.40.1");
    }
}
