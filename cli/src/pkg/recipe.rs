//! Package recipes: `pkg/<name>.sh` in the checkout, one file per library.
//!
//! A recipe is a bash file with three header assignments and two functions (pkg/README.md):
//!
//! ```sh
//! summary="zlib, the deflate compression library"
//! source=zlib            # the Debian source package
//! deps=""                # other recipes it needs, built and installed first
//! build() { ...; make install DESTDIR="$KILN_PKG_DESTDIR"; }
//! tests() { ...; cp example "$KILN_PKG_TESTS"/; }   # optional
//! ```
//!
//! The header is read here without running the file (the values are plain words); the
//! functions run in `bash` with the environment of [`super::build`].

use crate::{root, Failure, Result};
use std::fs;
use std::path::{Path, PathBuf};

/// One recipe, as read from its file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipe {
    /// The file's stem: what `kiln pkg build NAME` names.
    pub name: String,
    pub summary: String,
    /// The Debian source package the sources come from.
    pub source: String,
    /// Recipes built (and installed into the sysroot) before this one.
    pub deps: Vec<String>,
    /// Whether the file defines `tests()`.
    pub has_tests: bool,
    pub path: PathBuf,
    /// The whole file.
    pub text: String,
}

impl Recipe {
    /// The file without its `tests()` function: what the library build depends on (the
    /// cache key), so changing how the tests are linked rebuilds no library. A function is
    /// `NAME() {` at the start of a line up to the next line that is just `}`.
    pub fn build_text(&self) -> String {
        let mut out = String::new();
        let mut in_tests = false;
        for line in self.text.lines() {
            if !in_tests && (line.starts_with("tests()") || line.starts_with("tests ()")) {
                in_tests = true;
                continue;
            }
            if in_tests {
                if line == "}" {
                    in_tests = false;
                }
                continue;
            }
            out.push_str(line);
            out.push('\n');
        }
        out
    }
}

/// The recipes directory, `pkg/` in the checkout.
pub fn dir() -> PathBuf {
    root().join("pkg")
}

/// Every recipe, by name.
pub fn all() -> Result<Vec<Recipe>> {
    let mut recipes = Vec::new();
    let entries =
        fs::read_dir(dir()).map_err(|e| Failure::usage(format!("{}: {e}", dir().display())))?;
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "sh") {
            recipes.push(read(&path)?);
        }
    }
    recipes.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(recipes)
}

/// The recipe called `name`.
pub fn find(name: &str) -> Result<Recipe> {
    let valid = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_+.".contains(c));
    let path = dir().join(format!("{name}.sh"));
    if !valid || !path.is_file() {
        let known: Vec<String> = all()?.into_iter().map(|r| r.name).collect();
        return Err(Failure::usage(format!(
            "kiln pkg: no recipe named {name:?} (known: {}); pkg/README.md says how to add one",
            known.join(", ")
        ))
        .into());
    }
    read(&path)
}

fn read(path: &Path) -> Result<Recipe> {
    let text =
        fs::read_to_string(path).map_err(|e| Failure::usage(format!("{}: {e}", path.display())))?;
    let name = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    parse(&name, path, &text)
}

/// Parses a recipe's header; `path` is only for messages and [`Recipe::path`].
pub fn parse(name: &str, path: &Path, text: &str) -> Result<Recipe> {
    let value = |key: &str| -> Option<String> {
        text.lines().find_map(|line| {
            let rest = line.strip_prefix(key)?.strip_prefix('=')?;
            let rest = rest.split(" #").next().unwrap_or(rest).trim();
            Some(rest.trim_matches(|c| c == '"' || c == '\'').to_owned())
        })
    };
    let missing = |key: &str| {
        Failure::usage(format!(
            "{}: the recipe has no `{key}=` line (pkg/README.md)",
            path.display()
        ))
    };
    let source = value("source").ok_or_else(|| missing("source"))?;
    if source.is_empty() || source.contains(char::is_whitespace) {
        return Err(Failure::usage(format!(
            "{}: `source=` must name one Debian source package",
            path.display()
        ))
        .into());
    }
    let has_function = |f: &str| {
        text.lines()
            .any(|l| l.starts_with(&format!("{f}()")) || l.starts_with(&format!("{f} ()")))
    };
    if !has_function("build") {
        return Err(Failure::usage(format!(
            "{}: the recipe defines no build() function (pkg/README.md)",
            path.display()
        ))
        .into());
    }
    Ok(Recipe {
        name: name.to_owned(),
        summary: value("summary").ok_or_else(|| missing("summary"))?,
        source,
        deps: value("deps")
            .unwrap_or_default()
            .split_whitespace()
            .map(str::to_owned)
            .collect(),
        has_tests: has_function("tests"),
        path: path.to_path_buf(),
        text: text.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_header_and_the_functions() {
        let text = "# comment\nsummary=\"a library\"\nsource=libfoo   # Debian's\ndeps=\"zlib openssl\"\n\nbuild() {\n  make\n}\ntests() {\n  :\n}\n";
        let r = parse("foo", Path::new("pkg/foo.sh"), text).unwrap();
        assert_eq!(r.summary, "a library");
        assert_eq!(r.source, "libfoo");
        assert_eq!(r.deps, ["zlib", "openssl"]);
        assert!(r.has_tests);
        assert_eq!(
            r.build_text(),
            "# comment\nsummary=\"a library\"\nsource=libfoo   # Debian's\ndeps=\"zlib openssl\"\n\nbuild() {\n  make\n}\n"
        );
    }

    #[test]
    fn a_recipe_needs_a_source_and_a_build_function() {
        let err = parse("x", Path::new("x.sh"), "summary=x\nbuild() { :; }\n").unwrap_err();
        assert!(err.to_string().contains("no `source=` line"), "{err}");
        let err = parse("x", Path::new("x.sh"), "summary=x\nsource=x\n").unwrap_err();
        assert!(err.to_string().contains("no build() function"), "{err}");
    }

    #[test]
    fn the_checkouts_recipes_parse() {
        let recipes = all().unwrap();
        for name in ["zlib", "pcre2", "libevent", "sqlite", "openssl"] {
            let recipe = recipes.iter().find(|r| r.name == name).unwrap();
            assert!(recipe.has_tests, "{name} has no tests()");
            for dep in &recipe.deps {
                assert!(
                    recipes.iter().any(|r| &r.name == dep),
                    "{name}: unknown dep {dep}"
                );
            }
        }
    }
}
