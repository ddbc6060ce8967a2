//! Every problem in a journey file, each with its place
//! (`steps.remind.send.template: ...`), collected rather than stopping at
//! the first, so one `validate` run lists everything to fix.

use std::fmt;

use serde_json::{Map, Value};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Where in the file, as a dotted path; empty for the whole file.
    pub path: String,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Problems(pub Vec<Problem>);

impl Problems {
    pub fn add(&mut self, path: &str, message: impl Into<String>) {
        self.0.push(Problem {
            path: path.to_owned(),
            message: message.into(),
        });
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Notes each key of `object` not in `allowed`; false if there was one.
    pub fn only_keys(&mut self, object: &Map<String, Value>, allowed: &[&str], path: &str) -> bool {
        let mut clean = true;
        for key in object.keys().filter(|k| !allowed.contains(&k.as_str())) {
            clean = false;
            self.add(
                &join(path, key),
                format!("unknown key; expected one of {}", allowed.join(", ")),
            );
        }
        clean
    }

    /// The non-empty string at `key`, or a noted problem.
    pub fn text<'a>(
        &mut self,
        object: &'a Map<String, Value>,
        key: &str,
        path: &str,
    ) -> Option<&'a str> {
        match object.get(key) {
            Some(Value::String(s)) if !s.trim().is_empty() => Some(s),
            Some(_) => {
                self.add(&join(path, key), "must be a non-empty string");
                None
            }
            None => {
                self.add(path, format!("{key} is required"));
                None
            }
        }
    }
}

impl fmt::Display for Problems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, problem) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{problem}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Problems {}

/// `path.key`, or `key` at the top.
pub fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

/// The object at `path`, or a noted problem.
pub fn object<'a>(
    value: &'a Value,
    path: &str,
    problems: &mut Problems,
) -> Option<&'a Map<String, Value>> {
    let found = value.as_object();
    if found.is_none() {
        problems.add(path, "must be an object");
    }
    found
}

/// A duration such as `30m`, `1h 30m`, `2d` in milliseconds (at least 1 s).
pub fn duration(value: &Value, path: &str, problems: &mut Problems) -> Option<i64> {
    let parsed = match value {
        Value::String(text) => humantime::parse_duration(text.trim())
            .map_err(|e| format!("not a duration ({e}); write e.g. 30m, 1h, 2d")),
        _ => Err("must be a duration such as 30m, 1h or 2d".to_owned()),
    };
    match parsed {
        Ok(d) if d.as_secs() >= 1 && d.as_millis() <= i64::MAX as u128 / 2 => {
            Some(d.as_millis() as i64)
        }
        Ok(_) => {
            problems.add(path, "must be at least 1s");
            None
        }
        Err(message) => {
            problems.add(path, message);
            None
        }
    }
}

/// A percentage from 0 to 100 (decimals allowed) in basis points.
pub fn percent(value: &Value, path: &str, problems: &mut Problems) -> Option<u32> {
    match value.as_f64().filter(|p| (0.0..=100.0).contains(p)) {
        Some(p) => Some((p * 100.0).round() as u32),
        None => {
            problems.add(path, "must be a number from 0 to 100");
            None
        }
    }
}

/// The line (1-based) of the file where `path` is, found by following its
/// keys down the YAML's indentation; the deepest key found when the rest
/// is not written out (a missing key points at its parent). `None` for
/// problems of the whole file.
pub fn locate_line(text: &str, path: &str) -> Option<usize> {
    let lines: Vec<&str> = text.lines().collect();
    let mut found: Option<(usize, usize)> = None; // (line index, indent)
    for segment in path.split('.').filter(|s| !s.is_empty()) {
        let key = segment.split('[').next().unwrap_or(segment);
        let (start, parent_indent) = found.map_or((0, None), |(l, i)| (l + 1, Some(i)));
        let hit = lines.iter().enumerate().skip(start).find_map(|(n, line)| {
            let body = line.trim_start();
            let indent = line.len() - body.len();
            if parent_indent.is_some_and(|p| indent <= p)
                && !body.is_empty()
                && !body.starts_with('#')
            {
                return Some(None); // left the parent's block
            }
            let body = body.strip_prefix("- ").unwrap_or(body);
            let named = [
                format!("{key}:"),
                format!("\"{key}\":"),
                format!("'{key}':"),
            ];
            named
                .iter()
                .any(|n| body.starts_with(n.as_str()))
                .then_some(Some((n, indent)))
        });
        match hit {
            Some(Some(at)) => found = Some(at),
            _ => break,
        }
    }
    found.map(|(line, _)| line + 1)
}

#[cfg(test)]
mod tests {
    use super::locate_line;

    #[test]
    fn finds_the_line_of_a_nested_key() {
        let text = "name: x\nsteps:\n  a:\n    wait: 1d\n    next: b\n  b:\n    send:\n      template: t\n    next: c\n";
        assert_eq!(locate_line(text, "steps.b.send.template"), Some(8));
        assert_eq!(locate_line(text, "steps.a.next"), Some(5));
        assert_eq!(
            locate_line(text, "steps.a.missing"),
            Some(3),
            "a missing key: its parent"
        );
        assert_eq!(locate_line(text, "name"), Some(1));
        assert_eq!(locate_line(text, ""), None);
    }
}
