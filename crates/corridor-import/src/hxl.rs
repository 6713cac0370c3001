//! HXL hashtags (Humanitarian Exchange Language): parsing the hashtag row of a file and matching mapping patterns against it.
//!
//! Follows the HXL 1.1 standard (<https://hxlstandard.org/standard/1-1final/>):
//! a hashtag is `#tag` followed by zero or more `+attribute`s, compared
//! case-insensitively. A pattern such as `#org+type` matches every column whose
//! tag is `#org` and whose attributes include `type` (the pattern's attributes are
//! a subset of the column's), so it matches `#org+type+code` too. A pattern may
//! also exclude an attribute with `-attribute` (`#org-code`), as in the HXL
//! Proxy's tag patterns.

use std::collections::BTreeSet;
use std::fmt;

/// The hashtag of one column, from the file's hashtag row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HxlColumnTag {
    tag: String,
    attributes: BTreeSet<String>,
}

/// A pattern from the mapping that selects columns by hashtag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HxlPattern {
    tag: String,
    required_attributes: BTreeSet<String>,
    excluded_attributes: BTreeSet<String>,
}

/// Why a hashtag or pattern could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{text:?} is not an HXL hashtag: {reason}")]
pub struct HxlSyntaxError {
    text: String,
    reason: &'static str,
}

impl HxlColumnTag {
    /// Reads a column's hashtag, e.g. `#org+type+code`.
    ///
    /// # Errors
    ///
    /// When the text is not `#tag` with optional `+attribute`s.
    pub fn parse(text: &str) -> Result<HxlColumnTag, HxlSyntaxError> {
        let (tag, parts) = split_hashtag(text)?;
        let mut attributes = BTreeSet::new();
        for (sign, attribute) in parts {
            if sign != '+' {
                return Err(HxlSyntaxError {
                    text: text.to_owned(),
                    reason: "a column's attributes start with '+'",
                });
            }
            attributes.insert(attribute);
        }
        Ok(HxlColumnTag { tag, attributes })
    }
}

impl HxlPattern {
    /// Reads a mapping pattern, e.g. `#org+type` or `#affected-refugees`.
    ///
    /// # Errors
    ///
    /// When the text is not `#tag` with optional `+attribute`s and `-attribute`s.
    pub fn parse(text: &str) -> Result<HxlPattern, HxlSyntaxError> {
        let (tag, parts) = split_hashtag(text)?;
        let mut required_attributes = BTreeSet::new();
        let mut excluded_attributes = BTreeSet::new();
        for (sign, attribute) in parts {
            if sign == '+' {
                required_attributes.insert(attribute);
            } else {
                excluded_attributes.insert(attribute);
            }
        }
        if !required_attributes.is_disjoint(&excluded_attributes) {
            return Err(HxlSyntaxError {
                text: text.to_owned(),
                reason: "an attribute is both required (+) and excluded (-)",
            });
        }
        Ok(HxlPattern {
            tag,
            required_attributes,
            excluded_attributes,
        })
    }

    /// Whether a column with this hashtag is selected by the pattern.
    pub fn matches(&self, column: &HxlColumnTag) -> bool {
        self.tag == column.tag
            && self.required_attributes.is_subset(&column.attributes)
            && self.excluded_attributes.is_disjoint(&column.attributes)
    }
}

impl fmt::Display for HxlColumnTag {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "#{}", self.tag)?;
        for attribute in &self.attributes {
            write!(formatter, "+{attribute}")?;
        }
        Ok(())
    }
}

impl fmt::Display for HxlPattern {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "#{}", self.tag)?;
        for attribute in &self.required_attributes {
            write!(formatter, "+{attribute}")?;
        }
        for attribute in &self.excluded_attributes {
            write!(formatter, "-{attribute}")?;
        }
        Ok(())
    }
}

/// Whether a row is an HXL hashtag row: at least one cell, and every non-empty
/// cell a valid column hashtag (HXL 1.1, "Hashtag row").
pub fn is_hashtag_row(cells: &[String]) -> bool {
    let mut tagged_cells = 0;
    for cell in cells {
        let cell = cell.trim();
        if cell.is_empty() {
            continue;
        }
        if HxlColumnTag::parse(cell).is_err() {
            return false;
        }
        tagged_cells += 1;
    }
    tagged_cells > 0
}

/// Splits `#tag+a-b` into the lower-cased tag name and its signed attributes.
/// Whitespace is ignored, as HXL allows `#org +type`.
fn split_hashtag(text: &str) -> Result<(String, Vec<(char, String)>), HxlSyntaxError> {
    let syntax_error = |reason| HxlSyntaxError {
        text: text.to_owned(),
        reason,
    };
    let compact: String = text
        .chars()
        .filter(|character| !character.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect();
    let Some(rest) = compact.strip_prefix('#') else {
        return Err(syntax_error("it must start with '#'"));
    };
    let mut parts = Vec::new();
    let mut current_sign = None;
    let mut current_name = String::new();
    let mut tag = None;
    for character in rest.chars().chain(std::iter::once('+')) {
        if character == '+' || character == '-' {
            if !is_hxl_name(&current_name) {
                return Err(syntax_error(
                    "tag and attribute names are a letter followed by letters, digits or '_'",
                ));
            }
            let name = std::mem::take(&mut current_name);
            match current_sign {
                None => tag = Some(name),
                Some(sign) => parts.push((sign, name)),
            }
            current_sign = Some(character);
        } else {
            current_name.push(character);
        }
    }
    let tag = tag.ok_or_else(|| syntax_error("the tag name is missing"))?;
    Ok((tag, parts))
}

fn is_hxl_name(name: &str) -> bool {
    let mut characters = name.chars();
    characters
        .next()
        .is_some_and(|first| first.is_ascii_alphabetic())
        && characters.all(|character| character.is_ascii_alphanumeric() || character == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column(text: &str) -> HxlColumnTag {
        HxlColumnTag::parse(text).expect("test hashtag is valid")
    }

    fn pattern(text: &str) -> HxlPattern {
        HxlPattern::parse(text).expect("test pattern is valid")
    }

    #[test]
    fn pattern_attributes_must_be_a_subset_of_the_column_attributes() {
        assert!(pattern("#org+type").matches(&column("#org+type+code")));
        assert!(pattern("#org").matches(&column("#org+type")));
        assert!(!pattern("#org+type").matches(&column("#org+name")));
        assert!(!pattern("#org+type").matches(&column("#loc+type")));
    }

    #[test]
    fn matching_ignores_case_and_whitespace() {
        assert!(pattern("#ORG+Type").matches(&column(" #org +TYPE+code ")));
    }

    #[test]
    fn excluded_attributes_reject_columns_that_have_them() {
        assert!(pattern("#org-code").matches(&column("#org+name")));
        assert!(!pattern("#org-code").matches(&column("#org+type+code")));
    }

    #[test]
    fn display_is_canonical() {
        assert_eq!(column("#Org+type+Code").to_string(), "#org+code+type");
        assert_eq!(pattern("#org-code+type").to_string(), "#org+type-code");
    }

    #[test]
    fn malformed_hashtags_are_refused_with_a_reason() {
        assert_eq!(
            HxlColumnTag::parse("org+type")
                .expect_err("no #")
                .to_string(),
            "\"org+type\" is not an HXL hashtag: it must start with '#'"
        );
        assert!(HxlColumnTag::parse("#org-type").is_err());
        assert!(HxlColumnTag::parse("#").is_err());
        assert!(HxlColumnTag::parse("#1abc").is_err());
        assert!(HxlColumnTag::parse("#org++type").is_err());
        assert!(HxlPattern::parse("#org+type-type").is_err());
    }

    #[test]
    fn a_hashtag_row_has_only_hashtags_and_empty_cells() {
        let row = |cells: &[&str]| {
            cells
                .iter()
                .map(|cell| cell.to_string())
                .collect::<Vec<_>>()
        };
        assert!(is_hashtag_row(&row(&["#date", "", "#org+type"])));
        assert!(!is_hashtag_row(&row(&["#date", "2023-06-14"])));
        assert!(!is_hashtag_row(&row(&["", ""])));
    }
}
