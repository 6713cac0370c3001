//! RFC 8785 canonical JSON (placeholder, being written).
