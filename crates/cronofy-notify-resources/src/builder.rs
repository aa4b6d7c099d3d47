//! Configuring a [`Downloader`]: [`DownloaderBuilder`] and what can go wrong building one.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use cronofy_notify_core::{ClientSecret, ResourceCategory};
use reqwest::header::HeaderValue;
use tokio::sync::Semaphore;

use crate::downloader::Inner;
use crate::progress::ProgressFn;
use crate::urls::{PlainHttp, api_host};
use crate::{Downloader, FileStorage, ProgressEvent, RetryPolicy, Storage};

/// Why a [`Downloader`] could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// The API key is empty or only white space (an unset variable, usually).
    #[error("the API key is empty: it is the application's client secret (CRONOFY_CLIENT_SECRET)")]
    EmptyApiKey,
    /// The API key has white space around it, a character an HTTP header cannot carry (a line
    /// break, usually, from a file or variable read whole), or one beyond ASCII, which no
    /// bearer token holds (a byte-order mark from the start of a file saved on Windows, or a
    /// zero-width space from a copy). The key itself is not shown.
    #[error(
        "the API key cannot be sent as it is: it begins or ends with white space, or has a line break, another control character or a character beyond ASCII such as a byte-order mark (from the file or variable it is read from?)"
    )]
    InvalidApiKey,
    /// The API key is wrapped in quotes, which no key is: almost always quotes kept from an env
    /// file (`docker run --env-file` keeps them). Sent as it is, each request would be refused
    /// 401, as for a wrong key. The key itself is not shown.
    #[error(
        "the API key is wrapped in quotes (kept from an env file? docker run --env-file keeps them): remove them"
    )]
    QuotedApiKey,
    /// A concurrency limit was 0.
    #[error("concurrency limits must be at least 1")]
    ZeroConcurrency,
    /// A timeout was zero, which every attempt would fail: `"connect"` or `"idle"`.
    /// `Duration::MAX` is how to say "no limit".
    #[error(
        "the {0} timeout is zero, which every attempt would fail: give a positive duration (Duration::MAX for no limit)"
    )]
    ZeroTimeout(&'static str),
    /// The default HTTP client could not be built (no TLS backend, usually).
    #[error("cannot build the HTTP client: {0}")]
    Client(#[source] reqwest::Error),
    /// The folder given to [`DownloaderBuilder::root`], made absolute, has a path that is not
    /// UTF-8: the manifest records where each file is as JSON text, which cannot name it.
    #[error(
        "cannot download into {}: its path is not UTF-8, and the manifest must name each file in it as text; choose a folder whose path is UTF-8",
        root.display()
    )]
    RootNotUtf8 {
        /// The folder, absolute.
        root: PathBuf,
    },
    /// An entry of [`DownloaderBuilder::api_hosts`] is not a host: a URL, a port, a path or a
    /// wildcard, which no resource's host would ever match.
    #[error(
        "{host:?} cannot be an API host: give a host name alone, such as cronofy.com (its subdomains are included), or an IP address; not a URL, a port, a path or a wildcard"
    )]
    InvalidApiHost {
        /// The entry, as given.
        host: String,
    },
}

/// Configures a [`Downloader`]. Every knob has a default from spec §6.
#[derive(Debug)]
#[must_use]
pub struct DownloaderBuilder {
    api_key: ClientSecret,
    client: Option<reqwest::Client>,
    storage: Option<Arc<dyn Storage>>,
    root: Option<PathBuf>,
    retry: RetryPolicy,
    connect_timeout: Duration,
    idle_timeout: Duration,
    max_size: Option<u64>,
    categories: Vec<ResourceCategory>,
    allow_http: bool,
    allow_http_on_loopback: bool,
    api_hosts: Option<Vec<String>>,
    max_redirects: usize,
    concurrency: usize,
    per_host: usize,
    progress: Option<ProgressFn>,
    progress_interval: Duration,
}

impl DownloaderBuilder {
    /// The defaults of spec §6 (see each setter).
    pub(crate) fn new(api_key: ClientSecret) -> Self {
        Self {
            api_key,
            client: None,
            storage: None,
            root: None,
            retry: RetryPolicy::default(),
            connect_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(30),
            max_size: None,
            categories: ResourceCategory::DOWNLOADABLE.to_vec(),
            allow_http: false,
            allow_http_on_loopback: false,
            api_hosts: None,
            max_redirects: 5,
            concurrency: 4,
            per_host: 4,
            progress: None,
            progress_interval: Duration::from_millis(200),
        }
    }

    /// Uses this HTTP client instead of the default one (which has a 10 s connect timeout,
    /// follows no redirects itself and never decompresses). Build it likewise:
    /// - with `redirect(reqwest::redirect::Policy::none())`, so that redirects reach the
    ///   downloader, which follows them without the API key. A client that follows them itself
    ///   keeps the key on a redirect to the same host; the downloader warns when it sees one;
    /// - with `no_gzip()`, `no_brotli()`, `no_deflate()` and `no_zstd()`: a body decoded on
    ///   the way would not match the byte ranges a resume asks for.
    pub fn client(mut self, client: reqwest::Client) -> Self {
        self.client = Some(client);
        self
    }

    /// Stores files under `root` ([`FileStorage`], the default, with root `./resources`).
    /// [`build`](Self::build) refuses a folder whose path is not UTF-8
    /// ([`BuildError::RootNotUtf8`]).
    pub fn root(mut self, root: impl Into<PathBuf>) -> Self {
        self.root = Some(root.into());
        self.storage = None;
        self
    }

    /// Stores resources in `storage` instead of files.
    pub fn storage(mut self, storage: impl Storage) -> Self {
        self.storage = Some(Arc::new(storage));
        self
    }

    /// How failed attempts are retried.
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// The connect timeout of the default client (default 10 s; [`build`](Self::build)
    /// refuses zero).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How long a response may send nothing, headers or body, before the attempt fails and
    /// resumes (default 30 s; `Duration::MAX` for none, and [`build`](Self::build) refuses
    /// zero). There is no deadline on a whole body: a large video on a slow link is legitimate.
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.idle_timeout = timeout;
        self
    }

    /// The largest resource accepted, checked against `Content-Length` before any byte is
    /// written and again while streaming (default: no limit).
    pub fn max_size(mut self, bytes: u64) -> Self {
        self.max_size = Some(bytes);
        self
    }

    /// Which categories to fetch (default transcript, audio, video). The dashboard (`cronofy`)
    /// is a web page and is never fetched.
    pub fn categories(mut self, categories: impl IntoIterator<Item = ResourceCategory>) -> Self {
        self.categories = categories.into_iter().collect();
        self
    }

    /// Allows plain-http resource URLs (default: https only, since the API key travels with the
    /// request). For local tests; [`allow_http_on_loopback`](Self::allow_http_on_loopback) is
    /// the safer switch for a test server on the same machine.
    pub fn allow_http(mut self, allow: bool) -> Self {
        self.allow_http = allow;
        self
    }

    /// Allows plain-http URLs on this machine only (default: no): those whose host is a
    /// loopback address (`127.0.0.1`, `::1`...) or `localhost`, as a fake Cronofy in a test or a
    /// demo serves them. Any other plain-http URL is still refused with
    /// [`DownloadError::InsecureUrl`](crate::DownloadError::InsecureUrl), redirect targets
    /// included, so the key never crosses the network in clear even if this setting reaches
    /// production (where Cronofy's URLs are https). [`allow_http`](Self::allow_http) allows
    /// them all.
    ///
    /// ```
    /// use cronofy_notify_resources::Downloader;
    ///
    /// // Downloads from `http://127.0.0.1:8080/...`, but never from `http://example.com/...`.
    /// let downloader = Downloader::builder("CRN_key").allow_http_on_loopback(true).build()?;
    /// # Ok::<(), cronofy_notify_resources::BuildError>(())
    /// ```
    pub fn allow_http_on_loopback(mut self, allow: bool) -> Self {
        self.allow_http_on_loopback = allow;
        self
    }

    /// Sends the API key only to these hosts and their subdomains: `cronofy.com` covers every
    /// Cronofy data centre (`api.cronofy.com`, `api-de.cronofy.com`...). An IP address (`::1` or
    /// `[::1]`, `127.0.0.1`) covers only itself. A resource whose URL
    /// is elsewhere fails at once with
    /// [`DownloadError::UntrustedHost`](crate::DownloadError::UntrustedHost), before any request.
    ///
    /// Each entry is a host alone, in any case, in Unicode or not; blank ones are skipped. One
    /// that no host could match (`https://api.example.com`, `api.example.com:443`,
    /// `*.example.com`) fails [`build`](Self::build) with [`BuildError::InvalidApiHost`].
    ///
    /// Unset, the key goes to whatever host a callback names: a verified callback's URLs are
    /// Cronofy's. Set it when a body may come from elsewhere (a file someone sent you), since
    /// whoever wrote the body chooses where the key goes.
    ///
    /// ```
    /// use cronofy_notify_resources::Downloader;
    ///
    /// let downloader = Downloader::builder("CRN_key").api_hosts(["cronofy.com"]).build()?;
    /// # Ok::<(), cronofy_notify_resources::BuildError>(())
    /// ```
    pub fn api_hosts<I, S>(mut self, hosts: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.api_hosts = Some(
            hosts
                .into_iter()
                .map(Into::into)
                .filter(|host: &String| !host.trim().is_empty())
                .collect(),
        );
        self
    }

    /// How many redirects to follow per attempt (default 5).
    pub fn max_redirects(mut self, redirects: usize) -> Self {
        self.max_redirects = redirects;
        self
    }

    /// How many resources download at once, in all (default 4; `usize::MAX` for no limit).
    pub fn concurrency(mut self, resources: usize) -> Self {
        self.concurrency = resources.min(Semaphore::MAX_PERMITS);
        self
    }

    /// How many resources download at once from one host (default 4; `usize::MAX` for no
    /// limit).
    pub fn per_host_concurrency(mut self, resources: usize) -> Self {
        self.per_host = resources.min(Semaphore::MAX_PERMITS);
        self
    }

    /// Calls `callback` with every [`ProgressEvent`]. It runs on the download's task: keep it
    /// quick (send to a channel for anything slow).
    pub fn on_progress(mut self, callback: impl Fn(ProgressEvent) + Send + Sync + 'static) -> Self {
        self.progress = Some(ProgressFn(Arc::new(callback)));
        self
    }

    /// The least time between two `Progress` events of one resource (default 200 ms).
    pub fn progress_interval(mut self, interval: Duration) -> Self {
        self.progress_interval = interval;
        self
    }

    /// Builds the downloader.
    ///
    /// # Errors
    /// [`BuildError`] for an empty or unsendable API key, a zero concurrency, or an HTTP client
    /// that cannot be built.
    pub fn build(self) -> Result<Downloader, BuildError> {
        if self.api_key.is_blank() {
            return Err(BuildError::EmptyApiKey);
        }
        let key = self.api_key.expose_secret();
        // Bearer tokens are ASCII (RFC 6750); a header would carry other bytes, and Cronofy
        // would answer each request 401 as for a wrong key.
        if key.trim() != key || !key.is_ascii() {
            return Err(BuildError::InvalidApiKey);
        }
        if self.api_key.is_quoted() {
            return Err(BuildError::QuotedApiKey);
        }
        let mut authorization = HeaderValue::try_from(format!("Bearer {key}"))
            .map_err(|_| BuildError::InvalidApiKey)?;
        authorization.set_sensitive(true);
        if self.concurrency == 0 || self.per_host == 0 {
            return Err(BuildError::ZeroConcurrency);
        }
        if self.connect_timeout.is_zero() {
            return Err(BuildError::ZeroTimeout("connect"));
        }
        if self.idle_timeout.is_zero() {
            return Err(BuildError::ZeroTimeout("idle"));
        }
        let api_hosts = self
            .api_hosts
            .map(|hosts| {
                hosts
                    .into_iter()
                    .map(|host| api_host(&host).ok_or(BuildError::InvalidApiHost { host }))
                    .collect::<Result<Vec<_>, _>>()
            })
            .transpose()?;
        let client = match self.client {
            Some(client) => client,
            None => reqwest::Client::builder()
                .connect_timeout(self.connect_timeout)
                .redirect(reqwest::redirect::Policy::none())
                // Bytes are stored as served, whatever reqwest features another crate turns on:
                // a resume's byte ranges count the bytes on the wire.
                .no_gzip()
                .no_brotli()
                .no_deflate()
                .no_zstd()
                .build()
                .map_err(BuildError::Client)?,
        };
        let storage = match self.storage {
            Some(storage) => storage,
            None => {
                let files =
                    FileStorage::new(self.root.unwrap_or_else(|| PathBuf::from("resources")));
                if files.root().to_str().is_none() {
                    return Err(BuildError::RootNotUtf8 {
                        root: files.root().to_owned(),
                    });
                }
                Arc::new(files)
            }
        };
        Ok(Downloader {
            inner: Arc::new(Inner {
                authorization,
                client,
                storage,
                retry: self.retry,
                idle_timeout: self.idle_timeout,
                max_size: self.max_size,
                categories: self.categories,
                plain_http: PlainHttp::new(self.allow_http, self.allow_http_on_loopback),
                api_hosts,
                max_redirects: self.max_redirects,
                progress: self.progress,
                progress_interval: self.progress_interval,
                global: Arc::new(Semaphore::new(self.concurrency)),
                per_host: self.per_host,
                hosts: Mutex::default(),
                meetings: Mutex::default(),
            }),
        })
    }
}
