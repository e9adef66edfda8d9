//! Where the channel axis of an image-like tensor sits: a fact of every spatial op.

use std::fmt;

/// The memory order of a spatial op's activations (and the matching weight order).
///
/// ONNX is channels-first (`N,C,H,W`; weights `O,I,kH,kW`). Microcontroller kernels
/// prefer channels-last (`N,H,W,C`; weights `O,kH,kW,I`): a pixel's channels are
/// contiguous, which is what depthwise and pointwise convolutions and packed 16-bit
/// MACs read. ONNX order stays at the model's edges; the `channels-last` pass
/// chooses the inside.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum Layout {
    /// `N,C,spatial…` activations, `O,I,spatial…` weights (ONNX).
    #[default]
    ChannelsFirst,
    /// `N,spatial…,C` activations, `O,spatial…,I` weights.
    ChannelsLast,
}

impl Layout {
    /// The permutation taking a channels-first tensor of `rank` axes to this layout
    /// (`y.shape[i] = x.shape[perm[i]]`).
    pub fn from_channels_first(self, rank: usize) -> Vec<usize> {
        match self {
            Layout::ChannelsFirst => (0..rank).collect(),
            Layout::ChannelsLast => {
                let mut p = vec![0];
                p.extend(2..rank);
                p.push(1);
                p
            }
        }
    }

    /// The inverse of [`Layout::from_channels_first`].
    pub fn to_channels_first(self, rank: usize) -> Vec<usize> {
        let p = self.from_channels_first(rank);
        let mut inv = vec![0; rank];
        for (i, &q) in p.iter().enumerate() {
            inv[q] = i;
        }
        inv
    }

    /// The axis holding channels in a tensor of `rank` axes.
    pub fn channel_axis(self, rank: usize) -> usize {
        match self {
            Layout::ChannelsFirst => 1,
            Layout::ChannelsLast => rank - 1,
        }
    }

    /// Channels-first shape of a tensor stored in this layout.
    pub fn to_nchw(self, shape: &[usize]) -> Vec<usize> {
        self.to_channels_first(shape.len()).iter().map(|&a| shape[a]).collect()
    }

    /// The shape of a channels-first tensor when stored in this layout.
    pub fn from_nchw(self, shape: &[usize]) -> Vec<usize> {
        self.from_channels_first(shape.len()).iter().map(|&a| shape[a]).collect()
    }
}

impl fmt::Display for Layout {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Layout::ChannelsFirst => "nchw",
            Layout::ChannelsLast => "nhwc",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permutations_round_trip() {
        let l = Layout::ChannelsLast;
        assert_eq!(l.from_channels_first(4), vec![0, 2, 3, 1]);
        assert_eq!(l.to_channels_first(4), vec![0, 3, 1, 2]);
        assert_eq!(l.from_nchw(&[1, 8, 5, 6]), vec![1, 5, 6, 8]);
        assert_eq!(l.to_nchw(&[1, 5, 6, 8]), vec![1, 8, 5, 6]);
        assert_eq!(l.from_channels_first(3), vec![0, 2, 1]);
        assert_eq!(l.channel_axis(4), 3);
        assert_eq!(Layout::ChannelsFirst.from_nchw(&[1, 8, 5, 6]), vec![1, 8, 5, 6]);
    }
}
