//! Text templates such as `jcc-{IMO}-{#date}`: literal text with placeholders that name columns by header or HXL hashtag.

use crate::hxl::HxlPattern;

/// Where a placeholder, a field or a skip rule takes a cell from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ColumnReference {
    /// A column by its header name, compared after trimming.
    Header(String),
    /// Columns by HXL hashtag pattern.
    Hxl(HxlPattern),
}

impl std::fmt::Display for ColumnReference {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ColumnReference::Header(name) => write!(formatter, "column {name:?}"),
            ColumnReference::Hxl(pattern) => write!(formatter, "HXL {pattern}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TemplatePart {
    Literal(String),
    Column(ColumnReference),
    /// `{group}`: the group key of the rows that make the record.
    GroupKey,
}

/// A parsed template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Template {
    pub(crate) text: String,
    pub(crate) parts: Vec<TemplatePart>,
}

impl Template {
    /// Parses `text`. `{{` and `}}` stand for literal braces. A placeholder
    /// starting with `#` is an HXL pattern, `{group}` is the group key, anything
    /// else is a header name.
    pub(crate) fn parse(text: &str) -> Result<Template, String> {
        let mut parts = Vec::new();
        let mut literal = String::new();
        let mut characters = text.chars().peekable();
        while let Some(character) = characters.next() {
            match character {
                '{' if characters.peek() == Some(&'{') => {
                    characters.next();
                    literal.push('{');
                }
                '}' if characters.peek() == Some(&'}') => {
                    characters.next();
                    literal.push('}');
                }
                '}' => {
                    return Err(
                        "a '}' has no matching '{' (write '}}' for a literal brace)".to_owned()
                    );
                }
                '{' => {
                    let mut name = String::new();
                    loop {
                        match characters.next() {
                            Some('}') => break,
                            Some('{') => return Err("placeholders cannot be nested".to_owned()),
                            Some(inner) => name.push(inner),
                            None => {
                                return Err(
                                    "a '{' is not closed by '}' (write '{{' for a literal brace)"
                                        .to_owned(),
                                );
                            }
                        }
                    }
                    let name = name.trim();
                    if !literal.is_empty() {
                        parts.push(TemplatePart::Literal(std::mem::take(&mut literal)));
                    }
                    parts.push(if name == "group" {
                        TemplatePart::GroupKey
                    } else if name.starts_with('#') {
                        TemplatePart::Column(ColumnReference::Hxl(
                            HxlPattern::parse(name).map_err(|error| error.to_string())?,
                        ))
                    } else if name.is_empty() {
                        return Err("a placeholder '{}' names no column".to_owned());
                    } else {
                        TemplatePart::Column(ColumnReference::Header(name.to_owned()))
                    });
                }
                other => literal.push(other),
            }
        }
        if !literal.is_empty() {
            parts.push(TemplatePart::Literal(literal));
        }
        if !parts
            .iter()
            .any(|part| !matches!(part, TemplatePart::Literal(_)))
        {
            return Err("a template needs at least one placeholder such as {_uuid}; use `constant` for fixed text".to_owned());
        }
        Ok(Template {
            text: text.to_owned(),
            parts,
        })
    }

    pub(crate) fn uses_group_key(&self) -> bool {
        self.parts
            .iter()
            .any(|part| matches!(part, TemplatePart::GroupKey))
    }
}

/// Makes a placeholder value fit the id alphabet of docs/records.md
/// (`A-Z a-z 0-9 . _ : -`): every other character becomes `-`, so that
/// `{#date}` = `14/06/2023` gives `14-06-2023`.
pub(crate) fn id_safe(value: &str) -> String {
    value
        .chars()
        .map(|character| {
            if character.is_ascii_alphanumeric() || matches!(character, '.' | '_' | ':' | '-') {
                character
            } else {
                '-'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_name_headers_hashtags_or_the_group() {
        let template = Template::parse("jcc-{IMO}-{#date}/{group}").expect("valid");
        assert_eq!(
            template.parts,
            vec![
                TemplatePart::Literal("jcc-".into()),
                TemplatePart::Column(ColumnReference::Header("IMO".into())),
                TemplatePart::Literal("-".into()),
                TemplatePart::Column(ColumnReference::Hxl(
                    HxlPattern::parse("#date").expect("valid")
                )),
                TemplatePart::Literal("/".into()),
                TemplatePart::GroupKey,
            ]
        );
        assert!(template.uses_group_key());
    }

    #[test]
    fn doubled_braces_are_literal() {
        let template = Template::parse("{{x}}-{a b}").expect("valid");
        assert_eq!(
            template.parts,
            vec![
                TemplatePart::Literal("{x}-".into()),
                TemplatePart::Column(ColumnReference::Header("a b".into())),
            ]
        );
    }

    #[test]
    fn malformed_templates_are_refused() {
        assert_eq!(
            Template::parse("kobo-{_uuid"),
            Err("a '{' is not closed by '}' (write '{{' for a literal brace)".into())
        );
        assert!(Template::parse("kobo-}").is_err());
        assert!(Template::parse("kobo-{}").is_err());
        assert!(Template::parse("{a{b}}").is_err());
        assert!(Template::parse("{#1x}").is_err());
        assert_eq!(
            Template::parse("fixed"),
            Err("a template needs at least one placeholder such as {_uuid}; use `constant` for fixed text".into())
        );
    }

    #[test]
    fn id_safe_replaces_characters_outside_the_id_alphabet() {
        assert_eq!(id_safe("14/06/2023 08:30"), "14-06-2023-08:30");
        assert_eq!(id_safe("Ünal"), "-nal");
    }
}
