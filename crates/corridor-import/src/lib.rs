//! CSV import: turns field exports into Corridor record objects through a declarative mapping.
