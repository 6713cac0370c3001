//! Value normalisation (`normalize = "trim" | "lower" | "slug"`): rewrites a cell's text before its value map, so "Sunflower meal" can become `sunflower_meal` without a map entry per spelling.

/// How a field's text is rewritten before it meets the value map.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Normalization {
    /// Runs of whitespace inside the text become one space (cells are
    /// already read without surrounding spaces).
    Trim,
    /// `Trim`, then lower case (Unicode rules: "ÇAY" becomes "çay").
    Lower,
    /// A token of `a-z 0-9 _`: letters are transliterated to ASCII
    /// ("Çay" → "cay", "Мука" → "muka"), lower-cased, and every run of other
    /// characters becomes one `_`, with none at either end.
    Slug,
}

/// Why a text has no normalised form. The caller adds the field, the column
/// and (unless it is personal data) the value.
pub(crate) const NOTHING_TO_SLUG: &str =
    "has no letters or digits to make a slug from (normalize = \"slug\")";

impl Normalization {
    /// Reads the mapping's `normalize` value.
    pub(crate) fn parse(text: &str) -> Option<Normalization> {
        match text {
            "trim" => Some(Normalization::Trim),
            "lower" => Some(Normalization::Lower),
            "slug" => Some(Normalization::Slug),
            _ => None,
        }
    }

    /// The normalised text; `Err` (with [`NOTHING_TO_SLUG`]) when a slug
    /// would be empty, e.g. for a cell of punctuation only.
    pub(crate) fn apply(self, text: &str) -> Result<String, &'static str> {
        match self {
            Normalization::Trim => Ok(collapse_whitespace(text)),
            Normalization::Lower => Ok(collapse_whitespace(text).to_lowercase()),
            Normalization::Slug => {
                let slug = slug(text);
                if slug.is_empty() {
                    Err(NOTHING_TO_SLUG)
                } else {
                    Ok(slug)
                }
            }
        }
    }
}

fn collapse_whitespace(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn slug(text: &str) -> String {
    // deunicode spells out letters of other scripts in ASCII ("Ş" → "S",
    // "ж" → "zh"); what is still not a letter or digit then separates words.
    // It writes the schwa as the IPA sign "@", which would split Azerbaijani
    // words ("Şəkər" → "s_k_r"); the language's own Latin spelling without
    // it is "e".
    let ascii = deunicode::deunicode(&text.replace(['ə', 'Ə'], "e"));
    let mut slug = String::with_capacity(ascii.len());
    let mut separator_pending = false;
    for character in ascii.chars() {
        if character.is_ascii_alphanumeric() {
            if separator_pending && !slug.is_empty() {
                slug.push('_');
            }
            separator_pending = false;
            slug.push(character.to_ascii_lowercase());
        } else {
            separator_pending = true;
        }
    }
    slug
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(normalization: Normalization, cases: &[(&str, &str)]) {
        for (input, expected) in cases {
            assert_eq!(
                normalization.apply(input).as_deref(),
                Ok(*expected),
                "{normalization:?} of {input:?}"
            );
        }
    }

    #[test]
    fn slug_makes_tokens_of_names() {
        check(
            Normalization::Slug,
            &[
                ("Sunflower meal", "sunflower_meal"),
                ("Soya beans", "soya_beans"),
                ("  Wheat flour (bagged) ", "wheat_flour_bagged"),
                ("construction-materials", "construction_materials"),
                ("fuel_diesel", "fuel_diesel"),
                ("Fuel / Diesel", "fuel_diesel"),
                ("Grain 2023", "grain_2023"),
            ],
        );
    }

    #[test]
    fn slug_transliterates_letters_of_other_scripts() {
        check(
            Normalization::Slug,
            &[
                ("Çay", "cay"),
                ("Şəkər tozu", "seker_tozu"),
                ("Мука", "muka"),
                ("Größe", "grosse"),
            ],
        );
    }

    #[test]
    fn slug_refuses_text_without_letters_or_digits() {
        assert_eq!(Normalization::Slug.apply("—/—"), Err(NOTHING_TO_SLUG));
        assert_eq!(Normalization::Slug.apply(""), Err(NOTHING_TO_SLUG));
    }

    #[test]
    fn trim_and_lower_collapse_inner_whitespace() {
        check(
            Normalization::Trim,
            &[("Sunflower   meal", "Sunflower meal"), ("a\tb", "a b")],
        );
        check(
            Normalization::Lower,
            &[("Sunflower   Meal", "sunflower meal"), ("ÇAY", "çay")],
        );
    }

    #[test]
    fn only_known_names_parse() {
        assert_eq!(Normalization::parse("slug"), Some(Normalization::Slug));
        assert_eq!(Normalization::parse("lower"), Some(Normalization::Lower));
        assert_eq!(Normalization::parse("trim"), Some(Normalization::Trim));
        assert_eq!(Normalization::parse("Slug"), None);
    }
}
