//! Period statistics over the store's rollups, in the one JSON shape the CLI, server and reports share.
