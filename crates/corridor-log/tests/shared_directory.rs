//! One log directory written by several processes at once (servers sharing
//! `log/`): each `LogDirectory` below is opened separately on the same root,
//! so nothing of one instance's in-process locking protects another, just
//! as between processes. Every compare-and-swap of the checkpoint that
//! succeeds replaced what it was told it replaces; no two succeed from the
//! same checkpoint, and the file is always a whole checkpoint.

use std::sync::{Arc, Barrier, Mutex};

use corridor_log::{LogDirectory, LogSource, LogStorage, LogStorageError};
use corridor_tlog::{Checkpoint, KeyName, Note, SignatureType, SignerKey};

fn signed(size: u64, writer: u8) -> Vec<u8> {
    let name = KeyName::new("test.example/shared").expect("valid name");
    let signer = SignerKey::from_seed(name, SignatureType::Ed25519, &[3u8; 32]);
    let checkpoint = Checkpoint {
        origin: "test.example/shared".into(),
        tree_size: size,
        root_hash: [writer; 32],
        extension_lines: Vec::new(),
    };
    let mut note = Note::new(&checkpoint.to_text().expect("a checkpoint")).expect("a note");
    note.sign(&signer).expect("signs");
    note.to_text().into_bytes()
}

fn size_of(bytes: &[u8]) -> u64 {
    let note = Note::parse(bytes).expect("a whole signed note");
    Checkpoint::parse(note.text())
        .expect("a checkpoint")
        .tree_size
}

#[test]
fn two_instances_on_one_directory_never_both_replace_the_same_checkpoint() {
    let holder = tempfile::tempdir().expect("temporary directory");
    let root = holder.path().join("log");
    LogDirectory::new(&root)
        .replace_checkpoint(None, &signed(1, 0))
        .expect("the first checkpoint");
    const WRITERS: u8 = 4;
    const ATTEMPTS: usize = 40;
    let barrier = Arc::new(Barrier::new(usize::from(WRITERS)));
    // Every successful swap: the size it replaced and the size it wrote.
    let swaps = Arc::new(Mutex::new(Vec::new()));
    let threads: Vec<_> = (1..=WRITERS)
        .map(|writer| {
            let (root, barrier, swaps) = (root.clone(), Arc::clone(&barrier), Arc::clone(&swaps));
            std::thread::spawn(move || {
                let directory = LogDirectory::new(&root);
                for _ in 0..ATTEMPTS {
                    barrier.wait();
                    let current = directory
                        .read("checkpoint")
                        .expect("readable")
                        .expect("a checkpoint");
                    let size = size_of(&current);
                    match directory.replace_checkpoint(Some(&current), &signed(size + 1, writer)) {
                        Ok(()) => swaps.lock().expect("not poisoned").push((size, size + 1)),
                        Err(LogStorageError::CheckpointChanged { .. }) => {}
                        Err(other) => panic!("writer {writer}: {other}"),
                    }
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().expect("a writer");
    }
    let mut swaps = swaps.lock().expect("not poisoned").clone();
    swaps.sort_unstable();
    let from: Vec<u64> = swaps.iter().map(|(from, _)| *from).collect();
    let mut distinct = from.clone();
    distinct.dedup();
    assert_eq!(
        from, distinct,
        "two writers replaced the same checkpoint: {swaps:?}"
    );
    // Each swap went one further, and the file holds the last of them.
    let last = LogDirectory::new(&root)
        .read("checkpoint")
        .expect("readable")
        .expect("a checkpoint");
    assert_eq!(size_of(&last), 1 + swaps.len() as u64, "{swaps:?}");
    assert!(
        swaps.len() >= ATTEMPTS,
        "at least one swap per round: {swaps:?}"
    );
}
