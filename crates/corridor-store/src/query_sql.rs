//! The text of the three filtered queries (rollup sums, passage-index sums,
//! passage listings), built once for both SQL backends so SQLite and
//! PostgreSQL count exactly the same passages.
//!
//! A [`Dialect`] decides the little that differs: placeholders (`?N` or
//! `$N`), sums (PostgreSQL's `SUM` of a `BIGINT` is `NUMERIC`, cast back),
//! and how the attribute index is joined first. Each backend binds the
//! returned [`Bound`] values and reads the rows itself.

use crate::rollup::{Dimension, RollupQuery, RollupTable};

/// The SQL backend a query is written for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    fn placeholder(self, position: usize) -> String {
        match self {
            Dialect::Sqlite => format!("?{position}"),
            Dialect::Postgres => format!("${position}"),
        }
    }

    /// A sum that reads back as a 64-bit integer (NULL over no rows).
    fn sum(self, expression: &str) -> String {
        match self {
            Dialect::Sqlite => format!("SUM({expression})"),
            Dialect::Postgres => format!("SUM({expression})::BIGINT"),
        }
    }

    /// A count that reads back as a 64-bit integer.
    fn count(self, expression: &str) -> String {
        format!("COUNT({expression})")
    }

    /// The join that makes the attribute index drive the query: SQLite
    /// keeps a `CROSS JOIN`'s order; PostgreSQL plans an inner join itself.
    fn driving_join(self) -> &'static str {
        match self {
            Dialect::Sqlite => "CROSS JOIN",
            Dialect::Postgres => "JOIN",
        }
    }
}

/// A value bound to a placeholder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Bound {
    Day(i32),
    Text(String),
    /// A limit or offset.
    Count(i64),
}

/// A query's text and the values of its placeholders, in order.
#[derive(Debug)]
pub(crate) struct Sql {
    pub text: String,
    pub values: Vec<Bound>,
}

/// The sums of [`crate::Metrics`], in its order, over a rollup table.
fn rollup_sums(dialect: Dialect) -> String {
    [
        "passages",
        "vehicles",
        "passengers",
        "passengers_reported",
        "medical_evacuees",
        "medical_evacuees_reported",
        "kilograms",
        "kilograms_reported",
    ]
    .iter()
    .map(|column| dialect.sum(column))
    .collect::<Vec<_>>()
    .join(", ")
}

/// Sums over a rollup table: one row per group, the `group_by` columns
/// first, then the eight sums; groups without a passage are left out.
pub(crate) fn rollup(query: &RollupQuery, dialect: Dialect) -> Sql {
    let table = if query.uses_cargo() {
        RollupTable::Cargo
    } else {
        RollupTable::Passage
    };
    let group_columns: Vec<&str> = query
        .group_by
        .iter()
        .map(|dimension| dimension.column())
        .collect();
    let mut sql = QueryConditions::new(query, FilteredTable::Rollup, dialect);
    if let Some(kind) = &query.filter.cargo_kind {
        let placeholder = sql.bind(Bound::Text(kind.clone()));
        sql.conditions.push(format!("cargo_kind = {placeholder}"));
    }
    let select_keys = if group_columns.is_empty() {
        String::new()
    } else {
        format!("{}, ", group_columns.join(", "))
    };
    let group = if group_columns.is_empty() {
        String::new()
    } else {
        format!(
            "GROUP BY {0} HAVING SUM(passages) > 0 ORDER BY {0}",
            group_columns.join(", ")
        )
    };
    let text = format!(
        "SELECT {select_keys}{} FROM {} WHERE {} {group}",
        rollup_sums(dialect),
        table.name(),
        sql.clause()
    );
    Sql {
        text,
        values: sql.values,
    }
}

/// Sums over current passages of the index carrying every attribute: one
/// row of the eight sums.
pub(crate) fn passage_sums(
    query: &RollupQuery,
    attributes: &[(String, String)],
    dialect: Dialect,
) -> Sql {
    let mut sql = QueryConditions::new(query, FilteredTable::PassageIndex, dialect);
    let (first_day, last_day) = (dialect.placeholder(1), dialect.placeholder(2));
    // The first attribute drives the query through its index, so an
    // attribute filter reads the matching passages, not the whole period.
    for (position, (key, value)) in attributes.iter().enumerate() {
        let key = sql.bind(Bound::Text(key.clone()));
        let value = sql.bind(Bound::Text(value.clone()));
        let condition = if position == 0 {
            // The index holds site and day too, so the period is a range scan.
            let mut driving = format!(
                "a.key = {key} AND a.value = {value} AND a.day BETWEEN {first_day} AND {last_day}"
            );
            if !sql.site_list.is_empty() {
                driving.push_str(&format!(" AND a.site IN ({})", sql.site_list));
            }
            driving
        } else {
            format!(
                "p.leaf_index IN (SELECT leaf_index FROM passage_attributes WHERE key = {key} AND value = {value})"
            )
        };
        sql.conditions.push(condition);
    }
    let from = if attributes.is_empty() {
        "passages p".to_string()
    } else {
        format!(
            "passage_attributes a {} passages p ON p.leaf_index = a.leaf_index",
            dialect.driving_join()
        )
    };
    // With a cargo filter only vehicles carrying that kind count, and
    // their tonnes are that kind's tonnes, as in the cargo rollup.
    let kilograms = match &query.filter.cargo_kind {
        Some(kind) => {
            let kind = sql.carrying(kind);
            format!(
                "(SELECT {} FROM passage_cargo c WHERE c.leaf_index = p.leaf_index AND c.kind = {kind})",
                dialect.sum("c.kilograms")
            )
        }
        None => "p.kilograms".to_string(),
    };
    let text = format!(
        "SELECT {}, {}, {}, {}, {}, {}, {}, {} FROM {from} WHERE {}",
        dialect.count("*"),
        dialect.sum("p.count"),
        dialect.sum("p.passengers"),
        dialect.count("p.passengers"),
        dialect.sum("p.medical_evacuees"),
        dialect.count("p.medical_evacuees"),
        dialect.sum(&kilograms),
        dialect.count(&kilograms),
        sql.clause()
    );
    Sql {
        text,
        values: sql.values,
    }
}

/// One page of current passages of the index: `leaf_index, target_id,
/// leaf` in site, day and leaf order.
pub(crate) fn passages(query: &RollupQuery, offset: i64, limit: i64, dialect: Dialect) -> Sql {
    let mut sql = QueryConditions::new(query, FilteredTable::PassageIndex, dialect);
    if let Some(kind) = &query.filter.cargo_kind {
        sql.carrying(kind);
    }
    let limit = sql.bind(Bound::Count(limit));
    let offset = sql.bind(Bound::Count(offset));
    // (site, day) is indexed, and SQLite orders index entries by rowid
    // within a key (PostgreSQL's index holds the leaf too), so this order
    // needs no sort.
    let text = format!(
        "SELECT p.leaf_index, p.target_id, r.leaf FROM passages p JOIN records r ON r.leaf_index = p.leaf_index
         WHERE {} ORDER BY p.site, p.day, p.leaf_index LIMIT {limit} OFFSET {offset}",
        sql.clause()
    );
    Sql {
        text,
        values: sql.values,
    }
}

/// The table a query's period and filters are applied to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FilteredTable {
    /// A rollup table: no operator is stored as the empty text.
    Rollup,
    /// The passage index as `p`: only current passages count, and no
    /// operator is NULL.
    PassageIndex,
}

impl FilteredTable {
    /// The expression for a dimension's column, compared as the rollups store it.
    fn column(self, name: &str) -> String {
        match self {
            FilteredTable::Rollup => name.to_string(),
            FilteredTable::PassageIndex if name == "operator" => {
                "COALESCE(p.operator, '')".to_string()
            }
            FilteredTable::PassageIndex => format!("p.{name}"),
        }
    }
}

/// Conditions for a query's period and filters, with their bound values
/// (placeholders 1 and 2 are the first and last day); shared by `rollup`,
/// `passage_sums` and `passages` so all of them count the same passages.
/// The cargo kind is left to the caller: each table answers it differently.
struct QueryConditions {
    dialect: Dialect,
    conditions: Vec<String>,
    values: Vec<Bound>,
    /// The placeholders of the site filter, for reuse on another table.
    site_list: String,
}

impl QueryConditions {
    fn new(query: &RollupQuery, table: FilteredTable, dialect: Dialect) -> QueryConditions {
        let mut sql = QueryConditions {
            dialect,
            conditions: Vec::new(),
            values: vec![Bound::Day(query.from_day), Bound::Day(query.to_day)],
            site_list: String::new(),
        };
        if table == FilteredTable::PassageIndex {
            sql.conditions.push("p.current = 1".to_string());
        }
        sql.conditions.push(format!(
            "{} BETWEEN {} AND {}",
            table.column(Dimension::Day.column()),
            dialect.placeholder(1),
            dialect.placeholder(2)
        ));
        let filter = &query.filter;
        if !filter.sites.is_empty() {
            sql.site_list = sql.bind_all(&filter.sites);
            let condition = format!("{} IN ({})", table.column("site"), sql.site_list);
            sql.conditions.push(condition);
        }
        if !filter.outcomes.is_empty() {
            let outcomes = sql.bind_all(&filter.outcomes);
            sql.conditions
                .push(format!("{} IN ({outcomes})", table.column("outcome")));
        }
        for (name, wanted) in [
            ("category", &filter.category),
            ("operator", &filter.operator),
            ("direction", &filter.direction),
            ("vehicle_class", &filter.vehicle_class),
        ] {
            if let Some(wanted) = wanted {
                let placeholder = sql.bind(Bound::Text(wanted.clone()));
                sql.conditions
                    .push(format!("{} = {placeholder}", table.column(name)));
            }
        }
        sql
    }

    /// Binds a value and returns its placeholder.
    fn bind(&mut self, value: Bound) -> String {
        self.values.push(value);
        self.dialect.placeholder(self.values.len())
    }

    /// Binds text values and returns their placeholders, comma-separated.
    fn bind_all(&mut self, values: &[String]) -> String {
        let placeholders: Vec<String> = values
            .iter()
            .map(|value| self.bind(Bound::Text(value.clone())))
            .collect();
        placeholders.join(", ")
    }

    /// Keeps only passages of the index carrying cargo of `kind`; returns
    /// the placeholder bound to `kind`.
    fn carrying(&mut self, kind: &str) -> String {
        let kind = self.bind(Bound::Text(kind.to_string()));
        self.conditions.push(format!(
            "p.leaf_index IN (SELECT leaf_index FROM passage_cargo WHERE kind = {kind})"
        ));
        kind
    }

    /// The conditions joined for a `WHERE` clause.
    fn clause(&self) -> String {
        self.conditions.join(" AND ")
    }
}
