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

/// A secret kept in a file, without the white space (a final line break, usually) around it.
pub(crate) fn read_secret_file(path: &Path) -> Result<String, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|error| format!("cannot read the secret file {}: {error}", path.display()))?;
    Ok(text.trim().to_owned())
}
