//! Transparency-log math and formats (RFC 6962/9162, C2SP tlog-tiles, tlog-checkpoint, signed-note, tlog-cosignature).
