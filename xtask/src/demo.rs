//! `cargo xtask demo`: the whole flow on loopback, no Cronofy account needed.
//!
//! A fake Cronofy (Bearer-checked resource URLs, a 302 to a "pre-signed" host that refuses
//! Authorization) serves a generated transcript, audio and video; `cronofy-notify serve`
//! receives a signed `meeting_agent_activated` and then `meeting_agent_complete` callback sent
//! by `cronofy-notify send`, downloads the recordings, and the demo shows what landed on disk.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use cronofy_notify_test_support::fake::{FakeCronofy, ResourceSpec};
use cronofy_notify_test_support::samples;

use crate::{cargo, exec, root, say};

const SECRET: &str = "demo-client-secret";
const SUB: &str = "agt_demo0000000000000000001";
const MIB: u64 = 1 << 20;

/// Kills a child process when dropped, however the demo ends.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub(crate) fn run(args: &[String]) -> Result<(), String> {
    let video_mib: u64 = match args {
        [] => 300,
        [flag, mib] if flag == "--video-mib" => mib
            .parse()
            .ok()
            .filter(|&mib| mib <= 64 * 1024)
            .ok_or("--video-mib takes a whole number of MiB, up to 65536")?,
        _ => return Err("usage: cargo xtask demo [--video-mib N]".into()),
    };
    let mut build = cargo();
    build.args(["build", "--quiet", "--locked", "-p", "cronofy-notify-cli"]);
    exec(build)?;
    let cli = crate::bench::target_dir().join("debug/cronofy-notify");
    let out = root().join("demo-out");
    if out.exists() {
        std::fs::remove_dir_all(&out)
            .map_err(|e| format!("cannot clear {}: {e}", out.display()))?;
    }

    let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    let fake = runtime
        .block_on(FakeCronofy::start(SECRET))
        .map_err(|e| format!("cannot start the fake Cronofy: {e}"))?;
    fake.add(
        "transcript",
        ResourceSpec::fixed(samples::transcript(SUB), "application/json"),
    );
    // A meeting's audio is about a twelfth of its video (300 MiB of video by default, 25 MiB of
    // audio), so that a smaller demo video keeps the two in proportion.
    let audio_mib = (video_mib / 12).max(1);
    fake.add(
        "audio",
        ResourceSpec::generated(audio_mib * MIB, "audio/mpeg"),
    );
    fake.add(
        "video",
        ResourceSpec::generated(video_mib * MIB, "video/mp4"),
    );
    step(&format!(
        "A fake Cronofy is up: the API on {} (checks the Bearer key, answers 302), \
         the pre-signed storage on localhost:{} (refuses any Authorization header).",
        fake.api_addr(),
        fake.storage_addr().port()
    ))?;

    let listen = free_port()?;
    step(&format!(
        "Starting `cronofy-notify serve` on {listen}, filing into {}.",
        out.display()
    ))?;
    let serve = Running(
        Command::new(&cli)
            .args([
                "serve",
                "--listen",
                &listen.to_string(),
                "--secret",
                SECRET,
                "--allow-http",
                "--out",
            ])
            .arg(&out)
            .env("RUST_LOG", "info,cronofy_notify_resources=warn")
            .stdout(Stdio::inherit())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", cli.display()))?,
    );
    wait_for_port(listen)?;

    let url = format!("http://{listen}/cronofy/callbacks");
    for sample in ["activated", "complete"] {
        step(&format!(
            "Cronofy sends a signed meeting_agent_{sample} callback:"
        ))?;
        let status = Command::new(&cli)
            .args([
                "send", "--url", &url, "--secret", SECRET, "--sample", sample, "--sub", SUB,
            ])
            .args(["--resource-base", &format!("http://{}", fake.api_addr())])
            .status()
            .map_err(|e| e.to_string())?;
        if !status.success() {
            return Err(format!("send {sample} failed ({status})"));
        }
    }

    step("The callback was answered at once; the downloads run behind it...")?;
    let manifest = out.join(SUB).join("manifest.json");
    wait_for_downloads(&manifest, 3, Duration::from_secs(600))?;
    step("Stopping the receiver (SIGTERM): it stops accepting and checkpoints.")?;
    stop(serve)?;

    let agent = out.join(SUB);
    step(&format!("What is on disk under {}:", agent.display()))?;
    for (path, size) in files_below(&agent) {
        say(format_args!(
            "  {size:>12}  {}",
            path.strip_prefix(&out).unwrap_or(&path).display()
        ))?;
    }
    let video = agent.join("video-conference.mp4");
    let video_sha = sha256_of(&video)?;
    if video_sha != fake.sha256("video") {
        return Err(format!(
            "the stored video differs from what the fake Cronofy served ({video_sha})"
        ));
    }
    say(format_args!(
        "  video SHA-256 {video_sha}: identical to what the fake Cronofy served"
    ))?;
    step("The manifest:")?;
    say(std::fs::read_to_string(&manifest).map_err(|e| e.to_string())?)?;
    step("The first captions of the transcript (`cronofy-notify transcript --format vtt`):")?;
    let captions = Command::new(&cli)
        .args(["transcript", "--format", "vtt"])
        .arg(agent.join("transcript-cronofy.json"))
        .output()
        .map_err(|e| e.to_string())?;
    for line in String::from_utf8_lossy(&captions.stdout).lines().take(13) {
        say(format_args!("  {line}"))?;
    }
    drop(fake);
    step(&format!(
        "Done. The recordings stay in {} (git ignores it); the fake Cronofy and the receiver are stopped.",
        out.display()
    ))
}

/// Sends SIGTERM and waits, boundedly, for a clean exit.
fn stop(mut serve: Running) -> Result<(), String> {
    let _ = Command::new("kill")
        .args(["-TERM", &serve.0.id().to_string()])
        .status();
    for _ in 0..200 {
        if let Some(status) = serve.0.try_wait().map_err(|e| e.to_string())? {
            return if status.success() {
                Ok(())
            } else {
                Err(format!("the receiver exited with {status}"))
            };
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Err("the receiver did not stop within 10 s of SIGTERM".into())
}

fn step(text: &str) -> Result<(), String> {
    say(format_args!("\n==> {text}"))
}

fn free_port() -> Result<SocketAddr, String> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    listener.local_addr().map_err(|e| e.to_string())
}

fn wait_for_port(addr: SocketAddr) -> Result<(), String> {
    for _ in 0..500 {
        if std::net::TcpStream::connect(addr).is_ok() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Err(format!("the receiver did not listen on {addr}"))
}

/// Waits, boundedly, until the manifest lists `count` complete resources.
fn wait_for_downloads(manifest: &Path, count: usize, limit: Duration) -> Result<(), String> {
    let started = Instant::now();
    while started.elapsed() < limit {
        if let Ok(text) = std::fs::read_to_string(manifest)
            && let Ok(json) = serde_json::from_str::<serde_json::Value>(&text)
        {
            let entries = json["resources"].as_array().cloned().unwrap_or_default();
            let complete = entries.iter().filter(|e| e["status"] == "complete").count();
            if let Some(failed) = entries.iter().find(|e| e["status"] == "failed") {
                return Err(format!("a download failed: {}", failed["error"]));
            }
            if complete >= count {
                return Ok(());
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Err(format!("the downloads did not finish within {limit:?}"))
}

fn files_below(dir: &Path) -> Vec<(PathBuf, u64)> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(at) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&at) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let size = entry.metadata().map_or(0, |m| m.len());
                found.push((path, size));
            }
        }
    }
    found.sort();
    found
}

fn sha256_of(path: &Path) -> Result<String, String> {
    // sha256sum is everywhere the demo runs; no need to link a hasher into xtask.
    let output = Command::new("sha256sum")
        .arg(path)
        .output()
        .map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&output.stdout);
    text.split_whitespace()
        .next()
        .map(str::to_owned)
        .ok_or_else(|| format!("cannot hash {}", path.display()))
}
