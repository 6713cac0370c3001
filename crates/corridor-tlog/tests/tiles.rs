//! C2SP tlog-tiles: path formatting and strict parsing, tile lists, tile data and entry bundles, and proofs served from tiles.

use std::collections::HashMap;
use std::convert::Infallible;

use corridor_tlog::tile::{FULL_TILE_BYTES, TilePathError};
use corridor_tlog::{
    EntryBundleAddress, EntryBundleError, Hash, HashReader, MemoryTree, SubtreeAddress,
    TileAddress, TileDataError, TileHashReader, TileReadError, TileResource, consistency_proof,
    encode_entry_bundle, encode_tile_data, entry_bundles_between, inclusion_proof, leaf_hash,
    parse_entry_bundle, parse_entry_bundle_exact, parse_tile_data, parse_tile_path,
    tile_for_stored_hash, tiles_between, tiles_for_size, tree_root,
};
use proptest::prelude::*;

fn tile(level: u8, index: u64, width: u16) -> TileAddress {
    TileAddress {
        level,
        index,
        width,
    }
}

fn check_path(resource: TileResource, path: &str) {
    assert_eq!(resource.to_string(), path);
    assert_eq!(parse_tile_path(path), Ok(resource), "{path}");
}

#[test]
fn tile_paths_match_the_spec_encoding() {
    check_path(TileResource::Tile(tile(0, 0, 256)), "tile/0/000");
    check_path(TileResource::Tile(tile(0, 255, 256)), "tile/0/255");
    check_path(TileResource::Tile(tile(0, 256, 256)), "tile/0/256");
    check_path(TileResource::Tile(tile(1, 999, 256)), "tile/1/999");
    check_path(TileResource::Tile(tile(1, 1000, 256)), "tile/1/x001/000");
    // The spec's own example: index 1234067 is x001/x234/067.
    check_path(
        TileResource::Tile(tile(0, 1_234_067, 256)),
        "tile/0/x001/x234/067",
    );
    check_path(
        TileResource::Tile(tile(0, 1_234_067, 8)),
        "tile/0/x001/x234/067.p/8",
    );
    check_path(TileResource::Tile(tile(2, 0, 1)), "tile/2/000.p/1");
    check_path(TileResource::Tile(tile(0, 0, 255)), "tile/0/000.p/255");
    check_path(TileResource::Tile(tile(63, 0, 256)), "tile/63/000");
    check_path(
        TileResource::Tile(tile(0, u64::MAX, 256)),
        "tile/0/x018/x446/x744/x073/x709/x551/615",
    );
    check_path(
        TileResource::EntryBundle(EntryBundleAddress {
            index: 0,
            width: 256,
        }),
        "tile/entries/000",
    );
    check_path(
        TileResource::EntryBundle(EntryBundleAddress {
            index: 255,
            width: 256,
        }),
        "tile/entries/255",
    );
    check_path(
        TileResource::EntryBundle(EntryBundleAddress {
            index: 1_234_067,
            width: 17,
        }),
        "tile/entries/x001/x234/067.p/17",
    );
}

#[test]
fn malformed_tile_paths_are_rejected() {
    let malformed = [
        "",
        "tile",
        "tile/",
        "/tile/0/000",
        "tiles/0/000",
        "tile/00/000",
        "tile/01/000",
        "tile/64/000",
        "tile/-1/000",
        "tile/+1/000",
        "tile/a/000",
        "tile/0",
        "tile/0/",
        "tile/0/0",
        "tile/0/00",
        "tile/0/0000",
        "tile/0/1234",
        "tile/0/abc",
        "tile/0/x001",
        "tile/0/x001/",
        "tile/0/001/234",
        "tile/0/x1/234",
        "tile/0/x0001/234",
        "tile/0/x000/001",
        "tile/0/X001/234",
        "tile/0/x001/x234/067/",
        "tile/0/../000",
        "tile/0/000/..",
        "tile/0/./000",
        "tile/0//000",
        "tile/0/000.p",
        "tile/0/000.p/",
        "tile/0/000.p/0",
        "tile/0/000.p/256",
        "tile/0/000.p/08",
        "tile/0/000.p/+8",
        "tile/0/000.p/8/",
        "tile/0/000.p/8/9",
        "tile/0/000.q/8",
        "tile/0/000/extra",
        "tile/0/x019/x446/x744/x073/x709/x551/615",
        "tile/0/x001/x001/x001/x001/x001/x001/x001/000",
        "tile/entries",
        "tile/entries/",
        "tile/entries/0",
        "tile/entries/000.p/0",
        "tile/entries/000.p/256",
        "tile/entries/x000/000",
        "tile/entries/000/000",
        "tile/0/٠٠٠",
    ];
    for path in malformed {
        assert!(parse_tile_path(path).is_err(), "{path:?} must be rejected");
    }
    assert_eq!(
        parse_tile_path("tile/0/x000/001"),
        Err(TilePathError::NonCanonicalIndex)
    );
    assert_eq!(
        parse_tile_path("tile/0/000.p/256"),
        Err(TilePathError::InvalidWidth {
            element: "256".to_owned()
        })
    );
    assert_eq!(
        parse_tile_path("tile/0/x019/x446/x744/x073/x709/x551/615"),
        Err(TilePathError::IndexOverflow)
    );
}

#[test]
fn tiles_for_the_spec_example_sizes() {
    // "a tree of size 70,000 will be represented by 273 full level 0 tiles, one
    // partial level 0 tile of width 112, one full level 1 tile, one partial
    // level 1 tile of width 17, and one partial level 2 tile of width 1."
    let tiles = tiles_for_size(70_000);
    let mut expected: Vec<TileAddress> = (0..273).map(|index| tile(0, index, 256)).collect();
    expected.extend([
        tile(0, 273, 112),
        tile(1, 0, 256),
        tile(1, 1, 17),
        tile(2, 0, 1),
    ]);
    assert_eq!(tiles, expected);

    // "a tree of size 256 will be represented by a full level 0 tile and a
    // partial level 1 tile of width 1."
    assert_eq!(tiles_for_size(256), vec![tile(0, 0, 256), tile(1, 0, 1)]);
    assert!(tiles_for_size(0).is_empty());
    assert_eq!(tiles_for_size(1), vec![tile(0, 0, 1)]);
}

#[test]
fn tiles_between_lists_exactly_the_tiles_that_change() {
    assert_eq!(
        tiles_between(255, 256),
        vec![tile(0, 0, 256), tile(1, 0, 1)]
    );
    assert_eq!(tiles_between(256, 257), vec![tile(0, 1, 1)]);
    assert_eq!(tiles_between(300, 300), Vec::<TileAddress>::new());
    assert_eq!(tiles_between(300, 200), Vec::<TileAddress>::new());
    assert_eq!(
        tiles_between(250, 600),
        vec![
            tile(0, 0, 256),
            tile(0, 1, 256),
            tile(0, 2, 88),
            tile(1, 0, 2)
        ]
    );
    assert_eq!(
        entry_bundles_between(250, 600),
        vec![
            EntryBundleAddress {
                index: 0,
                width: 256
            },
            EntryBundleAddress {
                index: 1,
                width: 256
            },
            EntryBundleAddress {
                index: 2,
                width: 88
            },
        ]
    );
    // Growing in steps touches a superset of what the final tree has changed.
    for (old_size, new_size) in [(0u64, 70_000u64), (1000, 70_000), (65_535, 65_537)] {
        let changed = tiles_between(old_size, new_size);
        let old_tiles = tiles_for_size(old_size);
        for tile in tiles_for_size(new_size) {
            assert_eq!(
                changed.contains(&tile),
                !old_tiles.contains(&tile),
                "{tile} for {old_size} -> {new_size}"
            );
        }
    }
}

#[test]
fn stored_hashes_map_to_their_tiles() {
    let location = tile_for_stored_hash(
        SubtreeAddress {
            level: 0,
            index: 1_234_067,
        },
        1_234_070,
    )
    .expect("level 0 is in tiles");
    // 4820 * 256 = 1,233,920: the leaf is 147 hashes into a tile of 150.
    assert_eq!(location.tile, tile(0, 4820, 150));
    assert_eq!(location.position, 147);
    let location = tile_for_stored_hash(SubtreeAddress { level: 8, index: 3 }, 70_000)
        .expect("level 8 is in tiles");
    assert_eq!(location.tile, tile(1, 0, 256));
    assert_eq!(location.position, 3);
    assert_eq!(
        tile_for_stored_hash(SubtreeAddress { level: 3, index: 0 }, 70_000),
        None
    );
    assert_eq!(
        tile_for_stored_hash(
            SubtreeAddress {
                level: 0,
                index: 70_000
            },
            70_000
        ),
        None
    );
}

#[test]
fn tile_data_round_trips_and_checks_length() {
    let hashes: Vec<Hash> = (0u32..5).map(|i| leaf_hash(&i.to_be_bytes())).collect();
    let address = tile(0, 0, 5);
    let data = encode_tile_data(&hashes);
    assert_eq!(data.len(), 160);
    assert_eq!(parse_tile_data(&address, &data), Ok(hashes));
    assert_eq!(
        parse_tile_data(&address, &data[..159]),
        Err(TileDataError::WrongLength {
            tile: "tile/0/000.p/5".to_owned(),
            expected: 160,
            actual: 159
        })
    );
    let full = tile(0, 0, 256);
    assert!(parse_tile_data(&full, &vec![0u8; FULL_TILE_BYTES]).is_ok());
    assert!(parse_tile_data(&full, &vec![0u8; FULL_TILE_BYTES + 32]).is_err());
}

#[test]
fn entry_bundles_round_trip() {
    let entries: Vec<Vec<u8>> = vec![b"".to_vec(), b"a".to_vec(), vec![7u8; 65_535]];
    let bundle = encode_entry_bundle(&entries).expect("entries fit");
    assert_eq!(&bundle[..5], &[0, 0, 0, 1, b'a']);
    let parsed = parse_entry_bundle(&bundle).expect("well formed");
    assert_eq!(
        parsed,
        entries.iter().map(Vec::as_slice).collect::<Vec<_>>()
    );
    let address = EntryBundleAddress { index: 0, width: 3 };
    assert_eq!(
        parse_entry_bundle_exact(&address, &bundle).expect("three entries"),
        entries.iter().map(Vec::as_slice).collect::<Vec<_>>()
    );
}

#[test]
fn entry_bundle_errors_are_precise() {
    assert_eq!(
        encode_entry_bundle(&[vec![0u8; 65_536]]),
        Err(EntryBundleError::EntryTooLarge {
            entry_index: 0,
            length: 65_536
        })
    );
    assert_eq!(
        encode_entry_bundle(&vec![b"x"; 257]),
        Err(EntryBundleError::TooManyEntries)
    );
    assert_eq!(
        encode_entry_bundle::<&[u8]>(&[]),
        Err(EntryBundleError::Empty)
    );

    assert_eq!(parse_entry_bundle(&[]), Err(EntryBundleError::Empty));
    assert_eq!(
        parse_entry_bundle(&[0]),
        Err(EntryBundleError::Truncated {
            entry_index: 0,
            needed: 2,
            available: 1
        })
    );
    assert_eq!(
        parse_entry_bundle(&[0, 1, b'a', 0, 3, b'b']),
        Err(EntryBundleError::Truncated {
            entry_index: 1,
            needed: 3,
            available: 1
        })
    );
    let too_many = encode_entry_bundle(&vec![b"x"; 256]).expect("256 entries fit");
    let mut too_many = too_many;
    too_many.extend_from_slice(&[0, 0]);
    assert_eq!(
        parse_entry_bundle(&too_many),
        Err(EntryBundleError::TooManyEntries)
    );

    let two = encode_entry_bundle(&[b"a", b"b"]).expect("fits");
    let expecting_one = EntryBundleAddress { index: 0, width: 1 };
    assert_eq!(
        parse_entry_bundle_exact(&expecting_one, &two),
        Err(EntryBundleError::TrailingBytes {
            count: 3,
            entries: 1
        })
    );
    let expecting_three = EntryBundleAddress { index: 0, width: 3 };
    assert_eq!(
        parse_entry_bundle_exact(&expecting_three, &two),
        Err(EntryBundleError::WrongEntryCount {
            expected: 3,
            actual: 2
        })
    );
}

/// Writes every tile of `tree` at `tree_size` the way a log would publish them.
fn publish_tiles(tree: &MemoryTree, tree_size: u64) -> HashMap<String, Vec<u8>> {
    let mut directory = HashMap::new();
    for address in tiles_for_size(tree_size) {
        let hashes: Vec<Hash> = (0..address.width)
            .map(|position| {
                let hash_address = address.hash_address(position).expect("small tree");
                tree.stored_hash(hash_address)
                    .expect("tile hashes are stored")
            })
            .collect();
        directory.insert(address.path(), encode_tile_data(&hashes));
    }
    directory
}

#[derive(Debug, thiserror::Error)]
#[error("no tile at {0}")]
struct MissingTile(String);

#[test]
fn proofs_from_tiles_equal_proofs_from_memory() {
    let tree_size = 70_000u64;
    let leaves: Vec<Hash> = (0..tree_size)
        .map(|i| leaf_hash(&i.to_be_bytes()))
        .collect();
    let tree = MemoryTree::from_leaf_hashes(&leaves);
    let directory = publish_tiles(&tree, tree_size);
    let reader = TileHashReader::new(tree_size, |address: &TileAddress| {
        directory
            .get(&address.path())
            .cloned()
            .ok_or_else(|| MissingTile(address.path()))
    });
    assert_eq!(
        tree_root(tree_size, &reader).expect("tiles complete"),
        tree.root()
    );
    for leaf_index in [0, 1, 255, 256, 65_535, 65_536, 69_999] {
        assert_eq!(
            inclusion_proof(leaf_index, tree_size, &reader).expect("tiles complete"),
            inclusion_proof(leaf_index, tree_size, &tree).expect("memory complete"),
            "leaf {leaf_index}"
        );
    }
    for old_size in [1, 255, 256, 257, 65_536, 69_999] {
        assert_eq!(
            consistency_proof(old_size, tree_size, &reader).expect("tiles complete"),
            consistency_proof(old_size, tree_size, &tree).expect("memory complete"),
            "from {old_size}"
        );
    }
    let outside = SubtreeAddress {
        level: 0,
        index: tree_size,
    };
    assert!(matches!(
        reader.read_hashes(&[outside]),
        Err(TileReadError::OutsideTree { .. })
    ));
}

#[test]
fn tile_reader_reports_short_tiles() {
    let reader = TileHashReader::new(3, |_: &TileAddress| Ok::<_, Infallible>(vec![0u8; 64]));
    let error = reader
        .read_hashes(&[SubtreeAddress::leaf(0)])
        .expect_err("tile must be 96 bytes");
    assert!(matches!(
        error,
        TileReadError::TileData(TileDataError::WrongLength {
            expected: 96,
            actual: 64,
            ..
        })
    ));
}

proptest! {
    #[test]
    fn tile_paths_round_trip(level in 0u8..=63, index in any::<u64>(), width in 1u16..=256) {
        let resource = TileResource::Tile(TileAddress { level, index, width });
        prop_assert_eq!(parse_tile_path(&resource.to_string()), Ok(resource));
        let bundle = TileResource::EntryBundle(EntryBundleAddress { index, width });
        prop_assert_eq!(parse_tile_path(&bundle.to_string()), Ok(bundle));
    }

    #[test]
    fn tile_path_parser_never_panics_and_accepts_only_canonical_paths(path in "tile/[0-9a-z./x]{0,40}") {
        if let Ok(resource) = parse_tile_path(&path) {
            prop_assert_eq!(resource.to_string(), path);
        }
    }

    #[test]
    fn entry_bundles_round_trip_and_truncations_fail(
        entries in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..300), 1..=20),
        cut_seed in any::<usize>(),
    ) {
        let bundle = encode_entry_bundle(&entries).expect("entries fit");
        let parsed = parse_entry_bundle(&bundle).expect("round trip");
        prop_assert_eq!(parsed.len(), entries.len());
        for (parsed, original) in parsed.iter().zip(&entries) {
            prop_assert_eq!(*parsed, original.as_slice());
        }
        let address = EntryBundleAddress { index: 0, width: entries.len() as u16 };
        let cut = cut_seed % bundle.len();
        prop_assert!(parse_entry_bundle_exact(&address, &bundle[..cut]).is_err());
    }
}
