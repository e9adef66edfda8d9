//! The build machine's instruction-set extensions, for host targets that rely on
//! some (`x86-64-v3`, `x86-64-v4-vnni`): detected at run time of the compiler, never guessed, so a
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
        // What `-C target-cpu=x86-64-v4 -C target-feature=+avx512vnni` assumes.
        #[cfg(target_arch = "x86_64")]
        Feature::Avx512Vnni => {
            std::is_x86_feature_detected!("avx512f")
                && std::is_x86_feature_detected!("avx512bw")
                && std::is_x86_feature_detected!("avx512cd")
                && std::is_x86_feature_detected!("avx512dq")
                && std::is_x86_feature_detected!("avx512vl")
                && std::is_x86_feature_detected!("avx512vnni")
        }
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
        let vnni = tinyops_targets::lookup("x86-64-v4-vnni").unwrap();
        assert_eq!(check(vnni).is_ok(), has(Feature::Avx2Fma) && has(Feature::Avx512Vnni));
        assert_eq!(runnable_host_targets().last() == Some(&"x86-64-v4-vnni"), check(vnni).is_ok());
        let m4 = tinyops_targets::lookup("cortex-m4").unwrap();
        assert!(missing(m4).is_empty(), "bare-metal code does not run here");
    }
}
