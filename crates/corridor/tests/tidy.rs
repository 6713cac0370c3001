//! Tidy: inside every crate of the workspace, no file imports a file that
//! imports it back, directly or around a longer circle.
//!
//! The test reads each crate's `src/**/*.rs`, collects the paths every file
//! names that start with `crate::`, `super::`, `self::` or one of its child
//! modules (in `use` statements and inline, like `crate::error::ApiError`),
//! and resolves each to the file that defines the item. It looks through
//! `pub use` re-exports, so a circle cannot hide behind `lib.rs` or a
//! `mod.rs`. A path to an item that an ancestor file itself defines (the
//! crate root `lib.rs`/`main.rs`, a parent `mod.rs` or `foo.rs` beside
//! `foo/`) is not a step: the ancestor declares its children, and a child
//! using its parent's items is how Rust's scoping is meant to be used. A
//! circle is reported with the line behind each of its steps.
//!
//! The scanner reads tokens, not a syntax tree: comments, strings and
//! character literals are blanked first, and `mod name { … }` blocks are
//! followed so that `use super::*` in a test module means the file itself.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

#[test]
fn no_file_imports_a_file_that_imports_it_back() {
    let crates_dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the corridor crate sits in crates/");
    let mut crate_dirs: Vec<PathBuf> = std::fs::read_dir(crates_dir)
        .expect("crates/ is readable")
        .map(|entry| entry.expect("crates/ entry is readable").path())
        .filter(|path| path.join("Cargo.toml").is_file())
        .collect();
    crate_dirs.sort();
    assert!(
        crate_dirs.len() >= 10,
        "found only {} crates under {}",
        crate_dirs.len(),
        crates_dir.display()
    );

    let mut report = String::new();
    for crate_dir in &crate_dirs {
        let crate_name = crate_dir
            .file_name()
            .and_then(|name| name.to_str())
            .expect("crate folder names are UTF-8");
        let files = read_sources(&crate_dir.join("src"));
        assert!(!files.is_empty(), "{crate_name} has no src/**/*.rs");
        for circle in circles(&files) {
            writeln!(report, "{crate_name}: {}", circle.describe()).expect("write to a String");
        }
    }
    assert!(
        report.is_empty(),
        "files that import each other (move the shared thing to its owner):\n{report}"
    );
}

/// Every `.rs` file under `src`, as (path relative to `src` with `/`, text).
fn read_sources(src: &Path) -> Vec<(String, String)> {
    let mut files = Vec::new();
    let mut pending = vec![src.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).expect("source folder is readable") {
            let path = entry.expect("source entry is readable").path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|extension| extension == "rs") {
                let relative = path
                    .strip_prefix(src)
                    .expect("found under src")
                    .components()
                    .map(|part| part.as_os_str().to_str().expect("UTF-8 file name"))
                    .collect::<Vec<_>>()
                    .join("/");
                let text = std::fs::read_to_string(&path).expect("source is UTF-8");
                files.push((relative, text));
            }
        }
    }
    files.sort();
    files
}

/// A module path below the crate root: `[]` is the root, `["dashboard",
/// "page"]` is `crate::dashboard::page`.
type ModulePath = Vec<String>;

/// The module a source file is, from its path below `src`.
fn module_of_file(relative: &str) -> ModulePath {
    let mut segments: Vec<String> = relative
        .trim_end_matches(".rs")
        .split('/')
        .map(str::to_owned)
        .collect();
    match segments.last().map(String::as_str) {
        Some("lib" | "main") if segments.len() == 1 => segments.clear(),
        Some("mod") => {
            segments.pop();
        }
        _ => {}
    }
    segments
}

/// One circle: the files of a strongly connected part of the import graph
/// and the shortest walk around it, each step with the line that makes it.
#[derive(Debug)]
struct Circle {
    members: Vec<String>,
    steps: Vec<Step>,
}

#[derive(Debug, Clone)]
struct Step {
    from: String,
    to: String,
    line: usize,
    path: String,
}

impl Circle {
    fn describe(&self) -> String {
        let mut text = String::new();
        if let Some(first) = self.steps.first() {
            text.push_str(&first.from);
        }
        for step in &self.steps {
            write!(text, " → {}", step.to).expect("write to a String");
        }
        for step in &self.steps {
            write!(
                text,
                "\n    {}:{} names {}",
                step.from, step.line, step.path
            )
            .expect("write to a String");
        }
        if self.members.len() > self.steps.len() {
            write!(text, "\n    (all tangled: {})", self.members.join(", "))
                .expect("write to a String");
        }
        text
    }

    /// The walk as `a.rs → b.rs → a.rs`, for the scanner's own tests.
    fn walk(&self) -> String {
        let mut text = self
            .steps
            .first()
            .map(|step| step.from.clone())
            .unwrap_or_default();
        for step in &self.steps {
            write!(text, " → {}", step.to).expect("write to a String");
        }
        text
    }
}

/// The circles among one crate's files, given as (path below `src`, text).
fn circles(files: &[(String, String)]) -> Vec<Circle> {
    let roots = files
        .iter()
        .filter(|(relative, _)| relative == "lib.rs" || relative == "main.rs")
        .count();
    assert_eq!(
        roots, 1,
        "tidy knows crates with exactly one of lib.rs and main.rs"
    );

    let file_by_module: BTreeMap<ModulePath, String> = files
        .iter()
        .map(|(relative, _)| (module_of_file(relative), relative.clone()))
        .collect();
    let mut crate_index = CrateIndex {
        file_by_module,
        exports: BTreeMap::new(),
        globs: BTreeMap::new(),
        defined: BTreeMap::new(),
    };
    let mut references = Vec::new();
    for (relative, text) in files {
        let module = module_of_file(relative);
        scan_file(relative, &module, text, &mut crate_index, &mut references);
    }

    // Edges between files, each with the first line that makes it.
    let mut edges: BTreeMap<String, BTreeMap<String, Step>> = BTreeMap::new();
    for reference in references {
        let Some(target) = crate_index.file_of(&reference.path, 0) else {
            continue;
        };
        // Every file may use what its ancestors (the crate root, its parent
        // module's file) define, as Rust's scoping intends; a re-export there
        // was already looked through.
        let target_module = module_of_file(&target);
        let source_module = module_of_file(&reference.file);
        if target == reference.file || source_module.starts_with(&target_module) {
            continue;
        }
        edges
            .entry(reference.file.clone())
            .or_default()
            .entry(target.clone())
            .or_insert(Step {
                from: reference.file,
                to: target,
                line: reference.line,
                path: reference.written,
            });
    }

    strongly_connected(&edges)
        .into_iter()
        .filter(|part| part.len() > 1)
        .map(|part| {
            let steps = shortest_circle(&part, &edges);
            Circle {
                members: part.into_iter().collect(),
                steps,
            }
        })
        .collect()
}

/// What the scanner learned about a crate's modules.
struct CrateIndex {
    file_by_module: BTreeMap<ModulePath, String>,
    /// `pub use` names: (module, name) → the full path it stands for, or
    /// `None` when it stands for something outside the crate.
    exports: BTreeMap<(ModulePath, String), Option<ModulePath>>,
    /// `pub use path::*`: module → the modules whose names it re-exports.
    globs: BTreeMap<ModulePath, Vec<ModulePath>>,
    /// Items each module defines at its top level.
    defined: BTreeMap<ModulePath, BTreeSet<String>>,
}

impl CrateIndex {
    /// The file that defines what `path` names, looking through re-exports.
    fn file_of(&self, path: &[String], hops: usize) -> Option<String> {
        if hops > 16 {
            return None;
        }
        let (prefix_len, file) = (0..=path.len()).rev().find_map(|len| {
            self.file_by_module
                .get(&path[..len])
                .map(|file| (len, file))
        })?;
        if prefix_len == path.len() {
            return Some(file.clone());
        }
        // A name may be re-exported by the file itself or by a module inline in it.
        for module_len in (prefix_len..path.len()).rev() {
            let module = path[..module_len].to_vec();
            let name = &path[module_len];
            if let Some(target) = self.exports.get(&(module.clone(), name.clone())) {
                let target = target.as_ref()?;
                let mut followed = target.clone();
                followed.extend_from_slice(&path[module_len + 1..]);
                return self.file_of(&followed, hops + 1);
            }
            let defined_here = self
                .defined
                .get(&module)
                .is_some_and(|names| names.contains(name));
            if !defined_here {
                for glob in self.globs.get(&module).into_iter().flatten() {
                    let offers = self
                        .defined
                        .get(glob)
                        .is_some_and(|names| names.contains(name))
                        || self.exports.contains_key(&(glob.clone(), name.clone()));
                    if offers {
                        let mut followed = glob.clone();
                        followed.extend_from_slice(&path[module_len..]);
                        return self.file_of(&followed, hops + 1);
                    }
                }
            }
        }
        Some(file.clone())
    }
}

/// A path a file names, resolved to an absolute module path.
struct Reference {
    file: String,
    line: usize,
    path: ModulePath,
    written: String,
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    PathSeparator,
    Punctuation(char),
}

/// Blanks comments, string and character literals (keeping line breaks),
/// then splits the rest into tokens with their line numbers.
fn tokens(text: &str) -> Vec<(Token, usize)> {
    let characters: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut line = 1;
    let mut index = 0;
    let is_word = |character: char| character.is_alphanumeric() || character == '_';
    while index < characters.len() {
        let character = characters[index];
        let next = characters.get(index + 1).copied();
        if character == '\n' {
            line += 1;
            index += 1;
        } else if character == '/' && next == Some('/') {
            while index < characters.len() && characters[index] != '\n' {
                index += 1;
            }
        } else if character == '/' && next == Some('*') {
            let mut depth = 0;
            while index < characters.len() {
                if characters[index] == '/' && characters.get(index + 1) == Some(&'*') {
                    depth += 1;
                    index += 2;
                } else if characters[index] == '*' && characters.get(index + 1) == Some(&'/') {
                    depth -= 1;
                    index += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    line += usize::from(characters[index] == '\n');
                    index += 1;
                }
            }
        } else if character == '"' {
            index += 1;
            while index < characters.len() && characters[index] != '"' {
                if characters[index] == '\\' {
                    index += 1;
                }
                line += usize::from(characters.get(index) == Some(&'\n'));
                index += 1;
            }
            index += 1;
        } else if let Some((content_start, hashes)) = raw_string_start(&characters, index) {
            // r"…", r#"…"#, br"…": skip to the quote followed by as many hashes.
            index = content_start;
            while let Some(&current) = characters.get(index) {
                let closes = current == '"'
                    && (1..=hashes).all(|offset| characters.get(index + offset) == Some(&'#'));
                if closes {
                    index += 1 + hashes;
                    break;
                }
                line += usize::from(current == '\n');
                index += 1;
            }
        } else if character == '\'' {
            // A character literal ('x', '\n', '\u{..}') or a lifetime ('a).
            if next == Some('\\') {
                index += 2;
                while index < characters.len() && characters[index] != '\'' {
                    index += 1;
                }
                index += 1;
            } else if characters.get(index + 2) == Some(&'\'') {
                index += 3;
            } else {
                index += 1;
            }
        } else if character == ':' && next == Some(':') {
            out.push((Token::PathSeparator, line));
            index += 2;
        } else if is_word(character) {
            let start = index;
            while index < characters.len() && is_word(characters[index]) {
                index += 1;
            }
            out.push((Token::Word(characters[start..index].iter().collect()), line));
        } else if character.is_whitespace() {
            index += 1;
        } else {
            out.push((Token::Punctuation(character), line));
            index += 1;
        }
    }
    out
}

/// Where the contents start and how many hashes close it, when a raw string
/// (`r"`, `r#"`, `br"`) starts at `index`; `None` for anything else, such as
/// a word ending in `r` or a raw identifier (`r#type`).
fn raw_string_start(characters: &[char], index: usize) -> Option<(usize, usize)> {
    if index > 0 && (characters[index - 1].is_alphanumeric() || characters[index - 1] == '_') {
        return None;
    }
    let after_prefix = match (characters.get(index), characters.get(index + 1)) {
        (Some('r'), _) => index + 1,
        (Some('b'), Some('r')) => index + 2,
        _ => return None,
    };
    let hashes = characters[after_prefix..]
        .iter()
        .take_while(|&&c| c == '#')
        .count();
    (characters.get(after_prefix + hashes) == Some(&'"'))
        .then_some((after_prefix + hashes + 1, hashes))
}

/// A module open while scanning a file: the file itself or a `mod x { … }`.
struct Scope {
    module: ModulePath,
    /// Brace depth of the scope's own items.
    depth: usize,
}

const ITEM_KEYWORDS: &[&str] = &[
    "struct",
    "enum",
    "fn",
    "trait",
    "type",
    "const",
    "static",
    "union",
    "mod",
    "macro_rules",
];

fn scan_file(
    file: &str,
    file_module: &ModulePath,
    text: &str,
    crate_index: &mut CrateIndex,
    references: &mut Vec<Reference>,
) {
    let tokens = tokens(text);
    let mut scopes = vec![Scope {
        module: file_module.clone(),
        depth: 0,
    }];
    let mut depth: usize = 0;
    let mut index = 0;
    let word = |at: usize| match tokens.get(at) {
        Some((Token::Word(word), _)) => Some(word.as_str()),
        _ => None,
    };
    let is = |at: usize, wanted: &Token| tokens.get(at).is_some_and(|(token, _)| token == wanted);
    while index < tokens.len() {
        let scope = scopes.last().expect("the file scope stays open");
        let (token, line) = &tokens[index];
        match token {
            Token::Punctuation('{') => {
                depth += 1;
                index += 1;
            }
            Token::Punctuation('}') => {
                depth = depth.saturating_sub(1);
                if scopes.len() > 1 && depth < scope.depth {
                    scopes.pop();
                }
                index += 1;
            }
            Token::Word(keyword) if keyword == "use" => {
                let exported = index > 0
                    && (word(index - 1) == Some("pub") || is(index - 1, &Token::Punctuation(')')));
                let mut leaves = Vec::new();
                index = parse_use_tree(&tokens, index + 1, Vec::new(), &mut leaves);
                for leaf in leaves {
                    let resolved = absolute(&scope.module, &leaf.path, &crate_index.file_by_module);
                    if exported && depth == scope.depth {
                        if leaf.glob {
                            if let Some(target) = &resolved {
                                crate_index
                                    .globs
                                    .entry(scope.module.clone())
                                    .or_default()
                                    .push(target.clone());
                            }
                        } else if let Some(name) = leaf.alias.clone().or(leaf.path.last().cloned())
                        {
                            crate_index
                                .exports
                                .insert((scope.module.clone(), name), resolved.clone());
                        }
                    }
                    if let Some(path) = resolved {
                        references.push(Reference {
                            file: file.to_owned(),
                            line: *line,
                            path,
                            written: leaf.path.join("::"),
                        });
                    }
                }
            }
            Token::Word(keyword) if ITEM_KEYWORDS.contains(&keyword.as_str()) => {
                let name_at = if keyword == "macro_rules" {
                    index + 2
                } else {
                    index + 1
                };
                if let Some(name) = word(name_at) {
                    if depth == scope.depth {
                        crate_index
                            .defined
                            .entry(scope.module.clone())
                            .or_default()
                            .insert(name.to_owned());
                    }
                    if keyword == "mod" && is(name_at + 1, &Token::Punctuation('{')) {
                        let mut module = scope.module.clone();
                        module.push(name.to_owned());
                        depth += 1;
                        scopes.push(Scope { module, depth });
                        index = name_at + 2;
                        continue;
                    }
                }
                index += 1;
            }
            Token::Word(first)
                if is(index + 1, &Token::PathSeparator)
                    && !(index > 0 && is(index - 1, &Token::PathSeparator)) =>
            {
                let mut path = vec![first.clone()];
                let mut at = index + 1;
                while is(at, &Token::PathSeparator) {
                    match word(at + 1) {
                        Some(segment) => path.push(segment.to_owned()),
                        None => break,
                    }
                    at += 2;
                }
                if let Some(resolved) = absolute(&scope.module, &path, &crate_index.file_by_module)
                {
                    references.push(Reference {
                        file: file.to_owned(),
                        line: *line,
                        path: resolved,
                        written: path.join("::"),
                    });
                }
                index = at;
            }
            _ => index += 1,
        }
    }
}

/// One name a `use` tree brings in.
struct UseLeaf {
    path: Vec<String>,
    alias: Option<String>,
    glob: bool,
}

/// Reads the `use` tree starting at `index` (after `use` or inside braces)
/// and returns the index after it (after the `;` at the top level).
fn parse_use_tree(
    tokens: &[(Token, usize)],
    mut index: usize,
    mut prefix: Vec<String>,
    leaves: &mut Vec<UseLeaf>,
) -> usize {
    let top_level = prefix.is_empty();
    while let Some((token, _)) = tokens.get(index) {
        match token {
            Token::PathSeparator => index += 1,
            Token::Word(segment)
                if tokens
                    .get(index + 1)
                    .is_some_and(|(t, _)| *t == Token::PathSeparator) =>
            {
                prefix.push(segment.clone());
                index += 2;
            }
            Token::Word(segment) => {
                let mut path = prefix.clone();
                let mut alias = None;
                if segment != "self" {
                    path.push(segment.clone());
                }
                index += 1;
                if let Some((Token::Word(as_keyword), _)) = tokens.get(index)
                    && as_keyword == "as"
                {
                    if let Some((Token::Word(name), _)) = tokens.get(index + 1) {
                        alias = Some(name.clone());
                    }
                    index += 2;
                }
                leaves.push(UseLeaf {
                    path,
                    alias,
                    glob: false,
                });
                break;
            }
            Token::Punctuation('*') => {
                leaves.push(UseLeaf {
                    path: prefix.clone(),
                    alias: None,
                    glob: true,
                });
                index += 1;
                break;
            }
            Token::Punctuation('{') => {
                index += 1;
                loop {
                    match tokens.get(index) {
                        None => return index,
                        Some((Token::Punctuation('}'), _)) => {
                            index += 1;
                            break;
                        }
                        Some((Token::Punctuation(','), _)) => index += 1,
                        Some(_) => index = parse_use_tree(tokens, index, prefix.clone(), leaves),
                    }
                }
                break;
            }
            _ => break,
        }
    }
    if top_level {
        while let Some((token, _)) = tokens.get(index) {
            index += 1;
            if *token == Token::Punctuation(';') {
                break;
            }
        }
    }
    index
}

/// `path` as written in `module`, made absolute; `None` when it leaves the
/// crate (another crate, the standard library, a local name).
fn absolute(
    module: &ModulePath,
    path: &[String],
    file_by_module: &BTreeMap<ModulePath, String>,
) -> Option<ModulePath> {
    let first = path.first()?;
    let (mut base, rest) = match first.as_str() {
        "crate" => (Vec::new(), &path[1..]),
        "self" => (module.clone(), &path[1..]),
        "super" => {
            let mut base = module.clone();
            let mut rest = path;
            while rest.first().is_some_and(|segment| segment == "super") {
                base.pop()?;
                rest = &rest[1..];
            }
            (base, rest)
        }
        child => {
            let mut child_module = module.clone();
            child_module.push(child.to_owned());
            if !file_by_module.contains_key(&child_module) {
                return None;
            }
            (module.clone(), path)
        }
    };
    base.extend(rest.iter().cloned());
    Some(base)
}

/// Tarjan's strongly connected parts of the file graph.
fn strongly_connected(edges: &BTreeMap<String, BTreeMap<String, Step>>) -> Vec<BTreeSet<String>> {
    struct Search<'a> {
        edges: &'a BTreeMap<String, BTreeMap<String, Step>>,
        next_index: usize,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        parts: Vec<BTreeSet<String>>,
    }
    impl<'a> Search<'a> {
        fn visit(&mut self, node: &'a str) {
            self.index.insert(node, self.next_index);
            self.low.insert(node, self.next_index);
            self.next_index += 1;
            self.stack.push(node);
            self.on_stack.insert(node);
            for next in self.edges.get(node).into_iter().flat_map(BTreeMap::keys) {
                let next = next.as_str();
                if !self.index.contains_key(next) {
                    self.visit(next);
                    let low = self.low[node].min(self.low[next]);
                    self.low.insert(node, low);
                } else if self.on_stack.contains(next) {
                    let low = self.low[node].min(self.index[next]);
                    self.low.insert(node, low);
                }
            }
            if self.low[node] == self.index[node] {
                let mut part = BTreeSet::new();
                while let Some(member) = self.stack.pop() {
                    self.on_stack.remove(member);
                    part.insert(member.to_owned());
                    if member == node {
                        break;
                    }
                }
                self.parts.push(part);
            }
        }
    }
    let mut search = Search {
        edges,
        next_index: 0,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        parts: Vec::new(),
    };
    for node in edges.keys() {
        if !search.index.contains_key(node.as_str()) {
            search.visit(node);
        }
    }
    search.parts.sort();
    search.parts
}

/// The shortest walk from the first file of `part` back to itself.
fn shortest_circle(
    part: &BTreeSet<String>,
    edges: &BTreeMap<String, BTreeMap<String, Step>>,
) -> Vec<Step> {
    let start = part.first().expect("a part has a member");
    let mut came_from: BTreeMap<&str, &Step> = BTreeMap::new();
    let mut queue = VecDeque::from([start.as_str()]);
    while let Some(node) = queue.pop_front() {
        for (next, step) in edges.get(node).into_iter().flatten() {
            if !part.contains(next) || came_from.contains_key(next.as_str()) {
                continue;
            }
            came_from.insert(next, step);
            if next == start {
                let mut steps = vec![step.clone()];
                let mut at = node;
                while at != start {
                    let step = came_from[at];
                    steps.push(step.clone());
                    at = &step.from;
                }
                steps.reverse();
                return steps;
            }
            queue.push_back(next);
        }
    }
    Vec::new()
}

// The scanner's own cases: each crate is a list of (file, text), each
// expectation the walks of the circles found.

fn check(files: &[(&str, &str)], expected: &[&str]) {
    let files: Vec<(String, String)> = files
        .iter()
        .map(|(path, text)| ((*path).to_owned(), (*text).to_owned()))
        .collect();
    let found: Vec<String> = circles(&files).iter().map(Circle::walk).collect();
    assert_eq!(found, expected);
}

const LIB: (&str, &str) = ("lib.rs", "mod a; mod b; mod c; pub struct Root;");

#[test]
fn two_files_that_use_each_other_are_a_circle() {
    check(
        &[
            LIB,
            ("a.rs", "use crate::b::Bee; pub struct Ay;"),
            ("b.rs", "use crate::a::Ay; pub struct Bee;"),
        ],
        &["a.rs → b.rs → a.rs"],
    );
}

#[test]
fn a_longer_circle_through_inline_paths_and_groups() {
    check(
        &[
            LIB,
            ("a.rs", "fn f() { crate::b::go(); }"),
            ("b.rs", "use super::{c::{self, Sea}, Root};"),
            ("c.rs", "use crate::a as ay; pub struct Sea;"),
        ],
        &["a.rs → b.rs → c.rs → a.rs"],
    );
}

#[test]
fn a_one_way_import_and_the_crate_root_are_no_circle() {
    check(
        &[
            ("lib.rs", "mod a; mod b; pub use a::Ay; pub struct Root;"),
            ("a.rs", "use crate::Root; use crate::b::Bee; pub struct Ay;"),
            ("b.rs", "use crate::Root; pub struct Bee;"),
        ],
        &[],
    );
}

#[test]
fn a_re_export_in_the_crate_root_is_looked_through() {
    check(
        &[
            ("lib.rs", "mod a; mod b; pub use a::Ay; pub use b::*;"),
            ("a.rs", "use crate::Bee; pub struct Ay;"),
            (
                "b.rs",
                "pub fn make() -> crate::Ay { todo!() } pub struct Bee;",
            ),
        ],
        &["a.rs → b.rs → a.rs"],
    );
}

#[test]
fn child_modules_named_without_a_prefix_are_followed() {
    // `pub use inner::Thing` names the child `inner` without `self::`.
    check(
        &[
            ("lib.rs", "mod outer;"),
            ("outer.rs", "mod inner; mod other; pub use inner::Thing;"),
            ("outer/inner.rs", "pub struct Thing(super::other::Other);"),
            (
                "outer/other.rs",
                "pub struct Other; fn f(_: super::Thing) {}",
            ),
        ],
        &["outer/inner.rs → outer/other.rs → outer/inner.rs"],
    );
}

#[test]
fn super_in_a_test_module_means_the_file_itself() {
    // Read as `outer::sibling`, the test module's path closes a circle; read
    // one module too high it would name nothing in the crate.
    check(
        &[
            ("lib.rs", "mod outer;"),
            ("outer/mod.rs", "mod inner; mod sibling;"),
            ("outer/sibling.rs", "use super::inner::Thing;"),
            (
                "outer/inner.rs",
                "pub struct Thing;\n#[cfg(test)]\nmod tests {\n    use super::super::sibling::*;\n}",
            ),
        ],
        &["outer/inner.rs → outer/sibling.rs → outer/inner.rs"],
    );
}

#[test]
fn a_file_may_use_what_its_parent_module_defines() {
    check(
        &[
            ("lib.rs", "mod outer;"),
            (
                "outer.rs",
                "mod inner; pub fn escape() {} fn f() { inner::draw(); }",
            ),
            (
                "outer/inner.rs",
                "use super::escape; pub fn draw() { escape() }",
            ),
        ],
        &[],
    );
}

#[test]
fn comments_strings_and_characters_name_nothing() {
    check(
        &[
            LIB,
            ("a.rs", "use crate::b::Bee;"),
            (
                "b.rs",
                "// use crate::a::Ay;\n/* crate::a::Ay /* nested */ crate::a::Ay */\n\
                 const S: &str = \"crate::a::Ay \\\" crate::a::Ay\";\n\
                 const R: &str = r#\"crate::a::Ay \" crate::a::Ay\"#;\n\
                 const C: char = '\"'; fn f<'a>(x: &'a str) {}\npub struct Bee;",
            ),
        ],
        &[],
    );
}
