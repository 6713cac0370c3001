//! A Corridor data directory and the write pipeline that fills it.
//!
//! Layout of a data directory:
//!
//! ```text
//! DATA/corridor.toml   settings (origin, public time precision, demo flag)
//! DATA/store.db        the SQLite store (records, private parts, indexes, rollups),
//!                      unless `[store] url` in corridor.toml names another location;
//!                      `store.db.retired-TIME` after `corridor migrate` moved it
//! DATA/writer.lock     held by the one process that writes
//! DATA/keys/log.key    the log's signing key (mode 0600); log.vkey is its public key
//! DATA/log/            the published log: checkpoint, tiles (see corridor-log),
//!                      unless `[log] url` in corridor.toml puts it elsewhere
//! ```
//!
//! [`DataDir`] opens a directory for reading (any number of processes) or
//! writing (one at a time); [`Writer`] turns submitted JSON objects into stored
//! records: parse and validate, resolve references, canonicalize, commit.

pub mod check;
mod config;
pub mod demo;
mod lock;
pub mod migrate;
pub mod publish;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use corridor_store::{Store, StoreError, StoreLocation};

pub use check::{CheckReport, Problem, check_recent_against_log, check_store_against_log};
pub use config::{Config, LogSettings, StoreSettings, check_origin};
pub use lock::WriterLock;
pub use publish::{Publisher, Round};
pub use writer::{
    Answer, Answered, BATCH_SIZE, CommitFailure, CommitNotifier, ItemOutcome,
    ObserverSignatureCheck, Sequencer, SignatureCheck, Staged, Submission, SubmitFailure,
    SubmitItem, SubmitSummary, Writer,
};

const CONFIG_FILE: &str = "corridor.toml";
const STORE_FILE: &str = "store.db";
const KEYS_DIRECTORY: &str = "keys";
const LOG_DIRECTORY: &str = "log";
pub(crate) const LOCK_FILE: &str = "writer.lock";
/// How long a command's integrator lease lasts past each renewal: if the
/// command dies while publishing, a server takes over after this.
const COMMAND_LEASE: std::time::Duration = std::time::Duration::from_secs(10);

/// Errors opening or writing a data directory.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error(
        "{path} is not a Corridor data directory (no corridor.toml); create one with `corridor init --origin NAME`"
    )]
    NotInitialized { path: String },
    #[error("{path} already holds a Corridor data directory")]
    AlreadyInitialized { path: String },
    #[error("{path} is not empty; choose an empty or new directory")]
    NotEmpty { path: String },
    #[error("{path}: {reason}")]
    BadConfig { path: String, reason: String },
    #[error(
        "the data directory is being written by {holder} (lock file {path}); wait for it to finish"
    )]
    Locked { path: String, holder: String },
    #[error("origin {origin:?} {reason}")]
    BadOrigin { origin: String, reason: String },
    #[error("{path} holds real records, not the demo; refusing to overwrite it")]
    NotDemo { path: String },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the built-in demo data set was rejected, which is a bug: {0}")]
    DemoRejected(String),
    #[error("stored leaf {leaf_index} cannot be read: {reason}")]
    CorruptLeaf { leaf_index: u64, reason: String },
    #[error("log key: {0}")]
    LogKey(#[from] corridor_log::KeyError),
    #[error("publishing the log: {0}")]
    Integrate(#[from] corridor_log::IntegrateError),
    #[error("opening the log: {0}")]
    OpenLog(#[from] corridor_log::OpenLogError),
    #[error("witness list: {0}")]
    WitnessList(#[from] corridor_log::WitnessListError),
    #[error(transparent)]
    SettingDiffers(Box<SettingDiffers>),
    /// `init --key` was given a key whose name is not the log's origin.
    #[error(
        "the key is named {key} but the log's origin is {origin}: a log's checkpoints are signed by a key of its origin's name"
    )]
    KeyNameDiffers { key: String, origin: String },
    /// Another process (a server sharing the store) holds the integrator
    /// lease: it publishes what was stored, within its checkpoint interval.
    #[error(
        "{holder} integrates this store's log; it publishes the stored records in its next checkpoint"
    )]
    IntegratedElsewhere { holder: String },
    #[error("migrating the store: {0}")]
    Migrate(#[from] migrate::MigrateError),
    /// The SQLite store this directory names was moved to PostgreSQL by
    /// `corridor migrate` and retired; opening it would create an empty one.
    #[error(
        "{path} was moved to PostgreSQL by `corridor migrate` and retired as {retired}, which is never written again: a new store here would fork the log. Point `[store] url` in corridor.toml at the PostgreSQL store (an interrupted migration finishes when `corridor migrate --to URL` is run again)"
    )]
    StoreRetired { path: String, retired: String },
}

/// A setting of this data directory that differs from the one recorded in
/// the store it shares with other data directories (other servers).
#[derive(Debug, thiserror::Error)]
#[error(
    "{setting} is {here} in {path} but {stored} for the store {store}, which other data directories (other servers) share: they must agree on it; {}",
    self.remedy()
)]
pub struct SettingDiffers {
    pub setting: &'static str,
    pub here: String,
    pub stored: String,
    pub path: String,
    pub store: String,
}

impl SettingDiffers {
    /// What to do about it.
    fn remedy(&self) -> String {
        match self.setting {
            "log_key" => "a server joins the log with its key: `corridor init --key FILE` from the first server's keys/log.key".to_string(),
            "witnesses" => "copy witnesses.json from a server whose list the store records".to_string(),
            setting => format!("set {setting} to {}", self.stored),
        }
    }
}

impl EngineError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> EngineError {
        EngineError::Io {
            path: path.display().to_string(),
            source,
        }
    }
}

/// An opened data directory.
#[derive(Debug)]
pub struct DataDir {
    root: PathBuf,
    config: Config,
    /// Where the store lives, from `[store] url`, relative paths resolved.
    store_location: StoreLocation,
}

impl DataDir {
    /// Creates a data directory at `root` (which must not exist or be empty)
    /// with a new signing key for the log.
    ///
    /// # Errors
    /// A bad origin, a non-empty directory, or an I/O error.
    pub fn init(root: &Path, config: Config) -> Result<DataDir, EngineError> {
        DataDir::init_with_key(root, config, None)
    }

    /// Creates a data directory at `root` like [`DataDir::init`], signing
    /// with `key` when given: a server that joins a log other servers
    /// publish (one store, one log) signs with the same key. The key's name
    /// must be `config.origin`.
    ///
    /// # Errors
    /// As [`DataDir::init`]; [`EngineError::KeyNameDiffers`], or
    /// [`EngineError::SettingDiffers`] when the store records another key.
    pub fn init_with_key(
        root: &Path,
        config: Config,
        key: Option<corridor_tlog::SignerKey>,
    ) -> Result<DataDir, EngineError> {
        if let Some(key) = &key
            && key.name().as_str() != config.origin
        {
            return Err(EngineError::KeyNameDiffers {
                key: key.name().as_str().to_string(),
                origin: config.origin.clone(),
            });
        }
        check_origin(&config.origin).map_err(|reason| EngineError::BadOrigin {
            origin: config.origin.clone(),
            reason,
        })?;
        if root.join(CONFIG_FILE).exists() {
            return Err(EngineError::AlreadyInitialized {
                path: root.display().to_string(),
            });
        }
        if root.exists() {
            let mut entries =
                std::fs::read_dir(root).map_err(|error| EngineError::io(root, error))?;
            if entries.next().is_some() {
                return Err(EngineError::NotEmpty {
                    path: root.display().to_string(),
                });
            }
        }
        let store_location =
            store_location(root, &config).map_err(|reason| EngineError::BadConfig {
                path: root.join(CONFIG_FILE).display().to_string(),
                reason,
            })?;
        let existed = root.exists();
        std::fs::create_dir_all(root).map_err(|error| EngineError::io(root, error))?;
        let data_dir = DataDir {
            root: root.to_path_buf(),
            config,
            store_location,
        };
        match data_dir.fill_new(key) {
            Ok(()) => Ok(data_dir),
            Err(error) => {
                // All or nothing: what this init made goes (the directory
                // was empty or absent), so it can simply be run again.
                let removed = if existed {
                    empty_directory(root)
                } else {
                    std::fs::remove_dir_all(root)
                };
                if let Err(cleanup) = removed {
                    tracing::warn!(path = %root.display(), error = %cleanup, "cannot remove what a failed init made");
                }
                Err(error)
            }
        }
    }

    /// Fills a new, empty data directory: the store first, the settings
    /// last. A directory without corridor.toml is not yet a data directory,
    /// so a crash in between leaves something `init` can be run on again
    /// after emptying it.
    fn fill_new(&self, key: Option<corridor_tlog::SignerKey>) -> Result<(), EngineError> {
        {
            let _lock = WriterLock::acquire(&self.root.join(LOCK_FILE), "corridor init")?;
            let signer = match key {
                Some(key) => {
                    corridor_log::install_key_files(&self.keys_directory(), "log", &key)?;
                    key
                }
                None => corridor_log::create_key_files(
                    &self.keys_directory(),
                    "log",
                    &self.config.origin,
                    corridor_tlog::SignatureType::Ed25519,
                )?,
            };
            let mut store = self.open_store()?;
            ensure_secret(&mut store)?;
            self.agree_on_settings(&mut store, &signer)?;
        }
        write_atomically(
            &self.root.join(CONFIG_FILE),
            render_config(&self.config).as_bytes(),
        )
    }

    /// Opens an existing data directory.
    ///
    /// # Errors
    /// No such directory, or unreadable settings.
    pub fn open(root: &Path) -> Result<DataDir, EngineError> {
        let config_path = root.join(CONFIG_FILE);
        let text = match std::fs::read_to_string(&config_path) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                return Err(EngineError::NotInitialized {
                    path: root.display().to_string(),
                });
            }
            Err(error) => return Err(EngineError::io(&config_path, error)),
        };
        let config: Config = toml::from_str(&text).map_err(|error| EngineError::BadConfig {
            path: config_path.display().to_string(),
            reason: error.to_string(),
        })?;
        config
            .access
            .validate()
            .map_err(|reason| EngineError::BadConfig {
                path: config_path.display().to_string(),
                reason: format!("access: {reason}"),
            })?;
        check_origin(&config.origin).map_err(|reason| EngineError::BadConfig {
            path: config_path.display().to_string(),
            reason: format!("origin: {reason}"),
        })?;
        let store_location =
            store_location(root, &config).map_err(|reason| EngineError::BadConfig {
                path: config_path.display().to_string(),
                reason,
            })?;
        if let StoreLocation::Sqlite(path) = &store_location
            && let Some(retired) = migrate::retired_store(path)
        {
            return Err(EngineError::StoreRetired {
                path: path.display().to_string(),
                retired: retired.display().to_string(),
            });
        }
        let data_dir = DataDir {
            root: root.to_path_buf(),
            config,
            store_location,
        };
        data_dir.log().map_err(|error| EngineError::BadConfig {
            path: config_path.display().to_string(),
            reason: format!("log: {error}"),
        })?;
        Ok(data_dir)
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Opens a connection to the store that `[store] url` names (by default
    /// `store.db` here). Readers need no lock: SQLite's WAL lets them see
    /// committed data beside the writer.
    ///
    /// # Errors
    /// The store cannot be opened.
    pub fn open_store(&self) -> Result<Box<dyn Store>, EngineError> {
        Ok(self.store_location.open()?)
    }

    /// Where the store lives, relative paths resolved against this directory.
    pub fn store_location(&self) -> &StoreLocation {
        &self.store_location
    }

    /// The directory holding the log's key pair.
    pub fn keys_directory(&self) -> PathBuf {
        self.root.join(KEYS_DIRECTORY)
    }

    /// The published log (checkpoint and tiles), wherever `[log] url` puts
    /// it: by default the data directory's `log/`.
    ///
    /// # Errors
    /// The configured location names no log backend.
    pub fn log(&self) -> Result<Arc<dyn corridor_log::LogStorage>, EngineError> {
        let location = match &self.config.log.url {
            Some(url) if !url.contains("://") => self.root.join(url).into_os_string(),
            Some(url) => url.into(),
            None => self.root.join(LOG_DIRECTORY).into_os_string(),
        };
        Ok(corridor_log::open_log_with(
            location,
            &self.config.log.object_options(),
        )?)
    }

    /// Publishes the log at `url` for this process instead of where
    /// `[log] url` says (`corridor serve --log-url`); the settings file is
    /// not changed.
    ///
    /// # Errors
    /// The location names no log backend.
    pub fn set_log_url(&mut self, url: String) -> Result<(), EngineError> {
        self.config.log.url = Some(url);
        self.log().map(|_| ())
    }

    /// The witnesses this log asks to cosign, and what each last cosigned.
    pub fn witness_list_path(&self) -> PathBuf {
        self.root.join("witnesses.json")
    }

    /// The file holding the log's public key.
    pub fn log_vkey_path(&self) -> PathBuf {
        self.keys_directory().join(corridor_log::LOG_VKEY_FILE)
    }

    /// The log's signing key; created if this directory predates the log.
    ///
    /// # Errors
    /// The key cannot be read or created.
    pub fn log_signer(&self) -> Result<corridor_tlog::SignerKey, EngineError> {
        let path = self.keys_directory().join(corridor_log::LOG_KEY_FILE);
        if !path.exists() && !self.log_is_published()? {
            return Ok(corridor_log::create_key_files(
                &self.keys_directory(),
                "log",
                &self.config.origin,
                corridor_tlog::SignatureType::Ed25519,
            )?);
        }
        Ok(corridor_log::load_signer(&path)?)
    }

    /// Whether the log has a checkpoint.
    fn log_is_published(&self) -> Result<bool, EngineError> {
        let log = self.log()?;
        log.read(corridor_log::CHECKPOINT_FILE)
            .map(|checkpoint| checkpoint.is_some())
            .map_err(|source| EngineError::Io {
                path: log.describe_path(corridor_log::CHECKPOINT_FILE),
                source,
            })
    }

    /// Publishes every stored record not yet in the log: tiles, then a new
    /// signed checkpoint. `writer` proves the caller holds the writer lock.
    ///
    /// # Errors
    /// The key cannot be read, or integration fails (the log stays as it was).
    ///
    /// It publishes under the store's integrator lease, as servers do: on a
    /// store a running server shares, that server holds the lease, and this
    /// returns [`EngineError::IntegratedElsewhere`] with nothing published
    /// here (the server publishes the records within its interval).
    pub fn integrate_log(&self, writer: &Writer) -> Result<corridor_log::Integration, EngineError> {
        let log = corridor_log::Log::new(self.log()?, self.log_signer()?);
        let mut publisher = self.publisher("corridor", COMMAND_LEASE)?;
        match publisher.round(&log, writer.store())? {
            Round::Integrated(integration) => Ok(integration),
            Round::Following { holder } => Err(EngineError::IntegratedElsewhere { holder }),
        }
    }

    /// Who publishes this directory's log from this process: on a store
    /// that other data directories share (PostgreSQL), a [`Publisher`]
    /// that takes turns through the integrator lease (held for `lease`
    /// past each renewal), on a connection of its own; on one only this
    /// directory writes (SQLite, whose writer lock already makes this
    /// process the only writer), one that publishes without a lease and
    /// writes nothing to the store.
    ///
    /// # Errors
    /// The store cannot be opened.
    pub fn publisher(
        &self,
        purpose: &str,
        lease: std::time::Duration,
    ) -> Result<Publisher, EngineError> {
        Ok(if self.store_location.is_shared() {
            Publisher::new(self.open_store()?, purpose, lease)
        } else {
            Publisher::sole(purpose)
        })
    }

    /// Takes the writer lock and publishes every stored record not yet in the log.
    ///
    /// # Errors
    /// Another process holds the lock, or integration fails.
    pub fn integrate_log_locked(
        &self,
        purpose: &str,
    ) -> Result<corridor_log::Integration, EngineError> {
        let writer = self.writer(purpose)?;
        self.integrate_log(&writer)
    }

    /// On a store several data directories may share (PostgreSQL), the
    /// settings that decide what is stored and how it is judged must be the
    /// same in each: `public_time_precision` (what a leaf publishes) and the
    /// access thresholds. The first to write records its values in the
    /// store; a directory whose values differ is refused, naming the setting.
    ///
    /// # Errors
    /// [`EngineError::SettingDiffers`], or a storage failure.
    fn agree_on_settings(
        &self,
        store: &mut dyn Store,
        signer: &corridor_tlog::SignerKey,
    ) -> Result<(), EngineError> {
        if !self.store_location.is_shared() {
            return Ok(());
        }
        let config_path = self.root.join(CONFIG_FILE).display().to_string();
        let access = &self.config.access;
        let settings = [
            (
                "public_time_precision",
                self.config.public_time_precision.as_str().to_string(),
                config_path.clone(),
            ),
            (
                "access",
                format!("open = {}, restricted = {}", access.open, access.restricted),
                config_path,
            ),
            (
                "log_key",
                signer.verifier_key().to_string(),
                self.log_vkey_path().display().to_string(),
            ),
            (
                "witnesses",
                self.witness_keys()?,
                self.witness_list_path().display().to_string(),
            ),
        ];
        for (setting, here, path) in settings {
            let stored = store.first_meta(&format!("setting/{setting}"), here.as_bytes())?;
            if stored != here.as_bytes() {
                return Err(EngineError::SettingDiffers(Box::new(SettingDiffers {
                    setting,
                    here,
                    stored: String::from_utf8_lossy(&stored).into_owned(),
                    path,
                    store: self.store_location.to_string(),
                })));
            }
        }
        Ok(())
    }

    /// The witnesses' keys, sorted, as the store records them (`none`
    /// without witnesses).
    fn witness_keys(&self) -> Result<String, EngineError> {
        let list = corridor_log::WitnessList::load(&self.witness_list_path())?;
        let mut keys: Vec<&str> = list
            .witnesses
            .iter()
            .map(|witness| witness.vkey.as_str())
            .collect();
        keys.sort_unstable();
        keys.dedup();
        Ok(if keys.is_empty() {
            "none".to_string()
        } else {
            keys.join(" ")
        })
    }

    /// Records this directory's witnesses as the ones every server sharing
    /// the store must ask, after `corridor log witnesses add` changed them.
    /// The other servers refuse to start until their lists agree.
    ///
    /// # Errors
    /// The witness list cannot be read, or the store fails.
    pub fn record_witnesses(&self) -> Result<(), EngineError> {
        if !self.store_location.is_shared() {
            return Ok(());
        }
        let keys = self.witness_keys()?;
        self.open_store()?
            .set_meta("setting/witnesses", keys.as_bytes())?;
        Ok(())
    }

    /// Takes the writer lock and returns a [`Writer`].
    ///
    /// # Errors
    /// Another process holds the lock, or the store cannot be opened.
    pub fn writer(&self, purpose: &str) -> Result<Writer, EngineError> {
        let lock = WriterLock::acquire(&self.root.join(LOCK_FILE), purpose)?;
        let mut store = self.open_store()?;
        let secret = ensure_secret(&mut store)?;
        if self.store_location.is_shared() {
            self.agree_on_settings(&mut store, &self.log_signer()?)?;
        }
        let read_store = self.open_store()?;
        Ok(Writer::pipelined(
            read_store,
            store,
            self.config.clone(),
            secret,
            Some(lock),
        ))
    }
}

/// A store location that wins over `[store] url` in every data directory
/// this process opens (the CLI's `--store` / `CORRIDOR_STORE`).
static STORE_OVERRIDE: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// Makes every data directory this process opens use the store at
/// `location` instead of its `[store] url`. Set once; later calls are ignored.
pub fn override_store_location(location: String) {
    let _ = STORE_OVERRIDE.set(location);
}

/// The store location `config` names, relative to `root`: the process's
/// override, `[store] url`, or `store.db` in `root`. The error says what is
/// wrong with the URL.
fn store_location(root: &Path, config: &Config) -> Result<StoreLocation, String> {
    let location = match STORE_OVERRIDE.get().or(config.store.url.as_ref()) {
        None => StoreLocation::Sqlite(PathBuf::from(STORE_FILE)),
        Some(url) => StoreLocation::parse(url).map_err(|error| format!("store: {error}"))?,
    };
    Ok(location.relative_to(root))
}

/// The per-store secret that keys content digests (see `corridor_model::leaf::content_digest`).
fn ensure_secret(store: &mut dyn Store) -> Result<Vec<u8>, EngineError> {
    if let Some(secret) = store.meta("digest_secret")? {
        return Ok(secret);
    }
    let mut secret = vec![0_u8; 32];
    getrandom::fill(&mut secret).map_err(|error| EngineError::Io {
        path: "operating system random source".into(),
        source: std::io::Error::other(error.to_string()),
    })?;
    // Of two processes starting on a new shared store at once, both keep
    // the one secret stored first, so their content digests agree.
    Ok(store.first_meta("digest_secret", &secret)?)
}

fn render_config(config: &Config) -> String {
    let body = toml::to_string(config).unwrap_or_default();
    format!(
        "# Corridor data directory settings.\n\
         # origin: the log's name (also its signing key's name); never change it once records are published.\n\
         # public_time_precision: second, minute, hour or day; finer times stay private.\n{body}"
    )
}

/// Writes a file so that readers see the old or the new content, never a mix.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), EngineError> {
    use std::io::Write;
    let temporary = path.with_extension("tmp");
    let mut file =
        std::fs::File::create(&temporary).map_err(|error| EngineError::io(&temporary, error))?;
    file.write_all(bytes)
        .map_err(|error| EngineError::io(&temporary, error))?;
    file.sync_all()
        .map_err(|error| EngineError::io(&temporary, error))?;
    std::fs::rename(&temporary, path).map_err(|error| EngineError::io(path, error))?;
    if let Some(parent) = path.parent()
        && let Ok(directory) = std::fs::File::open(parent)
    {
        let _ = directory.sync_all();
    }
    Ok(())
}

/// Removes everything inside `root`, keeping `root` itself.
fn empty_directory(root: &Path) -> std::io::Result<()> {
    for entry in std::fs::read_dir(root)? {
        let path = entry?.path();
        if path.is_dir() && !path.is_symlink() {
            std::fs::remove_dir_all(&path)?;
        } else {
            std::fs::remove_file(&path)?;
        }
    }
    Ok(())
}
