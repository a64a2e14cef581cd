//! The core's modules form no import cycle: each module's `crate::<module>` references (outside
//! comments, string literals and `#[cfg(test)] mod` blocks) are edges, and no strongly connected
//! component of that graph may hold more than one module. A cycle fails the test, named with
//! the reference behind each of its edges.

use std::collections::BTreeMap;
use std::path::Path;

/// Module name -> modules it references -> where it first does (`file:line`).
type Graph = BTreeMap<String, BTreeMap<String, String>>;

#[test]
fn core_modules_are_acyclic() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = BTreeMap::new();
    for entry in std::fs::read_dir(&src).expect("core/src") {
        let path = entry.expect("core/src entry").path();
        if path.extension().is_some_and(|e| e == "rs") {
            let name = path.file_stem().unwrap().to_string_lossy().into_owned();
            if name != "lib" {
                files.insert(name, std::fs::read_to_string(&path).expect("a source file"));
            }
        }
    }
    assert!(
        files.len() > 10 && files.contains_key("registry") && files.contains_key("metric"),
        "expected the core's modules in {}, found {:?}",
        src.display(),
        files.keys().collect::<Vec<_>>()
    );
    let modules: Vec<&str> = files.keys().map(String::as_str).collect();
    let mut graph = Graph::new();
    for (name, text) in &files {
        let code = strip_test_modules(&strip_comments_and_strings(text));
        let edges = graph.entry(name.clone()).or_default();
        for (target, line) in crate_references(&code, &modules) {
            if target != *name {
                edges
                    .entry(target)
                    .or_insert_with(|| format!("{name}.rs:{line}"));
            }
        }
    }
    let edge_count: usize = graph.values().map(BTreeMap::len).sum();
    assert!(edge_count > 10, "too few references found: {graph:?}");
    let cycles = cycles(&graph);
    assert!(
        cycles.is_empty(),
        "the core's modules import each other in a cycle:\n{}",
        cycles.join("\n")
    );
}

/// `text` with comments (doc comments included) and the contents of string, byte string, raw
/// string and char literals blanked out; newlines are kept, so line numbers still hold.
fn strip_comments_and_strings(text: &str) -> String {
    let c: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    // Blanks `c[from..to]` into `out`, keeping newlines.
    let blank = |out: &mut String, from: usize, to: usize| {
        for &ch in &c[from..to.min(c.len())] {
            out.push(if ch == '\n' { '\n' } else { ' ' });
        }
    };
    let ident = |ch: char| ch.is_alphanumeric() || ch == '_';
    let mut i = 0;
    while i < c.len() {
        let at = |k: usize| c.get(k).copied();
        match c[i] {
            '/' if at(i + 1) == Some('/') => {
                let end = (i..c.len()).find(|&k| c[k] == '\n').unwrap_or(c.len());
                blank(&mut out, i, end);
                i = end;
            }
            '/' if at(i + 1) == Some('*') => {
                // Block comments nest.
                let (mut k, mut depth) = (i + 2, 1);
                while k < c.len() && depth > 0 {
                    if c[k] == '/' && at(k + 1) == Some('*') {
                        depth += 1;
                        k += 2;
                    } else if c[k] == '*' && at(k + 1) == Some('/') {
                        depth -= 1;
                        k += 2;
                    } else {
                        k += 1;
                    }
                }
                blank(&mut out, i, k);
                i = k;
            }
            'r' | 'b' if i == 0 || !ident(c[i - 1]) => {
                // `r"…"`, `r#"…"#`, `br"…"`, `b"…"`, `b'…'`, or an identifier.
                let mut k = i;
                if c[k] == 'b' {
                    k += 1;
                }
                let raw = at(k) == Some('r');
                if raw {
                    k += 1;
                }
                let hashes = (k..c.len()).take_while(|&j| c[j] == '#').count();
                let quote = at(k + hashes);
                if raw && quote == Some('"') {
                    let body = k + hashes + 1;
                    let close: String = std::iter::once('"')
                        .chain(std::iter::repeat_n('#', hashes))
                        .collect();
                    let close: Vec<char> = close.chars().collect();
                    let end = (body..c.len())
                        .find(|&j| c[j..].starts_with(&close))
                        .map_or(c.len(), |j| j + close.len());
                    out.push('"');
                    blank(&mut out, i + 1, end);
                    i = end;
                } else if c[i] == 'b' && !raw && hashes == 0 && matches!(quote, Some('"' | '\'')) {
                    out.push('b');
                    i += 1; // the literal itself is handled by the next round
                } else {
                    // An identifier: copy it whole, so `br` in `abbr` never starts a literal.
                    let end = (i..c.len()).find(|&j| !ident(c[j])).unwrap_or(c.len());
                    out.extend(&c[i..end]);
                    i = end;
                }
            }
            '"' => {
                let mut k = i + 1;
                while k < c.len() && c[k] != '"' {
                    k += if c[k] == '\\' { 2 } else { 1 };
                }
                out.push('"');
                blank(&mut out, i + 1, k);
                out.push('"');
                i = k + 1;
            }
            '\'' => {
                // A char literal (`'x'`, `'\n'`, `'\u{1F600}'`), or a lifetime / label.
                let end = if at(i + 1) == Some('\\') {
                    (i + 3..c.len()).find(|&k| c[k] == '\'').map(|k| k + 1)
                } else if at(i + 2) == Some('\'') {
                    Some(i + 3)
                } else {
                    None
                };
                match end {
                    Some(end) => {
                        out.push('\'');
                        blank(&mut out, i + 1, end - 1);
                        out.push('\'');
                        i = end;
                    }
                    None => {
                        out.push('\'');
                        i += 1;
                    }
                }
            }
            ch => {
                out.push(ch);
                i += 1;
            }
        }
    }
    out
}

/// `code` (already without comments and strings) with every `#[cfg(test)]` inline `mod` block
/// blanked out, newlines kept.
fn strip_test_modules(code: &str) -> String {
    let c: Vec<char> = code.chars().collect();
    let attr: Vec<char> = "#[cfg(test)]".chars().collect();
    let mut out: Vec<char> = c.clone();
    let mut i = 0;
    while i < c.len() {
        if !c[i..].starts_with(&attr) {
            i += 1;
            continue;
        }
        // Skip whitespace, other attributes and a visibility, then expect `mod name {`.
        let mut k = i + attr.len();
        let skip_ws = |k: &mut usize| {
            while *k < c.len() && c[*k].is_whitespace() {
                *k += 1;
            }
        };
        let word = |k: usize| -> String {
            c[k..]
                .iter()
                .take_while(|ch| ch.is_alphanumeric() || **ch == '_')
                .collect()
        };
        loop {
            skip_ws(&mut k);
            if c.get(k) == Some(&'#') && c.get(k + 1) == Some(&'[') {
                let mut depth = 0;
                while k < c.len() {
                    match c[k] {
                        '[' => depth += 1,
                        ']' => {
                            depth -= 1;
                            if depth == 0 {
                                k += 1;
                                break;
                            }
                        }
                        _ => {}
                    }
                    k += 1;
                }
            } else {
                break;
            }
        }
        if word(k) == "pub" {
            k += 3;
            skip_ws(&mut k);
            if c.get(k) == Some(&'(') {
                k = (k..c.len())
                    .find(|&j| c[j] == ')')
                    .map_or(c.len(), |j| j + 1);
            }
            skip_ws(&mut k);
        }
        if word(k) != "mod" {
            i += attr.len();
            continue;
        }
        k += 3;
        skip_ws(&mut k);
        k += word(k).len();
        skip_ws(&mut k);
        if c.get(k) != Some(&'{') {
            // `mod name;`: a file of its own, not part of this one.
            i += attr.len();
            continue;
        }
        let mut depth = 0;
        let mut end = c.len();
        for (j, &ch) in c.iter().enumerate().skip(k) {
            match ch {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = j + 1;
                        break;
                    }
                }
                _ => {}
            }
        }
        for ch in &mut out[i..end] {
            if *ch != '\n' {
                *ch = ' ';
            }
        }
        i = end;
    }
    out.into_iter().collect()
}

/// The modules among `modules` that `code` names as `crate::<module>` (also inside
/// `crate::{a, b::c}` groups), each with the 1-based line of a reference, in order.
fn crate_references(code: &str, modules: &[&str]) -> Vec<(String, usize)> {
    let c: Vec<char> = code.chars().collect();
    let prefix: Vec<char> = "crate::".chars().collect();
    let ident = |ch: char| ch.is_alphanumeric() || ch == '_';
    let line_of = |k: usize| 1 + c[..k].iter().filter(|&&ch| ch == '\n').count();
    let mut found = Vec::new();
    let mut add = |name: String, at: usize| {
        if modules.contains(&name.as_str()) {
            found.push((name, line_of(at)));
        }
    };
    let mut i = 0;
    while i < c.len() {
        if !c[i..].starts_with(&prefix) || (i > 0 && ident(c[i - 1])) {
            i += 1;
            continue;
        }
        let mut k = i + prefix.len();
        while k < c.len() && c[k].is_whitespace() {
            k += 1;
        }
        if c.get(k) == Some(&'{') {
            // The first segment of each top-level item of the group.
            let mut depth = 0;
            let mut expect_item = true;
            while k < c.len() {
                match c[k] {
                    '{' => {
                        depth += 1;
                        expect_item = depth == 1;
                    }
                    '}' => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    ',' if depth == 1 => expect_item = true,
                    ch if expect_item && depth == 1 && ident(ch) => {
                        let name: String = c[k..].iter().take_while(|&&ch| ident(ch)).collect();
                        k += name.len();
                        add(name, k);
                        expect_item = false;
                        continue;
                    }
                    ch if !ch.is_whitespace() => expect_item = false,
                    _ => {}
                }
                k += 1;
            }
        } else {
            let name: String = c[k..].iter().take_while(|&&ch| ident(ch)).collect();
            add(name, i);
        }
        i = k.max(i + 1);
    }
    found
}

/// Every strongly connected component of more than one module (Tarjan's algorithm), each
/// named by its modules and a shortest cycle through the first of them, with the reference
/// behind each edge: `modules {a, b}: a -> b (a.rs:3) -> a (b.rs:9)`.
fn cycles(graph: &Graph) -> Vec<String> {
    let names: Vec<&String> = graph
        .keys()
        .chain(graph.values().flat_map(BTreeMap::keys))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let index_of: BTreeMap<&String, usize> =
        names.iter().enumerate().map(|(i, n)| (*n, i)).collect();
    let succ: Vec<Vec<usize>> = names
        .iter()
        .map(|n| {
            graph
                .get(*n)
                .map(|e| e.keys().map(|t| index_of[t]).collect())
                .unwrap_or_default()
        })
        .collect();

    // Tarjan's algorithm, iterative.
    let n = names.len();
    let (mut index, mut low) = (vec![usize::MAX; n], vec![0; n]);
    let (mut on_stack, mut stack) = (vec![false; n], Vec::new());
    let (mut next, mut components) = (0, Vec::new());
    for root in 0..n {
        if index[root] != usize::MAX {
            continue;
        }
        let mut work = vec![(root, 0usize)];
        while let Some(&mut (v, ref mut child)) = work.last_mut() {
            if *child == 0 && index[v] == usize::MAX {
                index[v] = next;
                low[v] = next;
                next += 1;
                stack.push(v);
                on_stack[v] = true;
            }
            if let Some(&w) = succ[v].get(*child) {
                *child += 1;
                if index[w] == usize::MAX {
                    work.push((w, 0));
                } else if on_stack[w] {
                    low[v] = low[v].min(index[w]);
                }
                continue;
            }
            work.pop();
            if let Some(&(parent, _)) = work.last() {
                low[parent] = low[parent].min(low[v]);
            }
            if low[v] == index[v] {
                let mut component = Vec::new();
                loop {
                    let w = stack.pop().expect("v is on the stack");
                    on_stack[w] = false;
                    component.push(w);
                    if w == v {
                        break;
                    }
                }
                if component.len() > 1 {
                    component.sort_unstable();
                    components.push(component);
                }
            }
        }
    }

    components.sort_unstable();
    components
        .into_iter()
        .map(|component| {
            // A shortest path from the component's first module back to it, inside it.
            let start = component[0];
            let mut from = vec![usize::MAX; n];
            let mut queue = std::collections::VecDeque::from([start]);
            'search: while let Some(v) = queue.pop_front() {
                for &w in &succ[v] {
                    if !component.contains(&w) {
                        continue;
                    }
                    if w == start {
                        from[start] = v;
                        break 'search;
                    }
                    if from[w] == usize::MAX {
                        from[w] = v;
                        queue.push_back(w);
                    }
                }
            }
            let mut path = vec![start];
            let mut v = from[start];
            while v != start {
                path.push(v);
                v = from[v];
            }
            path.push(start);
            path.reverse();
            let mut text = format!(
                "modules {{{}}}: {}",
                component
                    .iter()
                    .map(|&m| names[m].as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                names[start]
            );
            for pair in path.windows(2) {
                let at = &graph[names[pair[0]]][names[pair[1]]];
                text += &format!(" -> {} ({at})", names[pair[1]]);
            }
            text
        })
        .collect()
}

mod checks {
    //! The cycle finder and the source scanning, on hand-made input.

    use super::*;

    fn graph(edges: &[(&str, &str)]) -> Graph {
        let mut g = Graph::new();
        for (i, (a, b)) in edges.iter().enumerate() {
            g.entry(a.to_string())
                .or_default()
                .insert(b.to_string(), format!("{a}.rs:{}", i + 1));
        }
        g
    }

    #[test]
    fn an_acyclic_graph_has_no_cycle() {
        let g = graph(&[("a", "b"), ("b", "c"), ("a", "c"), ("d", "a"), ("d", "c")]);
        assert!(cycles(&g).is_empty(), "{:?}", cycles(&g));
    }

    #[test]
    fn a_cycle_is_named_with_its_references() {
        let g = graph(&[("a", "b"), ("b", "c"), ("c", "a"), ("c", "d"), ("d", "e")]);
        assert_eq!(
            cycles(&g),
            ["modules {a, b, c}: a -> b (a.rs:1) -> c (b.rs:2) -> a (c.rs:3)"]
        );
    }

    #[test]
    fn two_modules_importing_each_other_are_a_cycle() {
        let g = graph(&[
            ("registry", "family"),
            ("family", "registry"),
            ("x", "y"),
            ("y", "z"),
        ]);
        assert_eq!(
            cycles(&g),
            ["modules {family, registry}: family -> registry (family.rs:2) -> family (registry.rs:1)"]
        );
    }

    #[test]
    fn each_component_is_reported() {
        let g = graph(&[
            ("a", "b"),
            ("b", "a"),
            ("c", "d"),
            ("d", "e"),
            ("e", "c"),
            ("b", "c"),
        ]);
        let found = cycles(&g);
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found[0].starts_with("modules {a, b}"), "{found:?}");
        assert!(found[1].starts_with("modules {c, d, e}"), "{found:?}");
    }

    #[test]
    fn only_code_outside_test_modules_counts() {
        let text = r##"//! See crate::docs_only.
use crate::registry::Registry;
use crate::{arena::{self, Block}, fmt, Opts};
/* crate::commented /* nested crate::deeper */ crate::still_comment */
const A: &str = "crate::in_string";
const B: &str = r#"crate::in_raw "string""#;
const C: char = '"';
const E: [char; 2] = ['\'', '\u{22}'];
const D: &[u8] = b"crate::in_bytes";
fn f<'a>(x: &'a str) -> &'a str { let _ = crate::shard::thread_index(); x }
#[cfg(test)]
#[allow(dead_code)]
mod tests {
    use crate::testonly::X;
    fn g() { let _ = "}"; let _ = '{'; }
}
pub(crate) fn h() -> crate::validate::Thing { crate::abbr::Y }
"##;
        let modules = [
            "docs_only",
            "registry",
            "arena",
            "fmt",
            "Opts",
            "commented",
            "deeper",
            "still_comment",
            "in_string",
            "in_raw",
            "in_bytes",
            "shard",
            "testonly",
            "validate",
            "abbr",
        ];
        let code = strip_test_modules(&strip_comments_and_strings(text));
        assert_eq!(code.lines().count(), text.lines().count(), "{code}");
        let found = crate_references(&code, &modules);
        assert_eq!(
            found,
            [
                ("registry".to_string(), 2),
                ("arena".to_string(), 3),
                ("fmt".to_string(), 3),
                ("Opts".to_string(), 3),
                ("shard".to_string(), 10),
                ("validate".to_string(), 17),
                ("abbr".to_string(), 17),
            ],
            "{code}"
        );
    }
}
