//! Redis stream ids (`"<ms>-<seq>"`): parse, print and order.
//!
//! Every event the agent publishes carries the id of its stream entry. Ids are
//! strictly increasing, so they order events across live and replayed traffic
//! and let a client say where to resume (`since=<id>`).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A Redis stream entry id. Ordered as Redis orders them: by milliseconds, then sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct StreamId {
    /// Milliseconds part (server time when the entry was added).
    pub ms: u64,
    /// Sequence within the same millisecond.
    pub seq: u64,
}

/// A string that is not a stream id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid stream id {0:?}: expected <milliseconds>-<sequence>, e.g. 1703123456789-0")]
pub struct InvalidStreamId(pub String);

impl StreamId {
    /// The smallest id; `since=0-0` replays everything.
    pub const ZERO: StreamId = StreamId { ms: 0, seq: 0 };

    /// Builds an id from its two parts.
    pub const fn new(ms: u64, seq: u64) -> Self {
        StreamId { ms, seq }
    }

    /// The id right after this one, for exclusive range queries (`XRANGE (id`
    /// is not in Redis 6, and computing it here works on every version).
    pub fn next(self) -> StreamId {
        match self.seq.checked_add(1) {
            Some(seq) => StreamId { ms: self.ms, seq },
            None => StreamId {
                ms: self.ms.saturating_add(1),
                seq: 0,
            },
        }
    }
}

impl fmt::Display for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.ms, self.seq)
    }
}

impl FromStr for StreamId {
    type Err = InvalidStreamId;

    /// Accepts `ms-seq` and, as Redis does, a bare `ms` (meaning `ms-0`).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || InvalidStreamId(s.chars().take(64).collect());
        let (ms, seq) = match s.split_once('-') {
            Some((ms, seq)) => (ms, seq),
            None => (s, "0"),
        };
        let digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
        if !digits(ms) || !digits(seq) {
            return Err(bad());
        }
        Ok(StreamId {
            ms: ms.parse().map_err(|_| bad())?,
            seq: seq.parse().map_err(|_| bad())?,
        })
    }
}

impl Serialize for StreamId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for StreamId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn parses_and_prints() {
        let id: StreamId = "1703123456789-3".parse().expect("valid");
        assert_eq!(id, StreamId::new(1_703_123_456_789, 3));
        assert_eq!(id.to_string(), "1703123456789-3");
        assert_eq!("42".parse::<StreamId>(), Ok(StreamId::new(42, 0)));
    }

    #[test]
    fn rejects_garbage_without_panicking() {
        for bad in [
            "",
            "-",
            "1-",
            "-1",
            "a-1",
            "1-b",
            "1-2-3",
            "+",
            "99999999999999999999999-0",
        ] {
            assert!(bad.parse::<StreamId>().is_err(), "{bad:?} should not parse");
        }
    }

    #[test]
    fn orders_like_redis() {
        let a = StreamId::new(1, 9);
        let b = StreamId::new(2, 0);
        assert!(a < b);
        assert!(a < a.next());
        assert_eq!(StreamId::new(5, u64::MAX).next(), StreamId::new(6, 0));
    }

    proptest! {
        #[test]
        fn round_trips(ms in any::<u64>(), seq in any::<u64>()) {
            let id = StreamId::new(ms, seq);
            prop_assert_eq!(id.to_string().parse::<StreamId>(), Ok(id));
        }

        #[test]
        fn never_panics(s in ".*") {
            let _ = s.parse::<StreamId>();
        }
    }
}
