//! Users and passwords: the store behind `CREATE USER`, `SET PASSWORD`, `DROP USER`,
//! `SHOW USERS` and the Bolt HELLO/LOGON check.
//!
//! The users live in `<data-directory>/auth/users.json`: names (lower-cased, as Memgraph does)
//! and Argon2id password hashes as PHC strings (`$argon2id$v=19$m=...,t=...,p=...$salt$hash`,
//! a fresh random salt per password), or no hash for a user with a null password (any
//! password logs that user in, as in Memgraph). Every change rewrites the file atomically:
//! a temporary file, fsync, rename, fsync of the directory.
//!
//! Verifying a password is deliberately slow (Argon2 with 19 MiB of memory): it runs on the
//! connection's worker with no lock held; the store's lock is taken only to copy the hash.
//!
//! Users are not replicated (as in Memgraph Community): each instance has its own users.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use argon2::password_hash::{rand_core::OsRng, PasswordHash, SaltString};
use argon2::{Argon2, PasswordHasher, PasswordVerifier};
use parking_lot::{Mutex, RwLock};
use serde::{Deserialize, Serialize};

/// Memgraph's default `--auth-user-or-role-regex`.
pub const DEFAULT_NAME_REGEX: &str = "[a-zA-Z0-9_.+-@]+";

/// The users file is refused above this size (a hand-edited or damaged file must not make
/// the server allocate without bound).
const MAX_FILE_BYTES: u64 = 16 << 20;
/// At most this many users.
const MAX_USERS: usize = 10_000;
/// Longest user name and password accepted, in bytes.
const MAX_NAME_BYTES: usize = 256;
const MAX_PASSWORD_BYTES: usize = 4096;

#[derive(Serialize, Deserialize)]
struct UsersFile {
    version: u32,
    users: Vec<UserEntry>,
}

#[derive(Serialize, Deserialize, Clone)]
struct UserEntry {
    name: String,
    /// The PHC string of the password's Argon2id hash; `None`: a null password.
    password_hash: Option<String>,
}

const FILE_VERSION: u32 = 1;

/// Why a login was refused (the message goes to the client).
pub const LOGIN_REFUSED: &str = "Authentication failure";

pub struct UserStore {
    path: PathBuf,
    name_regex: regex::Regex,
    permit_null: bool,
    /// Name -> PHC hash (`None`: null password).
    users: RwLock<BTreeMap<String, Option<String>>>,
    /// Whether any user exists (checked on every login without taking the lock).
    any: AtomicBool,
    /// Serializes changes, so the file is written in the order the changes happened.
    writer: Mutex<()>,
}

impl UserStore {
    /// Opens (or starts) the users file under `<data_directory>/auth/`. `name_regex` must
    /// match a whole user name.
    pub fn open(
        data_directory: &Path,
        name_regex: &str,
        permit_null: bool,
    ) -> anyhow::Result<UserStore> {
        let name_regex = regex::Regex::new(&format!("^(?:{name_regex})$")).map_err(|e| {
            anyhow::anyhow!("--auth-user-or-role-regex is not a valid regular expression: {e}")
        })?;
        let dir = data_directory.join("auth");
        std::fs::create_dir_all(&dir)
            .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", dir.display()))?;
        let path = dir.join("users.json");
        let users = read_users(&path)?;
        let any = !users.is_empty();
        Ok(UserStore {
            path,
            name_regex,
            permit_null,
            users: RwLock::new(users),
            any: AtomicBool::new(any),
            writer: Mutex::new(()),
        })
    }

    /// Whether logins must authenticate.
    pub fn has_users(&self) -> bool {
        self.any.load(Ordering::Acquire)
    }

    fn check_name(&self, name: &str) -> Result<String, String> {
        if name.len() > MAX_NAME_BYTES || !self.name_regex.is_match(name) {
            return Err("Invalid user name.".into());
        }
        Ok(name.to_lowercase())
    }

    fn hash(&self, password: Option<&str>) -> Result<Option<String>, String> {
        match password {
            None if !self.permit_null => Err("Null passwords aren't permitted!".into()),
            None => Ok(None),
            Some(p) if p.len() > MAX_PASSWORD_BYTES => Err(format!(
                "The password is too long (at most {MAX_PASSWORD_BYTES} bytes)."
            )),
            Some(p) => hash_password(p).map(Some),
        }
    }

    /// Applies `change` to a copy of the users, writes the copy to disk, then installs it.
    fn change(
        &self,
        change: impl FnOnce(&mut BTreeMap<String, Option<String>>) -> Result<(), String>,
    ) -> Result<(), String> {
        let _writer = self.writer.lock();
        let mut users = self.users.read().clone();
        change(&mut users)?;
        write_users(&self.path, &users)
            .map_err(|e| format!("Couldn't save the users to {}: {e}", self.path.display()))?;
        self.any.store(!users.is_empty(), Ordering::Release);
        *self.users.write() = users;
        Ok(())
    }

    pub fn create_user(
        &self,
        name: &str,
        password: Option<&str>,
        if_not_exists: bool,
    ) -> Result<(), String> {
        let key = self.check_name(name)?;
        if self.users.read().contains_key(&key) {
            return if if_not_exists {
                Ok(())
            } else {
                Err(format!("User '{name}' already exists."))
            };
        }
        // Hash outside every lock: it takes tens of milliseconds.
        let hash = self.hash(password)?;
        self.change(|users| {
            if users.contains_key(&key) {
                return if if_not_exists {
                    Ok(())
                } else {
                    Err(format!("User '{name}' already exists."))
                };
            }
            if users.len() >= MAX_USERS {
                return Err(format!("Too many users (at most {MAX_USERS})."));
            }
            users.insert(key.clone(), hash);
            Ok(())
        })
    }

    pub fn set_password(&self, name: &str, password: Option<&str>) -> Result<(), String> {
        let key = self.check_name(name)?;
        if !self.users.read().contains_key(&key) {
            return Err(format!("User '{name}' doesn't exist."));
        }
        let hash = self.hash(password)?;
        self.change(|users| match users.get_mut(&key) {
            Some(h) => {
                *h = hash;
                Ok(())
            }
            None => Err(format!("User '{name}' doesn't exist.")),
        })
    }

    pub fn drop_user(&self, name: &str) -> Result<(), String> {
        let key = self.check_name(name)?;
        self.change(|users| match users.remove(&key) {
            Some(_) => Ok(()),
            None => Err(format!("User '{name}' doesn't exist.")),
        })
    }

    pub fn users(&self) -> Vec<String> {
        self.users.read().keys().cloned().collect()
    }

    /// Checks a user name and password. Takes the lock only to copy the hash: the (slow)
    /// verification runs with no lock held.
    pub fn verify(&self, name: &str, password: &str) -> bool {
        if name.len() > MAX_NAME_BYTES || password.len() > MAX_PASSWORD_BYTES {
            return false;
        }
        let key = name.to_lowercase();
        let hash = match self.users.read().get(&key) {
            None => {
                // Spend the time a wrong password costs, so the answer's timing does not tell
                // whether the user exists.
                let dummy = dummy_hash();
                if let Ok(parsed) = PasswordHash::new(dummy) {
                    let _ = Argon2::default().verify_password(password.as_bytes(), &parsed);
                }
                return false;
            }
            Some(None) => return true,
            Some(Some(h)) => h.clone(),
        };
        match PasswordHash::new(&hash) {
            Ok(parsed) => Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok(),
            Err(e) => {
                tracing::warn!("the stored password hash of user '{key}' is unreadable: {e}");
                false
            }
        }
    }
}

impl query::AuthControl for UserStore {
    fn create_user(
        &self,
        name: &str,
        password: Option<&str>,
        if_not_exists: bool,
    ) -> Result<(), String> {
        UserStore::create_user(self, name, password, if_not_exists)
    }

    fn set_password(&self, name: &str, password: Option<&str>) -> Result<(), String> {
        UserStore::set_password(self, name, password)
    }

    fn drop_user(&self, name: &str) -> Result<(), String> {
        UserStore::drop_user(self, name)
    }

    fn users(&self) -> Vec<String> {
        UserStore::users(self)
    }
}

/// A hash of a random password, made once: what logins of unknown users are checked against.
fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| {
        let password = SaltString::generate(&mut OsRng);
        hash_password(password.as_str()).unwrap_or_default()
    })
}

/// An Argon2id PHC string for `password` with a fresh random salt. The parameters are the
/// crate's defaults (19 MiB, 2 passes, 1 lane: OWASP's recommendation), ~20-40 ms here.
fn hash_password(password: &str) -> Result<String, String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| format!("Couldn't hash the password: {e}"))
}

fn read_users(path: &Path) -> anyhow::Result<BTreeMap<String, Option<String>>> {
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
        Err(e) => anyhow::bail!("cannot read {}: {e}", path.display()),
    };
    if meta.len() > MAX_FILE_BYTES {
        anyhow::bail!(
            "{} is {} bytes, more than a users file may be ({MAX_FILE_BYTES})",
            path.display(),
            meta.len()
        );
    }
    let bytes =
        std::fs::read(path).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
    let file: UsersFile = serde_json::from_slice(&bytes)
        .map_err(|e| anyhow::anyhow!("{} is not a valid users file: {e}", path.display()))?;
    if file.version != FILE_VERSION {
        anyhow::bail!(
            "{} has version {}, this server reads version {FILE_VERSION}",
            path.display(),
            file.version
        );
    }
    if file.users.len() > MAX_USERS {
        anyhow::bail!("{} holds more than {MAX_USERS} users", path.display());
    }
    let mut users = BTreeMap::new();
    for u in file.users {
        if let Some(h) = &u.password_hash {
            PasswordHash::new(h).map_err(|e| {
                anyhow::anyhow!(
                    "{}: the password hash of user '{}' is unreadable: {e}",
                    path.display(),
                    u.name
                )
            })?;
        }
        users.insert(u.name.to_lowercase(), u.password_hash);
    }
    Ok(users)
}

fn write_users(path: &Path, users: &BTreeMap<String, Option<String>>) -> std::io::Result<()> {
    let file = UsersFile {
        version: FILE_VERSION,
        users: users
            .iter()
            .map(|(name, hash)| UserEntry {
                name: name.clone(),
                password_hash: hash.clone(),
            })
            .collect(),
    };
    let bytes = serde_json::to_vec_pretty(&file).map_err(std::io::Error::other)?;
    let tmp = path.with_extension("json.tmp");
    {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&tmp)?;
        set_private(&f);
        f.write_all(&bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent() {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

/// Only the server's user may read the hashes.
fn set_private(f: &std::fs::File) {
    use std::os::unix::fs::PermissionsExt;
    if let Err(e) = f.set_permissions(std::fs::Permissions::from_mode(0o600)) {
        tracing::warn!("cannot restrict the users file's permissions: {e}");
    }
}

/// The user named by `MEMGRAPH_USER` / `FERROGRAPH_USER`, with the password from
/// `MEMGRAPH_PASSWORD` / `FERROGRAPH_PASSWORD`, is created if absent.
pub fn create_user_from_env(store: &UserStore) -> anyhow::Result<()> {
    let var = |a: &str, b: &str| {
        std::env::var(a)
            .ok()
            .or_else(|| std::env::var(b).ok())
            .filter(|v| !v.is_empty())
    };
    let Some(user) = var("MEMGRAPH_USER", "FERROGRAPH_USER") else {
        return Ok(());
    };
    let password = var("MEMGRAPH_PASSWORD", "FERROGRAPH_PASSWORD");
    store
        .create_user(&user, password.as_deref(), true)
        .map_err(|e| anyhow::anyhow!("cannot create the user from MEMGRAPH_USER: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(dir: &Path) -> UserStore {
        UserStore::open(dir, DEFAULT_NAME_REGEX, true).unwrap()
    }

    #[test]
    fn users_are_created_checked_changed_dropped_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let s = store(dir.path());
        assert!(!s.has_users());
        s.create_user("Alice", Some("secret"), false).unwrap();
        assert!(s.has_users());
        assert_eq!(
            s.create_user("alice", Some("x"), false).unwrap_err(),
            "User 'alice' already exists."
        );
        s.create_user("alice", Some("x"), true).unwrap();
        assert!(s.verify("alice", "secret"));
        assert!(s.verify("ALICE", "secret"));
        assert!(!s.verify("alice", "wrong"));
        assert!(!s.verify("bob", "secret"));
        s.set_password("alice", Some("new")).unwrap();
        assert!(!s.verify("alice", "secret"));
        assert!(s.verify("alice", "new"));
        assert_eq!(
            s.set_password("bob", Some("x")).unwrap_err(),
            "User 'bob' doesn't exist."
        );
        s.create_user("bob", None, false).unwrap();
        assert!(
            s.verify("bob", "anything"),
            "a null password lets anyone in"
        );
        assert_eq!(s.users(), vec!["alice".to_string(), "bob".to_string()]);

        let text = std::fs::read_to_string(dir.path().join("auth/users.json")).unwrap();
        assert!(text.contains("$argon2id$"), "{text}");
        assert!(!text.contains("new\""), "no clear-text password on disk");

        let again = store(dir.path());
        assert!(again.verify("alice", "new"));
        assert_eq!(again.users().len(), 2);
        again.drop_user("alice").unwrap();
        again.drop_user("bob").unwrap();
        assert!(!again.has_users());
        assert_eq!(
            again.drop_user("bob").unwrap_err(),
            "User 'bob' doesn't exist."
        );
        assert!(store(dir.path()).users().is_empty());
    }

    #[test]
    fn names_and_null_passwords_are_validated() {
        let dir = tempfile::tempdir().unwrap();
        let s = store(dir.path());
        assert_eq!(
            s.create_user("bad name", None, false).unwrap_err(),
            "Invalid user name."
        );
        assert_eq!(
            s.create_user("", None, false).unwrap_err(),
            "Invalid user name."
        );
        s.create_user("a.b+c-d@e", Some("p"), false).unwrap();
        let strict = UserStore::open(dir.path(), "[a-z]+", false).unwrap();
        assert_eq!(
            strict.create_user("abc1", Some("p"), false).unwrap_err(),
            "Invalid user name."
        );
        assert_eq!(
            strict.create_user("abc", None, false).unwrap_err(),
            "Null passwords aren't permitted!"
        );
        assert!(UserStore::open(dir.path(), "(", true).is_err());
    }

    #[test]
    fn damaged_files_are_refused_not_trusted() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("auth")).unwrap();
        let path = dir.path().join("auth/users.json");
        std::fs::write(&path, b"{not json").unwrap();
        assert!(UserStore::open(dir.path(), DEFAULT_NAME_REGEX, true).is_err());
        std::fs::write(
            &path,
            br#"{"version":1,"users":[{"name":"x","password_hash":"plain"}]}"#,
        )
        .unwrap();
        assert!(UserStore::open(dir.path(), DEFAULT_NAME_REGEX, true).is_err());
    }

    #[test]
    fn logins_check_the_password_and_unknown_users_fail_the_same_way() {
        // The login's cost (about 12 ms) is measured in docs/security.md, not asserted here:
        // timings on a shared machine make flaky tests.
        let dir = tempfile::tempdir().unwrap();
        let s = store(dir.path());
        s.create_user("u", Some("pw"), false).unwrap();
        assert!(s.verify("u", "pw"));
        assert!(!s.verify("u", "wrong"));
        // An unknown user is refused like a wrong password (it is checked against a dummy hash).
        assert!(!s.verify("nobody", "pw"));
    }
}
