//! The build machine's instruction-set extensions, for host targets that rely on
//! some (`x86-64-v3`): detected at run time of the compiler, never guessed, so a
//! harness is built and run only on a machine that executes it.

use crate::error::{Error, Result};
use tinyops_targets::{Feature, Target};

/// The features among `target.features` this machine lacks (empty for bare-metal
/// targets: their code runs in an emulator or on a board, not here).
pub fn missing(target: &Target) -> Vec<Feature> {
    if !target.is_host() {
        return vec![];
    }
    target.features.iter().copied().filter(|&f| !has(f)).collect()
}

/// True when this machine executes code using `feature`.
pub fn has(feature: Feature) -> bool {
    match feature {
        Feature::Fpu => true,
        #[cfg(target_arch = "x86_64")]
        Feature::Avx2Fma => std::is_x86_feature_detected!("avx2") && std::is_x86_feature_detected!("fma"),
        _ => false,
    }
}

/// The host targets of the catalogue this machine runs, most capable last (what
/// `inspect` prints).
pub fn runnable_host_targets() -> Vec<&'static str> {
    tinyops_targets::TARGETS.iter().filter(|t| t.is_host() && missing(t).is_empty()).map(|t| t.name).collect()
}

/// An error naming what is missing when this machine cannot run code for `target`.
pub fn check(target: &Target) -> Result<()> {
    let lacks = missing(target);
    if lacks.is_empty() {
        return Ok(());
    }
    Err(Error::Driver {
        step: format!("checking the build machine for target `{}`", target.name),
        detail: format!(
            "this machine's CPU lacks {lacks:?}, which code for `{}` uses; compile for `host` (portable kernels) instead",
            target.name
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn portable_host_always_runs_and_the_check_agrees_with_detection() {
        let host = tinyops_targets::host();
        assert!(missing(host).is_empty());
        assert!(check(host).is_ok());
        let v3 = tinyops_targets::lookup("x86-64-v3").unwrap();
        assert_eq!(check(v3).is_ok(), has(Feature::Avx2Fma));
        assert_eq!(runnable_host_targets().contains(&"x86-64-v3"), has(Feature::Avx2Fma));
        let m4 = tinyops_targets::lookup("cortex-m4").unwrap();
        assert!(missing(m4).is_empty(), "bare-metal code does not run here");
    }
}
