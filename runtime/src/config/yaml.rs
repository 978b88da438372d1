//! Standard YAML (`config.yaml`) flattened to Flink's dotted keys, in one pass with bounded work.
//!
//! Flink 1.19+ reads `config.yaml` with snakeyaml-engine 2.6 (`YamlParserUtils`, default
//! `LoadSettings`): one document, at most 3,145,728 code points, at most 50 aliases of
//! collections (aliases of scalars are free), duplicate keys refused, and a byte-order mark
//! (UTF-8, UTF-16, UTF-32) selecting the encoding. Nested mapping keys are joined with dots and
//! lists become `;`-separated values.
//!
//! An alias never copies a tree here. The parser's events are flattened as they come; a node
//! that carries an anchor also keeps what it flattened to (a [`Fragment`]: its entries relative to
//! the node, its joined list, or its scalar), and an alias emits that fragment. So the work done
//! is the input's events plus the entries written, and everything written or kept is charged to
//! one budget — [`YamlLimits::expansion_budget`], a small multiple of the input — checked before
//! it is allocated. Alias bombs (nested aliases of aliases) and long keys repeated under many
//! children both end at that budget with an error naming the limit, instead of taking the memory
//! of the machine.

use std::collections::{HashMap, HashSet};
use std::fmt;

use yaml_rust2::parser::{Event, Parser, Tag};
use yaml_rust2::scanner::{Marker, TScalarStyle};
use yaml_rust2::Yaml;

use super::Configuration;

/// snakeyaml-engine's `LoadSettings.maxAliasesForCollections` default, which Flink keeps.
pub const FLINK_MAX_ALIASES_FOR_COLLECTIONS: usize = 50;
/// snakeyaml-engine's `LoadSettings.codePointLimit` default (3 Mi), which Flink keeps.
pub const FLINK_CODE_POINT_LIMIT: usize = 3 * 1024 * 1024;

/// Bounds on reading one standard YAML document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct YamlLimits {
    /// Most code points in the document (Flink: [`FLINK_CODE_POINT_LIMIT`]).
    pub max_code_points: usize,
    /// Most aliases of mappings and sequences (Flink: [`FLINK_MAX_ALIASES_FOR_COLLECTIONS`]).
    pub max_collection_aliases: usize,
    /// Deepest nesting of mappings and sequences; Flink keys have a handful of segments.
    pub max_depth: usize,
    /// The flattened configuration (and the fragments kept for aliases) may cost at most
    /// `expansion_floor + expansion_factor × input bytes`, counting each entry as its key and
    /// value bytes plus [`ENTRY_COST`].
    pub expansion_factor: usize,
    /// See `expansion_factor`: what any small document may expand to.
    pub expansion_floor: usize,
}

/// What one flattened or kept entry costs beyond its bytes in the expansion budget: an upper
/// estimate of its two string headers, its share of the map's nodes and of a vector's growth.
pub const ENTRY_COST: usize = 128;
/// What one key of an open mapping costs beyond its bytes (its slot in the duplicate-key set).
pub const KEY_COST: usize = 64;

impl Default for YamlLimits {
    fn default() -> Self {
        YamlLimits {
            max_code_points: FLINK_CODE_POINT_LIMIT,
            max_collection_aliases: FLINK_MAX_ALIASES_FOR_COLLECTIONS,
            max_depth: 64,
            expansion_factor: 16,
            expansion_floor: 1 << 20,
        }
    }
}

impl YamlLimits {
    /// The expansion budget for a document of `input_bytes`.
    pub fn expansion_budget(&self, input_bytes: usize) -> usize {
        self.expansion_floor
            .saturating_add(self.expansion_factor.saturating_mul(input_bytes))
    }
}

/// Why a document was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum YamlError {
    /// Not a document Flink reads: a syntax error, a top level that is not a mapping, a
    /// duplicate key, more than one document, a structure the configuration cannot hold.
    Invalid(String),
    /// Over one of the [`YamlLimits`]; the message names the limit.
    Limit(String),
}

impl fmt::Display for YamlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            YamlError::Invalid(m) | YamlError::Limit(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for YamlError {}

/// Decodes a `config.yaml` file as snakeyaml-engine's `YamlUnicodeReader` does: a byte-order
/// mark selects UTF-32BE/LE, UTF-8 or UTF-16BE/LE (and is dropped), no mark means UTF-8, and a
/// malformed sequence is an error (Flink: `MalformedInputException`).
pub fn decode_yaml_bytes(bytes: Vec<u8>) -> Result<String, YamlError> {
    let bad = |encoding: &str, at: usize| {
        YamlError::Invalid(format!(
            "not valid {encoding} at byte {at} (Flink's YAML reader refuses malformed input)"
        ))
    };
    match bytes.as_slice() {
        [0, 0, 0xFE, 0xFF, rest @ ..] => decode_utf32(rest, u32::from_be_bytes).map_err(|at| bad("UTF-32BE", at + 4)),
        [0xFF, 0xFE, 0, 0, rest @ ..] => decode_utf32(rest, u32::from_le_bytes).map_err(|at| bad("UTF-32LE", at + 4)),
        [0xEF, 0xBB, 0xBF, ..] => {
            let mut bytes = bytes;
            bytes.drain(..3);
            String::from_utf8(bytes).map_err(|e| bad("UTF-8", e.utf8_error().valid_up_to() + 3))
        }
        [0xFE, 0xFF, rest @ ..] => decode_utf16(rest, u16::from_be_bytes).map_err(|at| bad("UTF-16BE", at + 2)),
        [0xFF, 0xFE, rest @ ..] => decode_utf16(rest, u16::from_le_bytes).map_err(|at| bad("UTF-16LE", at + 2)),
        _ => String::from_utf8(bytes).map_err(|e| bad("UTF-8", e.utf8_error().valid_up_to())),
    }
}

fn decode_utf16(bytes: &[u8], unit: fn([u8; 2]) -> u16) -> Result<String, usize> {
    if !bytes.len().is_multiple_of(2) {
        return Err(bytes.len() - 1);
    }
    let units = bytes.chunks_exact(2).map(|c| unit([c[0], c[1]]));
    let mut out = String::with_capacity(bytes.len() / 2);
    for (i, c) in char::decode_utf16(units).enumerate() {
        out.push(c.map_err(|_| i * 2)?);
    }
    Ok(out)
}

fn decode_utf32(bytes: &[u8], unit: fn([u8; 4]) -> u32) -> Result<String, usize> {
    if !bytes.len().is_multiple_of(4) {
        return Err(bytes.len() - bytes.len() % 4);
    }
    let mut out = String::with_capacity(bytes.len() / 4);
    for (i, c) in bytes.chunks_exact(4).enumerate() {
        out.push(char::from_u32(unit([c[0], c[1], c[2], c[3]])).ok_or(i * 4)?);
    }
    Ok(out)
}

/// Parses standard YAML (`config.yaml`) and flattens it to Flink's dotted keys, within the
/// default (Flink's) limits.
pub fn parse_standard_yaml(text: &str) -> Result<Configuration, YamlError> {
    parse_standard_yaml_with_limits(text, &YamlLimits::default())
}

/// [`parse_standard_yaml`] within explicit limits.
pub fn parse_standard_yaml_with_limits(text: &str, limits: &YamlLimits) -> Result<Configuration, YamlError> {
    let text = text.strip_prefix('\u{FEFF}').unwrap_or(text);
    // Counting is cheap next to parsing, and stops at the first code point over the limit.
    if text.len() > limits.max_code_points && text.chars().nth(limits.max_code_points).is_some() {
        return Err(YamlError::Limit(format!(
            "more than {} code points (Flink's YAML reader refuses larger documents: \
             'The incoming YAML document exceeds the limit: {} code points.')",
            limits.max_code_points, limits.max_code_points
        )));
    }
    let mut flattener = Flattener::new(limits, text.len());
    let mut parser = Parser::new_from_str(text);
    loop {
        let (event, mark) = parser.next_token().map_err(|e| YamlError::Invalid(e.to_string()))?;
        if matches!(event, Event::StreamEnd) {
            return Ok(flattener.conf);
        }
        flattener.on_event(event, mark)?;
    }
}

/// What an anchored node flattened to; an alias of it emits this.
#[derive(Debug)]
enum Fragment {
    Scalar(Yaml),
    /// A sequence's items joined with `;`.
    List(String),
    /// A mapping's entries, keys relative to the mapping, null values left out.
    Map(Vec<(String, String)>),
}

#[derive(Debug)]
enum Frame {
    Map {
        /// Length of `path` when the mapping opened: its own key path.
        base: usize,
        /// The key read, whose value comes next.
        key_pending: bool,
        keys: HashSet<Yaml>,
        anchor: usize,
        fragment: Vec<(String, String)>,
    },
    List {
        parts: String,
        count: usize,
        anchor: usize,
    },
}

struct Flattener<'l> {
    limits: &'l YamlLimits,
    conf: Configuration,
    /// The key path of the node being read (`a.b.c`).
    path: String,
    frames: Vec<Frame>,
    fragments: HashMap<usize, Fragment>,
    documents: usize,
    collection_aliases: usize,
    spent: usize,
    budget: usize,
    input_bytes: usize,
}

/// A node arriving in the event stream, after alias resolution.
enum Node {
    Scalar(Yaml, usize),
    MapStart(usize),
    ListStart(usize),
    Alias(usize),
}

impl<'l> Flattener<'l> {
    fn new(limits: &'l YamlLimits, input_bytes: usize) -> Self {
        Flattener {
            limits,
            conf: Configuration::new(),
            path: String::new(),
            frames: Vec::new(),
            fragments: HashMap::new(),
            documents: 0,
            collection_aliases: 0,
            spent: 0,
            budget: limits.expansion_budget(input_bytes),
            input_bytes,
        }
    }

    /// Charges `cost` to the expansion budget before it is spent.
    fn charge(&mut self, cost: usize, mark: Marker) -> Result<(), YamlError> {
        self.spent = self.spent.saturating_add(cost);
        if self.spent > self.budget {
            return Err(YamlError::Limit(format!(
                "the document expands to more than {} bytes of configuration at line {} \
                 (tmrt's limit: {} bytes + {} × the document's {} bytes; aliases of aliases, \
                 or long keys over many children)",
                self.budget,
                mark.line(),
                self.limits.expansion_floor,
                self.limits.expansion_factor,
                self.input_bytes,
            )));
        }
        Ok(())
    }

    fn on_event(&mut self, event: Event, mark: Marker) -> Result<(), YamlError> {
        let node = match event {
            Event::StreamStart | Event::StreamEnd | Event::Nothing | Event::DocumentEnd => return Ok(()),
            Event::DocumentStart => {
                self.documents += 1;
                if self.documents > 1 {
                    return Err(YamlError::Invalid(format!(
                        "a second document at line {} (Flink's YAML reader expects a single document in the stream)",
                        mark.line()
                    )));
                }
                return Ok(());
            }
            Event::MappingEnd => return self.end_map(),
            Event::SequenceEnd => return self.end_list(mark),
            Event::Scalar(value, style, anchor, tag) => {
                Node::Scalar(resolve_scalar(value, style, tag.as_ref()), anchor)
            }
            Event::MappingStart(anchor, _) => Node::MapStart(anchor),
            Event::SequenceStart(anchor, _) => Node::ListStart(anchor),
            Event::Alias(anchor) => Node::Alias(anchor),
        };
        if let Node::MapStart(_) | Node::ListStart(_) = node {
            if self.frames.len() >= self.limits.max_depth {
                return Err(YamlError::Invalid(format!(
                    "nesting deeper than {} levels at line {}",
                    self.limits.max_depth,
                    mark.line()
                )));
            }
        }
        // An alias is counted, and resolved to its fragment, before anything is expanded.
        let fragment = match node {
            Node::Alias(anchor) => Some(self.alias(anchor, mark)?),
            _ => None,
        };
        match self.frames.last_mut() {
            None => self.root(node, mark),
            Some(Frame::List { .. }) => self.list_item(node, fragment, mark),
            Some(Frame::Map { key_pending: false, .. }) => self.map_key(node, fragment, mark),
            Some(Frame::Map { key_pending: true, .. }) => self.map_value(node, fragment, mark),
        }
    }

    fn alias(&mut self, anchor: usize, mark: Marker) -> Result<usize, YamlError> {
        match self.fragments.get(&anchor) {
            None => Err(YamlError::Invalid(format!(
                "an alias at line {} refers to a node that contains it (recursive alias)",
                mark.line()
            ))),
            Some(Fragment::Scalar(_)) => Ok(anchor),
            Some(_) => {
                self.collection_aliases += 1;
                if self.collection_aliases > self.limits.max_collection_aliases {
                    return Err(YamlError::Limit(format!(
                        "more than {} aliases of mappings or sequences, at line {} (Flink's YAML reader refuses them: \
                         'Number of aliases for non-scalar nodes exceeds the specified max={}')",
                        self.limits.max_collection_aliases,
                        mark.line(),
                        self.limits.max_collection_aliases
                    )));
                }
                Ok(anchor)
            }
        }
    }

    fn root(&mut self, node: Node, mark: Marker) -> Result<(), YamlError> {
        match node {
            Node::MapStart(anchor) => {
                self.open_map(anchor);
                Ok(())
            }
            Node::Scalar(Yaml::Null, anchor) => self.keep_scalar(anchor, &Yaml::Null, mark),
            _ => Err(YamlError::Invalid(
                "the top level must be a mapping of option keys".to_string(),
            )),
        }
    }

    fn open_map(&mut self, anchor: usize) {
        self.frames.push(Frame::Map {
            base: self.path.len(),
            key_pending: false,
            keys: HashSet::new(),
            anchor,
            fragment: Vec::new(),
        });
    }

    fn keep_scalar(&mut self, anchor: usize, value: &Yaml, mark: Marker) -> Result<(), YamlError> {
        if anchor != 0 {
            self.charge(scalar_text(value).map_or(0, |t| t.len()) + ENTRY_COST, mark)?;
            self.fragments.insert(anchor, Fragment::Scalar(value.clone()));
        }
        Ok(())
    }

    /// The key path's prefix for the innermost mapping, for messages.
    fn prefix(&self) -> &str {
        match self.frames.last() {
            Some(Frame::Map { base, .. }) => &self.path[..*base],
            _ => &self.path,
        }
    }

    fn map_key(&mut self, node: Node, fragment: Option<usize>, mark: Marker) -> Result<(), YamlError> {
        let key = match node {
            Node::Scalar(y, anchor) => {
                self.keep_scalar(anchor, &y, mark)?;
                Some(y)
            }
            Node::Alias(_) => match fragment.and_then(|a| self.fragments.get(&a)) {
                Some(Fragment::Scalar(y)) => Some(y.clone()),
                _ => None,
            },
            Node::MapStart(_) | Node::ListStart(_) => None,
        };
        let Some(text) = key.as_ref().and_then(scalar_text) else {
            return Err(YamlError::Invalid(format!(
                "unsupported key under '{}' at line {}",
                self.prefix(),
                mark.line()
            )));
        };
        self.charge(text.len() + KEY_COST, mark)?;
        let Some(Frame::Map {
            base,
            key_pending,
            keys,
            ..
        }) = self.frames.last_mut()
        else {
            unreachable!("map_key is called for a mapping frame")
        };
        let base = *base;
        if !keys.insert(key.expect("a key with text")) {
            return Err(YamlError::Invalid(format!(
                "duplicate key '{text}' at line {} (Flink's YAML reader refuses duplicate keys)",
                mark.line()
            )));
        }
        *key_pending = true;
        self.path.truncate(base);
        if base > 0 {
            self.path.push('.');
        }
        self.path.push_str(&text);
        Ok(())
    }

    /// The value of the pending key has been read: the mapping expects its next key.
    fn value_done(&mut self) {
        if let Some(Frame::Map { key_pending, .. }) = self.frames.last_mut() {
            *key_pending = false;
        }
    }

    fn map_value(&mut self, node: Node, fragment: Option<usize>, mark: Marker) -> Result<(), YamlError> {
        match node {
            Node::Scalar(y, anchor) => {
                self.keep_scalar(anchor, &y, mark)?;
                self.scalar_value(&y, mark)?;
                self.value_done();
            }
            Node::MapStart(anchor) => self.open_map(anchor),
            Node::ListStart(anchor) => self.frames.push(Frame::List {
                parts: String::new(),
                count: 0,
                anchor,
            }),
            Node::Alias(_) => {
                let anchor = fragment.expect("aliases are resolved");
                // Take the fragment out while emitting it (emitting records into open fragments,
                // never into this finished one), and put it back.
                let f = self.fragments.remove(&anchor).expect("resolved alias");
                let result = self.emit_fragment(&f, mark);
                self.fragments.insert(anchor, f);
                result?;
                self.value_done();
            }
        }
        Ok(())
    }

    fn scalar_value(&mut self, y: &Yaml, mark: Marker) -> Result<(), YamlError> {
        match y {
            Yaml::Null => Ok(()),
            other => match scalar_text(other) {
                Some(text) => {
                    let key = self.path.clone();
                    self.emit(key, text, mark)
                }
                None => Err(YamlError::Invalid(format!(
                    "'{}': unsupported value at line {}",
                    self.path,
                    mark.line()
                ))),
            },
        }
    }

    fn emit_fragment(&mut self, f: &Fragment, mark: Marker) -> Result<(), YamlError> {
        match f {
            Fragment::Scalar(y) => self.scalar_value(y, mark),
            Fragment::List(joined) => {
                let key = self.path.clone();
                self.emit(key, joined.clone(), mark)
            }
            Fragment::Map(entries) => {
                for (suffix, value) in entries {
                    let key = if self.path.is_empty() {
                        suffix.clone()
                    } else {
                        format!("{}.{suffix}", self.path)
                    };
                    self.emit(key, value.clone(), mark)?;
                }
                Ok(())
            }
        }
    }

    /// Writes one entry, and records it in every anchored mapping that is still open.
    fn emit(&mut self, key: String, value: String, mark: Marker) -> Result<(), YamlError> {
        let cost = key.len() + value.len() + ENTRY_COST;
        self.charge(cost, mark)?;
        let mut recorded = 0;
        for frame in &self.frames {
            if let Frame::Map { anchor, .. } = frame {
                recorded += usize::from(*anchor != 0);
            }
        }
        if recorded > 0 {
            self.charge(cost.saturating_mul(recorded), mark)?;
            for frame in &mut self.frames {
                if let Frame::Map {
                    anchor, base, fragment, ..
                } = frame
                {
                    if *anchor != 0 {
                        let suffix = if *base == 0 { &key[..] } else { &key[*base + 1..] };
                        fragment.push((suffix.to_string(), value.clone()));
                    }
                }
            }
        }
        self.conf.set(key, value);
        Ok(())
    }

    fn list_item(&mut self, node: Node, fragment: Option<usize>, mark: Marker) -> Result<(), YamlError> {
        let item = match node {
            Node::Scalar(y, anchor) => {
                self.keep_scalar(anchor, &y, mark)?;
                scalar_text(&y)
            }
            Node::Alias(_) => match fragment.and_then(|a| self.fragments.get(&a)) {
                Some(Fragment::Scalar(y)) => scalar_text(y),
                _ => None,
            },
            Node::MapStart(_) | Node::ListStart(_) => None,
        };
        let Some(text) = item else {
            return Err(YamlError::Invalid(format!(
                "'{}': lists may only hold scalars (line {})",
                self.path,
                mark.line()
            )));
        };
        self.charge(text.len() + 1, mark)?;
        let Some(Frame::List { parts, count, .. }) = self.frames.last_mut() else {
            unreachable!("list_item is called for a list frame")
        };
        if *count > 0 {
            parts.push(';');
        }
        parts.push_str(&text);
        *count += 1;
        Ok(())
    }

    fn end_list(&mut self, mark: Marker) -> Result<(), YamlError> {
        let Some(Frame::List { parts, anchor, .. }) = self.frames.pop() else {
            return Err(YamlError::Invalid("unbalanced sequence end".to_string()));
        };
        if self.frames.is_empty() {
            return Err(YamlError::Invalid(
                "the top level must be a mapping of option keys".to_string(),
            ));
        }
        if anchor != 0 {
            self.charge(parts.len() + ENTRY_COST, mark)?;
            self.fragments.insert(anchor, Fragment::List(parts.clone()));
        }
        let key = self.path.clone();
        self.emit(key, parts, mark)?;
        self.value_done();
        Ok(())
    }

    fn end_map(&mut self) -> Result<(), YamlError> {
        let Some(Frame::Map {
            base, anchor, fragment, ..
        }) = self.frames.pop()
        else {
            return Err(YamlError::Invalid("unbalanced mapping end".to_string()));
        };
        self.path.truncate(base);
        if anchor != 0 {
            // Already charged entry by entry as it was recorded.
            self.fragments.insert(anchor, Fragment::Map(fragment));
        }
        self.value_done();
        Ok(())
    }
}

/// A scalar event as `YamlLoader` types it: quoted scalars are strings, plain ones resolved by
/// YAML 1.2 core rules (`Yaml::from_str`), `!!bool`/`!!int`/`!!float`/`!!null` tags checked.
fn resolve_scalar(value: String, style: TScalarStyle, tag: Option<&Tag>) -> Yaml {
    if style != TScalarStyle::Plain {
        return Yaml::String(value);
    }
    match tag {
        Some(Tag { handle, suffix }) if handle == "tag:yaml.org,2002:" => match suffix.as_str() {
            "bool" => match value.as_str() {
                "true" | "True" | "TRUE" => Yaml::Boolean(true),
                "false" | "False" | "FALSE" => Yaml::Boolean(false),
                _ => Yaml::BadValue,
            },
            "int" => value.parse::<i64>().map_or(Yaml::BadValue, Yaml::Integer),
            "float" if is_yaml_float(&value) => Yaml::Real(value),
            "float" => Yaml::BadValue,
            "null" => match value.as_str() {
                "~" | "null" => Yaml::Null,
                _ => Yaml::BadValue,
            },
            _ => Yaml::String(value),
        },
        Some(_) => Yaml::String(value),
        None => Yaml::from_str(&value),
    }
}

/// `YamlLoader`'s float check: a named infinity or NaN, or a Rust float with a digit in it.
fn is_yaml_float(v: &str) -> bool {
    matches!(
        v,
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" | "-.inf" | "-.Inf" | "-.INF" | ".nan" | ".NaN" | ".NAN"
    ) || (v.bytes().any(|b| b.is_ascii_digit()) && v.parse::<f64>().is_ok())
}

fn scalar_text(node: &Yaml) -> Option<String> {
    match node {
        Yaml::String(s) | Yaml::Real(s) => Some(s.clone()),
        Yaml::Integer(i) => Some(i.to_string()),
        Yaml::Boolean(b) => Some(b.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Configuration, YamlError> {
        parse_standard_yaml(text)
    }

    fn entries(c: &Configuration) -> Vec<(String, String)> {
        c.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn standard_yaml_is_flattened() {
        let c = parse(
            "taskmanager:\n  memory:\n    process.size: 1728m\n    managed:\n      fraction: 0.40\n  numberOfTaskSlots: 4\n\
             classloader.parent-first-patterns.additional:\n  - com.foo.\n  - org.bar\n\
             flag: true\nhex: 0x10\nquoted: '0x10'\nnothing: ~\nempty: []\nnone: {}\n",
        )
        .unwrap();
        assert_eq!(c.get("taskmanager.memory.process.size"), Some("1728m"));
        assert_eq!(c.get("taskmanager.memory.managed.fraction"), Some("0.40"));
        assert_eq!(c.get("taskmanager.numberOfTaskSlots"), Some("4"));
        assert_eq!(
            c.get("classloader.parent-first-patterns.additional"),
            Some("com.foo.;org.bar")
        );
        assert_eq!(c.get("flag"), Some("true"));
        assert_eq!(c.get("hex"), Some("16"));
        assert_eq!(c.get("quoted"), Some("0x10"));
        assert!(!c.contains("nothing") && !c.contains("none"));
        assert_eq!(c.get("empty"), Some(""));
        assert_eq!(c.len(), 8);
    }

    #[test]
    fn aliases_expand_as_flink_flattens_them() {
        // Flink 2.2.0 (GlobalConfiguration.loadConfiguration) on the same document gives
        // a.x=1, a.y=[p, q], b.x=1, b.y=[p, q], c=[1, 2], l=[1, 2] (lists joined with ';' here).
        let c = parse("a: &a\n  x: 1\n  y: [p, q]\nb: *a\nl: &l [1, 2]\nc: *l\ns: &s 7\nt: *s\n*s : key\n").unwrap();
        assert_eq!(
            entries(&c),
            [
                ("7", "key"),
                ("a.x", "1"),
                ("a.y", "p;q"),
                ("b.x", "1"),
                ("b.y", "p;q"),
                ("c", "1;2"),
                ("l", "1;2"),
                ("s", "7"),
                ("t", "7"),
            ]
            .map(|(k, v)| (k.to_string(), v.to_string()))
        );
        // Nested anchors, and an alias inside an anchored mapping.
        let c = parse("o: &o\n  i: &i {k: v}\n  j: *i\np: *o\n").unwrap();
        for key in ["o.i.k", "o.j.k", "p.i.k", "p.j.k"] {
            assert_eq!(c.get(key), Some("v"), "{key} in {:?}", entries(&c));
        }
        assert_eq!(c.len(), 4);
    }

    #[test]
    fn fifty_collection_aliases_pass_the_fifty_first_is_refused_scalars_are_free() {
        let doc = |n: usize| {
            let mut s = String::from("m: &m {x: 1, y: 2}\n");
            for i in 0..n {
                s.push_str(&format!("k{i}: *m\n"));
            }
            s
        };
        let c = parse(&doc(50)).unwrap();
        assert_eq!(c.len(), 2 + 50 * 2);
        match parse(&doc(51)) {
            Err(YamlError::Limit(m)) => {
                assert!(m.contains("more than 50 aliases") && m.contains("line 52"), "{m}");
                assert!(m.contains("specified max=50"), "{m}");
            }
            other => panic!("{other:?}"),
        }
        let mut scalars = String::from("s: &s 7\n");
        for i in 0..500 {
            scalars.push_str(&format!("k{i}: *s\n"));
        }
        assert_eq!(parse(&scalars).unwrap().len(), 501);
    }

    #[test]
    fn alias_bombs_end_at_a_limit() {
        // The bomb: nine levels of lists of aliases (lists of lists are refused at once).
        let mut bomb = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        for (i, name) in "bcdefghi".chars().enumerate() {
            let prev = (b'a' + i as u8) as char;
            bomb.push_str(&format!(
                "{name}: &{name} [{}]\n",
                vec![format!("*{prev}"); 10].join(", ")
            ));
        }
        assert!(matches!(parse(&bomb), Err(YamlError::Invalid(m)) if m.contains("lists may only hold scalars")));
        // The same with mappings, 5 aliases per level (45 in all, under Flink's 50): 5^9 copies.
        let mut bomb = String::from("a: &a {x: 1, y: 2}\n");
        for (i, name) in "bcdefghij".chars().enumerate() {
            let prev = (b'a' + i as u8) as char;
            let fields: Vec<String> = (0..5).map(|j| format!("{name}{j}: *{prev}")).collect();
            bomb.push_str(&format!("{name}: &{name} {{{}}}\n", fields.join(", ")));
        }
        match parse(&bomb) {
            Err(YamlError::Limit(m)) => assert!(m.contains("expands to more than"), "{m}"),
            other => panic!("{other:?}"),
        }
        // Scalar aliases of a long scalar.
        let mut bomb = format!("s: &s {}\n", "v".repeat(100_000));
        for i in 0..2_000 {
            bomb.push_str(&format!("k{i}: *s\n"));
        }
        assert!(matches!(parse(&bomb), Err(YamlError::Limit(_))));
        // A long key over many children, no alias at all (an explicit key: implicit ones are at
        // most 1024 characters).
        let mut long = format!("? {}\n:\n", "k".repeat(200_000));
        for i in 0..1_000 {
            long.push_str(&format!("  c{i}: 1\n"));
        }
        assert!(matches!(parse(&long), Err(YamlError::Limit(_))));
    }

    #[test]
    fn code_points_are_limited_as_flink_does() {
        let limits = YamlLimits {
            max_code_points: 20,
            ..YamlLimits::default()
        };
        assert!(parse_standard_yaml_with_limits("a: 1\nb: 2\n", &limits).is_ok());
        // 20 code points of 2 bytes each pass; 21 do not.
        let ok = format!("a: {}", "é".repeat(17));
        assert!(parse_standard_yaml_with_limits(&ok, &limits).is_ok());
        match parse_standard_yaml_with_limits(&format!("{ok}é"), &limits) {
            Err(YamlError::Limit(m)) => assert!(m.contains("more than 20 code points"), "{m}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn structure_flink_refuses_is_an_error() {
        let invalid = |text: &str, needle: &str| match parse(text) {
            Err(YamlError::Invalid(m)) => assert!(m.contains(needle), "{text:?}: {m}"),
            other => panic!("{text:?}: {other:?}"),
        };
        invalid("a: [1, 2", "");
        invalid("- just\n- a list\n", "top level must be a mapping");
        invalid("just a scalar\n", "top level must be a mapping");
        invalid("a: 1\na: 2\n", "duplicate key 'a' at line 2");
        invalid("a: 1\n---\nb: 2\n", "second document");
        invalid("a: &a [*a]\n", "recursive alias");
        invalid("a: [[1]]\n", "lists may only hold scalars");
        invalid("? [1]\n: v\n", "unsupported key");
        invalid("a: !!int x\n", "unsupported value");
        invalid("b: *nowhere\n", "unknown anchor");
        assert!(parse("").unwrap().is_empty());
        assert!(parse("# only a comment\n").unwrap().is_empty());
        assert!(parse("---\na: 1\n...\n").unwrap().get("a") == Some("1"));
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        let text: String = (0..2_000).map(|i| format!("{}k{i}:\n", " ".repeat(i))).collect();
        let err = parse(&text).unwrap_err().to_string();
        assert!(err.contains("nesting deeper than 64 levels"), "{err}");
        let flow = format!("a: {}", "{b: ".repeat(100_000));
        let err = parse(&flow).unwrap_err().to_string();
        assert!(err.contains("nesting deeper than 64 levels"), "{err}");
    }

    #[test]
    fn byte_order_marks_select_the_encoding_as_snakeyaml_does() {
        let text = "taskmanager.numberOfTaskSlots: 3\nb: é\n";
        let mut utf8 = vec![0xEF, 0xBB, 0xBF];
        utf8.extend_from_slice(text.as_bytes());
        let mut utf16le = vec![0xFF, 0xFE];
        let mut utf16be = vec![0xFE, 0xFF];
        for u in text.encode_utf16() {
            utf16le.extend_from_slice(&u.to_le_bytes());
            utf16be.extend_from_slice(&u.to_be_bytes());
        }
        let mut utf32le = vec![0xFF, 0xFE, 0, 0];
        let mut utf32be = vec![0, 0, 0xFE, 0xFF];
        for c in text.chars() {
            utf32le.extend_from_slice(&(c as u32).to_le_bytes());
            utf32be.extend_from_slice(&(c as u32).to_be_bytes());
        }
        for bytes in [text.as_bytes().to_vec(), utf8, utf16le, utf16be, utf32le, utf32be] {
            let decoded = decode_yaml_bytes(bytes.clone()).unwrap();
            assert_eq!(decoded, text, "{:x?}", &bytes[..4]);
            let c = parse(&decoded).unwrap();
            assert_eq!(c.get("taskmanager.numberOfTaskSlots"), Some("3"));
        }
        // A BOM left in the text (an API caller's) is dropped as well.
        assert_eq!(
            parse(&format!("\u{FEFF}{text}"))
                .unwrap()
                .get("taskmanager.numberOfTaskSlots"),
            Some("3")
        );
        let err = decode_yaml_bytes(b"a: x\xffy\n".to_vec()).unwrap_err().to_string();
        assert!(err.contains("not valid UTF-8 at byte 4"), "{err}");
        let err = decode_yaml_bytes(vec![0xFF, 0xFE, 0x00, 0xD8, 0x41, 0x00])
            .unwrap_err()
            .to_string();
        assert!(err.contains("not valid UTF-16LE"), "{err}");
    }
}
