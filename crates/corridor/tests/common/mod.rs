//! What the crash tests share: a reproducible random source and the seed
//! they print, so a failing run can be replayed with `CORRIDOR_CRASH_SEED`.

/// A small xorshift generator: reproducible from the printed seed.
pub struct Random {
    state: u64,
    seed: u64,
}

impl Random {
    /// The generator of this run: `CORRIDOR_CRASH_SEED` when set, else the
    /// clock. The seed is printed so a failure can be replayed.
    pub fn from_environment(test: &str) -> Random {
        let seed = std::env::var("CORRIDOR_CRASH_SEED")
            .ok()
            .and_then(|text| text.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|elapsed| elapsed.as_nanos() as u64)
                    .unwrap_or(1)
            })
            | 1;
        println!("{test} seed: {seed} (set CORRIDOR_CRASH_SEED={seed} to replay)");
        Random { state: seed, seed }
    }

    /// The seed, for failure messages.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    pub fn next(&mut self) -> u64 {
        self.state ^= self.state << 13;
        self.state ^= self.state >> 7;
        self.state ^= self.state << 17;
        self.state
    }

    /// A number in `range` (an empty range gives its start).
    pub fn within(&mut self, range: std::ops::Range<u64>) -> u64 {
        range.start + self.next() % (range.end - range.start).max(1)
    }
}
