//! `corridor migrate --to URL`: moves the data directory's SQLite store
//! into PostgreSQL (see `corridor_engine::migrate`) and says what it did.
//! Glue.

use std::path::Path;

use anyhow::Result;
use corridor_engine::DataDir;

use crate::Completion;
use crate::output::{base64, record_progress};

/// How often, in tenths of the copy, a line of progress is printed when
/// stderr is not a terminal (a log, a service manager).
const PROGRESS_STEPS: u64 = 10;

pub fn migrate(root: &Path, target: &str) -> Result<Completion> {
    let data_dir = DataDir::open(root)?;
    let bar = record_progress(0);
    let mut last_step = None;
    let migration = corridor_engine::migrate::migrate(&data_dir, target, &mut |copied, total| {
        bar.set_length(total);
        bar.set_position(copied);
        if bar.is_hidden() {
            let step = copied.saturating_mul(PROGRESS_STEPS) / total.max(1);
            if last_step != Some(step) {
                last_step = Some(step);
                eprintln!("migrate: {copied} of {total} records copied");
            }
        }
    });
    bar.finish_and_clear();
    let migration = migration?;
    if migration.already_copied > 0 {
        println!(
            "continued an interrupted migration: {} of the records were copied before",
            migration.already_copied
        );
    }
    println!(
        "{}: {} records in {}, root {} (the same as the SQLite store's); {} token(s) copied",
        root.display(),
        migration.records,
        migration.target,
        base64(&migration.root),
        migration.tokens_copied,
    );
    println!(
        "corridor.toml now names {}; the old store is kept as {} and never written again",
        migration.target,
        migration.retired.display()
    );
    println!(
        "next: `corridor check` and `corridor verify`, then start the servers (see docs/deploy.md)"
    );
    Ok(Completion::Clean)
}
