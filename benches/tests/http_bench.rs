//! The HTTP benchmark itself, run briefly: every server it starts answers the signed seed body
//! with 204 (the load generator stops with an error on any other answer), and it prints one
//! table row per comparison with a ratio in it. The figures are not checked: they are
//! measurements, and this machine is shared.

use std::process::Command;

#[test]
fn a_short_run_compares_every_server_and_prints_its_table() {
    let output = Command::new(env!("CARGO_BIN_EXE_http-bench"))
        .args(["--pairs", "1", "--seconds", "0.1", "--connections", "4"])
        .output()
        .expect("the http-bench binary runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "http-bench failed: {}\n{stdout}",
        String::from_utf8_lossy(&output.stderr)
    );
    let rows: Vec<&str> = stdout
        .lines()
        .filter(|line| line.starts_with("| ") && !line.starts_with("| framework"))
        .collect();
    let labels: Vec<&str> = rows
        .iter()
        .map(|row| row.split('|').nth(1).unwrap_or_default().trim())
        .collect();
    let mut expected = vec!["axum", "actix-web"];
    if cfg!(unix) {
        expected.push("axum, one current-thread runtime per core");
    }
    expected.extend([
        "axum, signature only (no JSON parse)",
        "axum, parse only (no signature)",
        "axum, `Bytes` then `verify_request` by hand",
    ]);
    assert_eq!(labels, expected, "{stdout}");
    for row in rows {
        let ratio = row
            .split('|')
            .nth(4)
            .map(|cell| cell.trim().trim_matches('*'))
            .and_then(|cell| cell.parse::<f64>().ok());
        assert!(
            ratio.is_some_and(|r| r > 0.0),
            "no ratio in this row: {row}"
        );
    }
}
