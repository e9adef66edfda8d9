//! Rust identifiers from ONNX names: snake case, unique, never a keyword.

const KEYWORDS: &[&str] = &[
    "as", "async", "await", "break", "const", "continue", "crate", "dyn", "else", "enum", "extern", "false", "fn",
    "for", "gen", "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub", "ref", "return", "self",
    "static", "struct", "super", "trait", "true", "type", "unsafe", "use", "where", "while", "abstract", "become",
    "box", "do", "final", "macro", "override", "priv", "try", "typeof", "unsized", "virtual", "yield", "arena", "ro",
    "rt",
];

/// A snake-case identifier for a name, or `fallback` when nothing usable remains.
pub fn ident(name: &str, fallback: &str) -> String {
    let mut s = String::new();
    let mut prev_us = true;
    let chars: Vec<char> = name.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        if c.is_ascii_alphanumeric() {
            let upper_after_lower = c.is_ascii_uppercase() && i > 0 && chars[i - 1].is_ascii_lowercase();
            if upper_after_lower && !prev_us {
                s.push('_');
            }
            s.push(c.to_ascii_lowercase());
            prev_us = false;
        } else if !prev_us {
            s.push('_');
            prev_us = true;
        }
    }
    while s.ends_with('_') {
        s.pop();
    }
    if s.is_empty() {
        return fallback.to_string();
    }
    if s.starts_with(|c: char| c.is_ascii_digit())
        || KEYWORDS.contains(&s.as_str())
        || s.starts_with("w") && s[1..].chars().all(|c| c.is_ascii_digit())
    {
        s = format!("{fallback}_{s}");
    }
    s
}

/// Unique identifiers for a list of names.
pub fn unique_idents<'a>(names: impl Iterator<Item = &'a str>, fallback: &str) -> Vec<String> {
    unique_idents_avoiding(names, fallback, &[])
}

/// Unique identifiers that also avoid `taken`.
pub fn unique_idents_avoiding<'a>(
    names: impl Iterator<Item = &'a str>,
    fallback: &str,
    taken: &[String],
) -> Vec<String> {
    let mut used: Vec<String> = taken.to_vec();
    let mut out = vec![];
    for (i, n) in names.enumerate() {
        let base = ident(n, &format!("{fallback}_{i}"));
        let mut cand = base.clone();
        let mut k = 2;
        while used.contains(&cand) {
            cand = format!("{base}_{k}");
            k += 1;
        }
        used.push(cand.clone());
        out.push(cand);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idents_are_snake_case_unique_and_not_keywords() {
        assert_eq!(ident("serving_default_input_1:0", "input"), "serving_default_input_1_0");
        assert_eq!(ident("StatefulPartitionedCall:0", "output"), "stateful_partitioned_call_0");
        assert_eq!(ident("0abc", "input"), "input_0abc");
        assert_eq!(ident("type", "input"), "input_type");
        assert_eq!(ident("::", "input_3"), "input_3");
        assert_eq!(unique_idents(["a", "a", "A"].into_iter(), "x"), vec!["a", "a_2", "a_3"]);
    }

    #[test]
    fn idents_never_end_in_an_underscore() {
        // The in-place closures' parameters (`x_`, `y_`, `q_`, `i_`) rely on it.
        for name in ["x_", "y__", "q:", "i-", "_", "x", "y"] {
            let id = ident(name, "input");
            assert!(!id.ends_with('_'), "{name} -> {id}");
        }
        assert_eq!(ident("x_", "input"), "x");
    }
}
