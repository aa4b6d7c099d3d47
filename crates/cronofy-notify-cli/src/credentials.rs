//! Client secrets and the API key: from the command line, the environment, or files.
//!
//! Files are how service managers and orchestrators hand out secrets (systemd's
//! `LoadCredential=`, Docker and Kubernetes secrets), and they keep a secret out of `ps` and out
//! of the environment that child processes inherit.

use std::fmt;
use std::path::{Path, PathBuf};

/// The client secrets: `--secret` and `--secret-file`, each repeatable during a rotation.
#[derive(clap::Args)]
pub(crate) struct Secrets {
    /// A client secret (repeat during a rotation: one header value per secret).
    #[arg(
        long = "secret",
        env = "CRONOFY_CLIENT_SECRET",
        hide_env_values = true,
        required_unless_present = "secret_files"
    )]
    secrets: Vec<String>,
    /// A file that holds a client secret, as systemd credentials and Docker or Kubernetes secrets
    /// are given (white space around it is ignored). Repeatable; adds to --secret.
    #[arg(
        long = "secret-file",
        value_name = "PATH",
        env = "CRONOFY_CLIENT_SECRET_FILE",
        hide_env_values = true
    )]
    secret_files: Vec<PathBuf>,
}

impl Secrets {
    /// Every secret given, those on the command line or in the environment first.
    pub(crate) fn resolve(&self) -> Result<Vec<String>, String> {
        let mut secrets = self.secrets.clone();
        for path in &self.secret_files {
            secrets.push(read_secret_file(path)?);
        }
        Ok(secrets)
    }
}

impl fmt::Debug for Secrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Secrets")
            .field(
                "secrets",
                &format_args!("[{} redacted]", self.secrets.len()),
            )
            .field("secret_files", &self.secret_files)
            .finish()
    }
}

/// The API key for downloads: `--api-key`, or `--api-key-file`.
#[derive(clap::Args)]
pub(crate) struct ApiKey {
    /// The API key for downloads (default: the client secret, which Cronofy's API takes as the
    /// key: the first --secret for serve, CRONOFY_CLIENT_SECRET or CRONOFY_CLIENT_SECRET_FILE).
    #[arg(long, env = "CRONOFY_API_KEY", hide_env_values = true)]
    api_key: Option<String>,
    /// A file that holds the API key (used when --api-key is not given).
    #[arg(
        long,
        value_name = "PATH",
        env = "CRONOFY_API_KEY_FILE",
        hide_env_values = true
    )]
    api_key_file: Option<PathBuf>,
}

impl ApiKey {
    /// The key, if one was given.
    pub(crate) fn resolve(&self) -> Result<Option<String>, String> {
        match (&self.api_key, &self.api_key_file) {
            (Some(key), _) => Ok(Some(key.clone())),
            (None, Some(path)) => read_secret_file(path).map(Some),
            (None, None) => Ok(None),
        }
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiKey")
            .field("api_key", &self.api_key.as_ref().map(|_| "[redacted]"))
            .field("api_key_file", &self.api_key_file)
            .finish()
    }
}

/// The most a secret file is read of: a client secret is some tens of characters, so a file
/// larger than this is the wrong file (`--secret-file /dev/zero` read until memory ran out).
const LARGEST_SECRET_FILE: u64 = 64 * 1024;

/// A secret kept in a file, without the white space (a final line break, usually) around it.
/// One secret per file: a line break inside is refused, since no secret holds one and the
/// two lines of a rotation read as one secret would match no callback.
pub(crate) fn read_secret_file(path: &Path) -> Result<String, String> {
    let unreadable = |reason: &dyn fmt::Display| {
        format!("cannot read the secret file {}: {reason}", path.display())
    };
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|file| {
            std::io::Read::read_to_end(
                &mut std::io::Read::take(file, LARGEST_SECRET_FILE + 1),
                &mut bytes,
            )
        })
        .map_err(|error| unreadable(&error))?;
    if bytes.len() as u64 > LARGEST_SECRET_FILE {
        return Err(unreadable(&format_args!(
            "it holds more than a secret can ({} KiB at most): is it the right file?",
            LARGEST_SECRET_FILE >> 10
        )));
    }
    let text = String::from_utf8(bytes).map_err(|_| unreadable(&"it is not UTF-8 text"))?;
    let secret = text.trim();
    if secret.contains(['\n', '\r']) {
        return Err(unreadable(
            &"it holds more than one line: one secret per file (give --secret-file once for \
              each secret during a rotation)",
        ));
    }
    Ok(secret.to_owned())
}
