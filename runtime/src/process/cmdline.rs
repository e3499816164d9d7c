//! The kernel command line: runtime options, the program's environment and its arguments.
//!
//! The contract (docs/ARCHITECTURE.md, "Kernel command line"):
//!
//! - words are separated by ASCII whitespace; double quotes group words (`"a b"` is the one
//!   word `a b`), `\"` is a literal `"`, any other backslash is literal; an unterminated
//!   quote runs to the end of the line;
//! - before a lone `--`, a word starting with `kiln.` is a runtime option (`kiln.name=value`,
//!   or `kiln.flag` with the empty value); a word `NAME=value`, where `NAME` is a C identifier
//!   (`[A-Za-z_][A-Za-z0-9_]*`), joins the environment; a word `MODULE.PARAM=value` (two
//!   C identifiers joined by a dot, as Linux writes module parameters) is a kernel parameter
//!   that hypervisors add, such as QEMU microvm's and Firecracker's
//!   `virtio_mmio.device=512@0xfeb00e00:12` — it is kept for the runtime and reaches neither
//!   the environment nor the arguments; every other word is an argument;
//! - hypervisors append their words at the end of the line, after a `--` the user wrote (QEMU's
//!   microvm does): a run of `virtio_mmio.device=` words ending the line is therefore always
//!   kernel parameters, never the program's arguments;
//! - the first lone `--` (unquoted) is dropped and every word after it is an argument, even
//!   `kiln.x` or `A=b`;
//! - `argv[0]` is `kiln.argv0=NAME` if given (and not empty), else `app`.
//!
//! An option given twice takes its last value. Option names may be passed to the accessors
//! with or without the `kiln.` prefix.
#![forbid(unsafe_code)]

use alloc::borrow::Cow;
use alloc::string::String;
use alloc::vec::Vec;

/// The prefix that marks a runtime option.
pub const OPTION_PREFIX: &str = "kiln.";
/// The kernel parameter hypervisors append to the end of the line.
const HYPERVISOR_APPENDS: &str = "virtio_mmio.device=";

/// `argv[0]` when the command line does not name one.
pub const DEFAULT_ARGV0: &str = "app";

/// One word of the command line.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct Word<'a> {
    /// The word as written, quotes and escapes included.
    pub raw: &'a str,
    /// The word with quotes removed and `\"` unescaped; borrowed whenever possible.
    pub text: Cow<'a, str>,
}

/// Splits a command line into words (see the module docs for the quoting rules).
#[derive(Clone, Debug)]
pub struct Words<'a> {
    rest: &'a str,
}

/// Splits `s` into words.
pub fn words(s: &str) -> Words<'_> {
    Words { rest: s }
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | b'\x0b' | b'\x0c')
}

impl<'a> Iterator for Words<'a> {
    type Item = Word<'a>;

    fn next(&mut self) -> Option<Word<'a>> {
        let start = self
            .rest
            .bytes()
            .position(|b| !is_space(b))
            .unwrap_or(self.rest.len());
        let rest = &self.rest[start..];
        if rest.is_empty() {
            self.rest = rest;
            return None;
        }
        let bytes = rest.as_bytes();
        let (mut i, mut quoted) = (0, false);
        while i < bytes.len() {
            match bytes[i] {
                b'\\' if bytes.get(i + 1) == Some(&b'"') => i += 2,
                b'"' => {
                    quoted = !quoted;
                    i += 1;
                }
                b if !quoted && is_space(b) => break,
                _ => i += 1,
            }
        }
        // Every split point is an ASCII byte (or the end), so both halves are valid str.
        let (raw, rest) = rest.split_at(i);
        self.rest = rest;
        Some(Word {
            raw,
            text: unquote(raw),
        })
    }
}

/// Removes grouping quotes and unescapes `\"`.
fn unquote(raw: &str) -> Cow<'_, str> {
    if !raw.contains('"') {
        return Cow::Borrowed(raw);
    }
    if let Some(inner) = raw.strip_prefix('"').and_then(|r| r.strip_suffix('"')) {
        if !inner.contains('"') && !inner.ends_with('\\') {
            return Cow::Borrowed(inner);
        }
    }
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'"') => {
                out.push('"');
                chars.next();
            }
            '"' => {}
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

fn is_identifier(name: &str) -> bool {
    let mut bytes = name.bytes();
    matches!(bytes.next(), Some(b'A'..=b'Z' | b'a'..=b'z' | b'_'))
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// True for `NAME=value` where `NAME` is a C identifier.
fn is_env_assignment(word: &str) -> bool {
    word.split_once('=')
        .is_some_and(|(name, _)| is_identifier(name))
}

/// True for `MODULE.PARAM=value` where both parts are C identifiers.
fn is_kernel_param(word: &str) -> bool {
    word.split_once('=')
        .and_then(|(name, _)| name.split_once('.'))
        .is_some_and(|(module, param)| is_identifier(module) && is_identifier(param))
}

fn option_name(name: &str) -> &str {
    name.strip_prefix(OPTION_PREFIX).unwrap_or(name)
}

/// A runtime option: the word without its `kiln.` prefix, and where its `=` is, if anywhere.
#[derive(Clone, PartialEq, Eq, Debug)]
struct Opt<'a> {
    word: Cow<'a, str>,
    eq: Option<usize>,
}

impl Opt<'_> {
    fn name(&self) -> &str {
        &self.word[..self.eq.unwrap_or(self.word.len())]
    }

    fn value(&self) -> &str {
        self.eq.map_or("", |eq| &self.word[eq + 1..])
    }
}

/// A parsed kernel command line.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct Cmdline<'a> {
    options: Vec<Opt<'a>>,
    params: Vec<Cow<'a, str>>,
    env: Vec<Cow<'a, str>>,
    args: Vec<Cow<'a, str>>,
}

impl<'a> Cmdline<'a> {
    /// Parses a command line. Every string is acceptable.
    pub fn parse(s: &'a str) -> Cmdline<'a> {
        let mut line = Cmdline::default();
        let mut after_dashes = false;
        for word in words(s) {
            if after_dashes {
                line.args.push(word.text);
            } else if word.raw == "--" {
                after_dashes = true;
            } else if word.text.starts_with(OPTION_PREFIX) {
                let word = match word.text {
                    Cow::Borrowed(t) => Cow::Borrowed(&t[OPTION_PREFIX.len()..]),
                    Cow::Owned(t) => Cow::Owned(String::from(&t[OPTION_PREFIX.len()..])),
                };
                let eq = word.find('=');
                line.options.push(Opt { word, eq });
            } else if is_kernel_param(&word.text) {
                line.params.push(word.text);
            } else if is_env_assignment(&word.text) {
                line.env.push(word.text);
            } else {
                line.args.push(word.text);
            }
        }
        let hypervisor = line
            .args
            .iter()
            .rev()
            .take_while(|a| a.starts_with(HYPERVISOR_APPENDS))
            .count();
        let tail = line.args.split_off(line.args.len() - hypervisor);
        line.params.extend(tail);
        line
    }

    /// The value of option `name` (`kiln.name=value` → `Some("value")`, `kiln.name` →
    /// `Some("")`), the last one if repeated; `None` when absent.
    pub fn option(&self, name: &str) -> Option<&str> {
        let name = option_name(name);
        self.options
            .iter()
            .rev()
            .find(|o| o.name() == name)
            .map(Opt::value)
    }

    /// True when option `name` appears (with or without a value).
    pub fn has(&self, name: &str) -> bool {
        self.option(name).is_some()
    }

    /// Every option as (name without `kiln.`, value), in command-line order.
    pub fn options(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        self.options.iter().map(|o| (o.name(), o.value()))
    }

    /// The names (without `kiln.`) of options not in `known`, so the runtime can warn about
    /// them; `known` may list names with or without the prefix.
    pub fn unknown_options<'s>(&'s self, known: &'s [&str]) -> impl Iterator<Item = &'s str> + 's {
        self.options
            .iter()
            .map(Opt::name)
            .filter(move |name| !known.iter().any(|k| option_name(k) == *name))
    }

    /// Every value of kernel parameter `name` (`MODULE.PARAM`), in command-line order.
    pub fn kernel_params<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'s str> + 's {
        self.params.iter().filter_map(move |p| {
            let (n, value) = p.split_once('=')?;
            (n == name).then_some(value)
        })
    }

    /// The program's arguments after `argv[0]`, in order.
    pub fn args(&self) -> impl Iterator<Item = Cow<'a, str>> + '_ {
        self.args.iter().cloned()
    }

    /// The environment, as `NAME=value` strings in order.
    pub fn env(&self) -> impl Iterator<Item = Cow<'a, str>> + '_ {
        self.env.iter().cloned()
    }

    /// `argv[0]`: `kiln.argv0=NAME` if given and not empty, else [`DEFAULT_ARGV0`].
    pub fn argv0(&self) -> &str {
        match self.option("argv0") {
            Some(name) if !name.is_empty() => name,
            _ => DEFAULT_ARGV0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(s: &str) -> Vec<String> {
        words(s).map(|w| w.text.into_owned()).collect()
    }

    fn args(c: &Cmdline) -> Vec<String> {
        c.args().map(Cow::into_owned).collect()
    }

    fn env(c: &Cmdline) -> Vec<String> {
        c.env().map(Cow::into_owned).collect()
    }

    #[test]
    fn splits_on_whitespace() {
        assert_eq!(texts(""), Vec::<String>::new());
        assert_eq!(texts(" \t\n "), Vec::<String>::new());
        assert_eq!(texts("a  b\tc\n"), ["a", "b", "c"]);
        assert_eq!(texts("  lead trail  "), ["lead", "trail"]);
        assert_eq!(texts("héllo wörld"), ["héllo", "wörld"]);
    }

    #[test]
    fn quotes_group_words() {
        assert_eq!(texts(r#""a b" c"#), ["a b", "c"]);
        assert_eq!(texts(r#"x"a b"y z"#), ["xa by", "z"]);
        assert_eq!(texts(r#""""#), [""]);
        assert_eq!(texts(r#"say \"hi\""#), ["say", "\"hi\""]);
        assert_eq!(texts(r#""in \" side" out"#), ["in \" side", "out"]);
        assert_eq!(texts(r"back\slash"), [r"back\slash"]);
        assert_eq!(texts(r#"a\"b"#), ["a\"b"]);
    }

    #[test]
    fn unterminated_quote_runs_to_the_end() {
        assert_eq!(texts(r#"a "b c  d"#), ["a", "b c  d"]);
        assert_eq!(texts(r#"a "b \"c"#), ["a", "b \"c"]);
        assert_eq!(texts(r#"""#), [""]);
        assert_eq!(texts("x\\"), ["x\\"]);
    }

    #[test]
    fn simple_quoting_borrows() {
        let w: Vec<_> = words(r#"plain "quoted word" mi"x"ed"#).collect();
        assert!(matches!(w[0].text, Cow::Borrowed("plain")));
        assert!(matches!(w[1].text, Cow::Borrowed("quoted word")));
        assert_eq!(w[1].raw, "\"quoted word\"");
        assert!(matches!(w[2].text, Cow::Owned(_)));
        // A trailing backslash before the closing quote is not an escape of it.
        assert_eq!(texts(r#""a\" b"#), ["a\" b"]);
    }

    #[test]
    fn classifies_words() {
        let c = Cmdline::parse("kiln.quiet HOME=/root -v kiln.argv0=server file.txt _X1=");
        assert_eq!(args(&c), ["-v", "file.txt"]);
        assert_eq!(env(&c), ["HOME=/root", "_X1="]);
        assert!(c.has("quiet"));
        assert!(c.has("kiln.quiet"));
        assert!(!c.has("boottime"));
        assert_eq!(c.option("quiet"), Some(""));
        assert_eq!(c.option("argv0"), Some("server"));
        assert_eq!(c.argv0(), "server");
    }

    #[test]
    fn env_names_must_be_identifiers() {
        let c = Cmdline::parse("--port=80 1A=b =x A-B=c a=b=c _=1");
        assert_eq!(args(&c), ["--port=80", "1A=b", "=x", "A-B=c"]);
        assert_eq!(env(&c), ["a=b=c", "_=1"]);
    }

    #[test]
    fn kernel_params_reach_neither_env_nor_args() {
        let c = Cmdline::parse(
            "kiln.quiet virtio_mmio.device=512@0xfeb00e00:12 A=1 x \
             virtio_mmio.device=4K@0xd0000000:5 i8042.noaux a.b.c=1 .x=1 a.=2 -- m.p=3",
        );
        let devices: Vec<_> = c.kernel_params("virtio_mmio.device").collect();
        assert_eq!(devices, ["512@0xfeb00e00:12", "4K@0xd0000000:5"]);
        assert_eq!(env(&c), ["A=1"]);
        // Without a value, or not exactly two identifiers, a dotted word stays an argument;
        // after `--` everything is an argument.
        assert_eq!(
            args(&c),
            ["x", "i8042.noaux", "a.b.c=1", ".x=1", "a.=2", "m.p=3"]
        );
        assert_eq!(c.kernel_params("m.p").count(), 0);
        // QEMU's microvm appends its devices after the user's `--`.
        let c = Cmdline::parse(
            "kiln.quiet -- 5 virtio_mmio.device=x -v \
             virtio_mmio.device=512@0xfeb00e00:12 virtio_mmio.device=512@0xfeb00c00:11",
        );
        assert_eq!(args(&c), ["5", "virtio_mmio.device=x", "-v"]);
        let devices: Vec<_> = c.kernel_params("virtio_mmio.device").collect();
        assert_eq!(devices, ["512@0xfeb00e00:12", "512@0xfeb00c00:11"]);
    }

    #[test]
    fn double_dash_makes_everything_arguments() {
        let c = Cmdline::parse("kiln.quiet A=1 x -- kiln.boottime B=2 -- y");
        assert_eq!(args(&c), ["x", "kiln.boottime", "B=2", "--", "y"]);
        assert_eq!(env(&c), ["A=1"]);
        assert!(c.has("quiet"));
        assert!(!c.has("boottime"));
        // Quoted, it is an ordinary argument.
        let c = Cmdline::parse(r#""--" A=1"#);
        assert_eq!(args(&c), ["--"]);
        assert_eq!(env(&c), ["A=1"]);
        let c = Cmdline::parse("a --");
        assert_eq!(args(&c), ["a"]);
    }

    #[test]
    fn quoted_values() {
        let c = Cmdline::parse(r#"kiln.argv0="my app" GREETING="hello world" "two words""#);
        assert_eq!(c.argv0(), "my app");
        assert_eq!(env(&c), ["GREETING=hello world"]);
        assert_eq!(args(&c), ["two words"]);
        let c = Cmdline::parse(r#"MSG=\"x\""#);
        assert_eq!(env(&c), ["MSG=\"x\""]);
    }

    #[test]
    fn argv0_defaults_to_app() {
        assert_eq!(Cmdline::parse("").argv0(), "app");
        assert_eq!(Cmdline::parse("kiln.argv0").argv0(), "app");
        assert_eq!(Cmdline::parse("kiln.argv0=").argv0(), "app");
        assert_eq!(Cmdline::parse("-- kiln.argv0=x").argv0(), "app");
    }

    #[test]
    fn last_option_wins() {
        let c = Cmdline::parse("kiln.argv0=a kiln.argv0=b kiln.x=1=2");
        assert_eq!(c.argv0(), "b");
        assert_eq!(c.option("x"), Some("1=2"));
        let all: Vec<_> = c.options().collect();
        assert_eq!(all, [("argv0", "a"), ("argv0", "b"), ("x", "1=2")]);
    }

    #[test]
    fn unknown_options_are_reported() {
        let c =
            Cmdline::parse("kiln.quiet kiln.bogus=1 kiln.argv0=x kiln. kiln.boottime kiln.typo");
        let known = ["quiet", "kiln.argv0", "boottime"];
        let unknown: Vec<_> = c.unknown_options(&known).collect();
        assert_eq!(unknown, ["bogus", "", "typo"]);
        assert_eq!(c.unknown_options(&[]).count(), 6);
    }

    #[test]
    fn arbitrary_input_never_panics() {
        let alphabet = ["a", " ", "\"", "\\", "=", "kiln.", "--", "é", "\t", "A"];
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..if cfg!(miri) { 40 } else { 5000 } {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let s: String = (0..(seed % 12))
                .map(|i| alphabet[((seed >> (i * 4)) % alphabet.len() as u64) as usize])
                .collect();
            let c = Cmdline::parse(&s);
            let _ = c.argv0();
            let total = c.args().count() + c.env().count() + c.options().count() + c.params.len();
            assert!(total <= words(&s).count());
        }
    }
}
