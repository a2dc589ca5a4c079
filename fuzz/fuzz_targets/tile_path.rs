//! C2SP tlog-tiles paths: `TilePath::parse` never panics, accepts only the
//! canonical spelling (what `Display` prints, with an optional leading `/`),
//! and a parsed path survives printing and parsing again.
#![no_main]

use libfuzzer_sys::fuzz_target;
use minhbach_ledger::tile::TilePath;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(path) = TilePath::parse(text) {
        let printed = path.to_string();
        assert_eq!(printed, text.strip_prefix('/').unwrap_or(text));
        assert_eq!(TilePath::parse(&printed), Ok(path));
        let leaves = path.leaf_range();
        assert!(leaves.start < leaves.end);
        assert_eq!(path.node_ids().len(), usize::from(path.width()));
    }
});
