//! A bit reader for the codec configurations (H.264 SPS, AAC AudioSpecificConfig): fixed-width
//! fields and Exp-Golomb codes, every read bounds-checked.

/// The configuration ended before a field did (a codec parser turns this into its defaults).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Truncated;

pub(crate) struct BitReader<'a> {
    bytes: &'a [u8],
    bit: usize,
}

impl<'a> BitReader<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        BitReader { bytes, bit: 0 }
    }

    pub fn bit(&mut self) -> Result<bool, Truncated> {
        let byte = self.bytes.get(self.bit / 8).ok_or(Truncated)?;
        let set = byte & (0x80 >> (self.bit % 8)) != 0;
        self.bit += 1;
        Ok(set)
    }

    /// `n` bits (at most 32), most significant first.
    pub fn bits(&mut self, n: u32) -> Result<u32, Truncated> {
        debug_assert!(n <= 32);
        let mut v: u64 = 0;
        for _ in 0..n {
            v = (v << 1) | u64::from(self.bit()?);
        }
        Ok(v as u32)
    }

    /// An unsigned Exp-Golomb code, `ue(v)`. More than 31 leading zeros cannot be a valid value in
    /// any field we read, and would overflow: refused as truncated.
    pub fn ue(&mut self) -> Result<u32, Truncated> {
        let mut zeros = 0;
        while !self.bit()? {
            zeros += 1;
            if zeros > 31 {
                return Err(Truncated);
            }
        }
        let rest = self.bits(zeros)?;
        Ok(((1u64 << zeros) - 1 + u64::from(rest)).min(u64::from(u32::MAX)) as u32)
    }

    /// A signed Exp-Golomb code, `se(v)`.
    pub fn se(&mut self) -> Result<i32, Truncated> {
        let k = i64::from(self.ue()?);
        let v = if k % 2 == 1 { (k + 1) / 2 } else { -(k / 2) };
        Ok(v as i32)
    }
}

/// An H.264/H.265 NAL unit without its emulation-prevention bytes (`00 00 03` → `00 00`).
pub(crate) fn unescape_nal(nal: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(nal.len());
    let mut zeros = 0;
    for &b in nal {
        if zeros >= 2 && b == 3 {
            zeros = 0;
            continue;
        }
        zeros = if b == 0 { zeros + 1 } else { 0 };
        out.push(b);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_fixed_fields_and_exp_golomb() {
        // 1 | 010 | 011 | 00100 | 00101 | 0...: ue = 0, 1, 2, 3, 4
        let mut r = BitReader::new(&[0b1010_0110, 0b0100_0010, 0b1000_0000]);
        let got: Vec<u32> = (0..5).map(|_| r.ue().expect("ue")).collect();
        assert_eq!(got, vec![0, 1, 2, 3, 4]);
        let mut r = BitReader::new(&[0b0100_1100, 0b1000_0000]);
        assert_eq!((r.se(), r.se(), r.se()), (Ok(1), Ok(-1), Ok(2)));
        let mut r = BitReader::new(&[0xAB, 0xCD]);
        assert_eq!(r.bits(12), Ok(0xABC));
        assert_eq!(r.bits(5), Err(Truncated));
    }

    #[test]
    fn hostile_codes_end_in_errors() {
        assert_eq!(BitReader::new(&[0; 8]).ue(), Err(Truncated));
        assert_eq!(BitReader::new(&[0, 0, 0, 0, 1]).ue(), Err(Truncated), "32 leading zeros");
        assert_eq!(BitReader::new(&[]).bit(), Err(Truncated));
    }

    #[test]
    fn removes_emulation_prevention_bytes() {
        assert_eq!(unescape_nal(&[0x67, 0, 0, 3, 1, 0, 0, 3, 0, 0, 3]), vec![0x67, 0, 0, 1, 0, 0, 0, 0]);
        assert_eq!(unescape_nal(&[0, 3, 0, 0, 0, 3]), vec![0, 3, 0, 0, 0]);
    }
}
