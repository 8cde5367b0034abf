//! The order endpoints are visited in: a seeded pseudo-random permutation of `0..n` in O(1) memory, so
//! that a sweep spreads its load over subnets instead of walking one /24 after another (zmap's idea,
//! with masscan's "index encryption" flavour).
//!
//! A 4-round Feistel network on the smallest even number of bits that covers `n` is a bijection on that
//! power of two; cycle-walking (re-encrypting values `>= n`) restricts it to a bijection on `0..n`.
//! Shards take every N-th position of the same permutation, so with one seed they are disjoint and
//! together cover everything.

/// A permutation of `0..n`.
#[derive(Debug, Clone)]
pub struct Permutation {
    n: u128,
    half_bits: u32,
    keys: [u64; 4],
}

fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

impl Permutation {
    /// The permutation of `0..n` for `seed`.
    pub fn new(n: u128, seed: u64) -> Self {
        let bits = 128 - n.saturating_sub(1).leading_zeros();
        let half_bits = bits.div_ceil(2).max(1);
        let mut k = seed;
        let keys = [0; 4].map(|_| {
            k = splitmix64(k);
            k
        });
        Self { n, half_bits, keys }
    }

    fn mask(&self) -> u128 {
        if self.half_bits >= 64 { u128::from(u64::MAX) } else { (1u128 << self.half_bits) - 1 }
    }

    fn encrypt(&self, x: u128) -> u128 {
        let mask = self.mask();
        let (mut left, mut right) = ((x >> self.half_bits) & mask, x & mask);
        for key in self.keys {
            let f = u128::from(splitmix64(u64::try_from(right & u128::from(u64::MAX)).unwrap_or(0) ^ key)) & mask;
            (left, right) = (right, left ^ f);
        }
        (left << self.half_bits) | right
    }

    /// The position-`i` element of the permutation (`i < n`).
    pub fn apply(&self, i: u128) -> u128 {
        let mut x = self.encrypt(i);
        // Values outside 0..n are walked on; the expected number of steps is below 4.
        while x >= self.n {
            x = self.encrypt(x);
        }
        x
    }
}

/// `--shard I/N`: this process scans positions `I, I+N, I+2N, ...` of the permutation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// 0-based index.
    pub index: u64,
    /// Number of shards.
    pub count: u64,
}

impl Shard {
    /// Parses `I/N` with `0 <= I < N`.
    ///
    /// # Errors
    /// A reason when the text is not a valid shard.
    pub fn parse(s: &str) -> Result<Self, String> {
        let (i, n) = s.split_once('/').ok_or_else(|| format!("shard '{s}' is not I/N"))?;
        let index: u64 = i.trim().parse().map_err(|_| format!("bad shard index '{i}'"))?;
        let count: u64 = n.trim().parse().map_err(|_| format!("bad shard count '{n}'"))?;
        if count == 0 || index >= count {
            return Err(format!("shard '{s}': need 0 <= I < N"));
        }
        Ok(Self { index, count })
    }

    /// How many of `total` positions fall in this shard.
    pub fn len(&self, total: u128) -> u128 {
        let (i, n) = (u128::from(self.index), u128::from(self.count));
        if total <= i { 0 } else { (total - i).div_ceil(n) }
    }

    /// The `k`-th position of this shard.
    pub fn position(&self, k: u128) -> u128 {
        u128::from(self.index) + k * u128::from(self.count)
    }
}

impl Default for Shard {
    fn default() -> Self {
        Self { index: 0, count: 1 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn is_a_bijection_for_many_sizes() {
        for n in [1u128, 2, 3, 7, 8, 100, 255, 256, 1000, 4097] {
            for seed in [0, 1, 42] {
                let p = Permutation::new(n, seed);
                let mut seen: Vec<u128> = (0..n).map(|i| p.apply(i)).collect();
                seen.sort_unstable();
                assert_eq!(seen, (0..n).collect::<Vec<_>>(), "n={n} seed={seed}");
            }
        }
    }

    #[test]
    fn seeds_change_the_order_and_spread_neighbours() {
        let a: Vec<u128> = (0..16).map(|i| Permutation::new(65536, 1).apply(i)).collect();
        let b: Vec<u128> = (0..16).map(|i| Permutation::new(65536, 2).apply(i)).collect();
        assert_ne!(a, b);
        assert_eq!(a, (0..16).map(|i| Permutation::new(65536, 1).apply(i)).collect::<Vec<_>>(), "reproducible");
        // The first 16 positions do not stay within one /24-sized block.
        let blocks: std::collections::BTreeSet<u128> = a.iter().map(|x| x / 256).collect();
        assert!(blocks.len() > 8, "{a:?}");
    }

    #[test]
    fn huge_spaces_work_in_constant_memory() {
        let n = u128::MAX / 3;
        let p = Permutation::new(n, 7);
        assert!((0..100).map(|i| p.apply(i)).all(|x| x < n));
    }

    #[test]
    fn shards_are_disjoint_and_cover_everything() {
        let total = 1001u128;
        let p = Permutation::new(total, 9);
        let mut all = Vec::new();
        for i in 0..4 {
            let s = Shard { index: i, count: 4 };
            all.extend((0..s.len(total)).map(|k| p.apply(s.position(k))));
        }
        all.sort_unstable();
        assert_eq!(all, (0..total).collect::<Vec<_>>());
        assert_eq!(Shard::parse("2/5"), Ok(Shard { index: 2, count: 5 }));
        for bad in ["5/5", "1/0", "x/2", "3", "-1/2"] {
            assert!(Shard::parse(bad).is_err(), "{bad}");
        }
    }

    proptest::proptest! {
        #[test]
        fn bijection_property(n in 1u128..3000, seed in proptest::num::u64::ANY) {
            let p = Permutation::new(n, seed);
            let mut seen = vec![false; usize::try_from(n).unwrap()];
            for i in 0..n {
                let x = usize::try_from(p.apply(i)).unwrap();
                proptest::prop_assert!(!seen[x]);
                seen[x] = true;
            }
        }
    }
}
