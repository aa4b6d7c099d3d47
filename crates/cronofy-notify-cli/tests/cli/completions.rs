//! `completions`: scripts that complete the command's words in a real shell.

use std::process::Command;

use super::{cli, code, run};

/// The words bash offers for `line` (the word being completed last, possibly empty), with the
/// script `cronofy-notify completions bash` prints loaded as a user would load it.
fn bash_completes(line: &[&str]) -> Vec<String> {
    let script = run(cli().args(["completions", "bash"]));
    assert_eq!(
        code(&script),
        0,
        "{}",
        String::from_utf8_lossy(&script.stderr)
    );
    let dir = tempfile::tempdir().unwrap();
    let path = super::write_temp(dir.path(), "cronofy-notify.bash", &script.stdout);
    // What bash does on Tab: COMP_WORDS and COMP_CWORD set, then the function `complete -p`
    // names, called with the command, the word under the cursor and the word before it.
    let program = r#"
        source "$1"; shift
        COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 ))
        function=$(complete -p cronofy-notify | sed -E 's/.*-F ([^ ]+) .*/\1/')
        "$function" cronofy-notify "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
        printf '%s\n' "${COMPREPLY[@]}"
    "#;
    let output = run(Command::new("bash")
        .args(["--norc", "--noprofile", "-c", program, "bash"])
        .arg(&path)
        .arg("cronofy-notify")
        .args(line));
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn bash_completes_commands_their_options_and_their_values() {
    let commands = bash_completes(&["s"]);
    for expected in ["serve", "send", "sign", "sample"] {
        assert!(commands.contains(&expected.to_owned()), "{commands:?}");
    }
    assert!(bash_completes(&["comp"]).contains(&"completions".to_owned()));

    // A command's own options: what clap_complete's script misses for a name with a hyphen.
    let options = bash_completes(&["serve", "--re"]);
    assert_eq!(
        options,
        ["--retry-every", "--read-timeout", "--report-refusals-every"],
        "serve's options"
    );
    assert_eq!(
        bash_completes(&["receive", "--li"]),
        ["--listen"],
        "the alias"
    );
    assert_eq!(
        bash_completes(&["download", "--api-"]),
        ["--api-key", "--api-key-file", "--api-host"]
    );
    assert_eq!(
        bash_completes(&["transcript", "--format", ""]),
        ["text", "vtt", "srt"]
    );
}

#[test]
fn every_shell_gets_a_script_that_knows_each_command_and_option() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let output = run(cli().args(["completions", shell]));
        assert_eq!(code(&output), 0, "{shell}");
        let script = String::from_utf8(output.stdout).unwrap();
        for word in [
            "serve",
            "download",
            "read-timeout",
            "api-host",
            "completions",
        ] {
            assert!(script.contains(word), "{shell} script lacks {word}");
        }
    }
    let output = run(cli().args(["completions", "tcsh"]));
    assert_eq!(code(&output), 2);
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("possible values: bash"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
