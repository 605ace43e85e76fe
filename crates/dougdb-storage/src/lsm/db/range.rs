//! [`ScanRange`]: the key ranges `Db::scan` accepts, owned (`Vec<u8>` ranges) or
//! borrowed (`(Bound<&[u8]>, Bound<&[u8]>)`), all viewed as a pair of borrowed bounds.

use std::ops::{Bound, Range, RangeFrom, RangeFull, RangeInclusive, RangeTo, RangeToInclusive};

/// A range of user keys.
pub trait ScanRange {
    /// The lower and upper bounds.
    fn bounds(&self) -> (Bound<&[u8]>, Bound<&[u8]>);
}

fn borrow<K: AsRef<[u8]>>(b: Bound<&K>) -> Bound<&[u8]> {
    match b {
        Bound::Included(k) => Bound::Included(k.as_ref()),
        Bound::Excluded(k) => Bound::Excluded(k.as_ref()),
        Bound::Unbounded => Bound::Unbounded,
    }
}

impl ScanRange for RangeFull {
    fn bounds(&self) -> (Bound<&[u8]>, Bound<&[u8]>) {
        (Bound::Unbounded, Bound::Unbounded)
    }
}

impl ScanRange for (Bound<&[u8]>, Bound<&[u8]>) {
    fn bounds(&self) -> (Bound<&[u8]>, Bound<&[u8]>) {
        (self.0, self.1)
    }
}

impl ScanRange for (Bound<Vec<u8>>, Bound<Vec<u8>>) {
    fn bounds(&self) -> (Bound<&[u8]>, Bound<&[u8]>) {
        (borrow(self.0.as_ref()), borrow(self.1.as_ref()))
    }
}

macro_rules! owned_and_borrowed {
    ($($range:ident),*) => {$(
        impl ScanRange for $range<Vec<u8>> {
            fn bounds(&self) -> (Bound<&[u8]>, Bound<&[u8]>) {
                use std::ops::RangeBounds;
                (borrow(self.start_bound()), borrow(self.end_bound()))
            }
        }
        impl ScanRange for $range<&[u8]> {
            fn bounds(&self) -> (Bound<&[u8]>, Bound<&[u8]>) {
                use std::ops::RangeBounds;
                (borrow(self.start_bound()), borrow(self.end_bound()))
            }
        }
    )*};
}

owned_and_borrowed!(Range, RangeFrom, RangeTo, RangeInclusive, RangeToInclusive);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_form_gives_its_bounds() {
        let a = b"a".to_vec();
        let z = b"z".to_vec();
        assert_eq!((..).bounds(), (Bound::Unbounded, Bound::Unbounded));
        assert_eq!(
            (a.clone()..z.clone()).bounds(),
            (Bound::Included(&b"a"[..]), Bound::Excluded(&b"z"[..]))
        );
        assert_eq!(
            (&a[..]..=&z[..]).bounds(),
            (Bound::Included(&b"a"[..]), Bound::Included(&b"z"[..]))
        );
        let borrowed: (Bound<&[u8]>, Bound<&[u8]>) = (Bound::Excluded(&a), Bound::Unbounded);
        assert_eq!(
            borrowed.bounds(),
            (Bound::Excluded(&b"a"[..]), Bound::Unbounded)
        );
        assert_eq!((..a.clone()).bounds().1, Bound::Excluded(&b"a"[..]));
    }
}
