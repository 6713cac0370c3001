//! A Corridor data directory and the write pipeline: configuration, the writer lock, submission to stored record.
