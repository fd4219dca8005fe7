//! The terminal side of [`Reporter`]: progress bars on a TTY, plain lines elsewhere.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::report::{Progress, Reporter};
use crate::settings::Verbosity;

pub struct TermReporter {
    bars: Option<MultiProgress>,
    verbosity: Verbosity,
}

impl TermReporter {
    pub fn new(verbosity: Verbosity) -> Self {
        let tty = std::io::stderr().is_terminal() && verbosity != Verbosity::Quiet;
        TermReporter {
            bars: tty.then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr())),
            verbosity,
        }
    }

    fn line(&self, msg: &str) {
        match &self.bars {
            Some(mp) => {
                let _ = mp.println(msg);
            }
            None => eprintln!("{msg}"),
        }
    }
}

impl Reporter for TermReporter {
    fn info(&self, msg: &str) {
        if self.verbosity >= Verbosity::Normal {
            self.line(msg);
        }
    }

    fn debug(&self, msg: &str) {
        if self.verbosity >= Verbosity::Verbose {
            self.line(msg);
        }
    }

    fn warn(&self, msg: &str) {
        self.line(&format!("warning: {msg}"));
    }

    fn start(&self, what: &str, len: Option<u64>) -> Box<dyn Progress> {
        if self.verbosity == Verbosity::Quiet {
            return Box::new(Plain {
                what: what.to_string(),
                quiet: true,
            });
        }
        match &self.bars {
            Some(mp) => {
                let bar = match len {
                    Some(n) => ProgressBar::new(n).with_style(
                        ProgressStyle::with_template(
                            "{spinner:.green} {prefix} [{bar:30.cyan/blue}] {bytes}/{total_bytes} {bytes_per_sec}",
                        )
                        .expect("valid template")
                        .progress_chars("=> "),
                    ),
                    None => ProgressBar::new_spinner().with_style(
                        ProgressStyle::with_template("{spinner:.green} {prefix} {msg} [{elapsed}]")
                            .expect("valid template"),
                    ),
                };
                let bar = mp.add(bar);
                bar.set_prefix(what.to_string());
                bar.enable_steady_tick(Duration::from_millis(120));
                Box::new(Bar {
                    bar,
                    mp: mp.clone(),
                })
            }
            None => {
                eprintln!("{what} …");
                Box::new(Plain {
                    what: what.to_string(),
                    quiet: false,
                })
            }
        }
    }
}

struct Bar {
    bar: ProgressBar,
    mp: MultiProgress,
}

impl Progress for Bar {
    fn set_length(&self, len: u64) {
        self.bar.set_length(len);
    }
    fn advance(&self, delta: u64) {
        self.bar.inc(delta);
    }
    fn set_message(&self, msg: &str) {
        self.bar.set_message(msg.to_string());
    }
    fn finish(&self, ok: bool, msg: &str) {
        self.bar.finish_and_clear();
        self.mp.remove(&self.bar);
        let mark = if ok { "✓" } else { "✗" };
        let what = self.bar.prefix();
        let line = if msg.is_empty() || msg == "done" {
            format!("{what}: done")
        } else {
            msg.to_string()
        };
        let _ = self.mp.println(format!("{mark} {line}"));
    }
}

impl Drop for Bar {
    fn drop(&mut self) {
        if !self.bar.is_finished() {
            self.bar.finish_and_clear();
            self.mp.remove(&self.bar);
        }
    }
}

struct Plain {
    what: String,
    quiet: bool,
}

impl Progress for Plain {
    fn finish(&self, ok: bool, msg: &str) {
        if !self.quiet {
            let line = if msg.is_empty() || msg == "done" {
                format!("{}: done", self.what)
            } else {
                msg.to_string()
            };
            eprintln!("{} {line}", if ok { "ok:" } else { "failed:" });
        }
    }
}
