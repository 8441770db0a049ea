//! Temporal property values: the six openCypher temporal types as plain numbers.
//!
//! Storage only keeps and compares these; calendar math, parsing and formatting live in the
//! query crate. Every type is a fixed-size record of integers with a documented range, so the
//! bincode encoding is derived and [`Temporal::is_valid`] is what the decoder checks.
//!
//! Named time zones are not represented yet: a [`DateTime`] carries a fixed UTC offset.

use serde::{Deserialize, Serialize};

/// Nanoseconds in a day: the exclusive upper bound of a time of day.
pub const NANOS_PER_DAY: i64 = 86_400 * 1_000_000_000;

/// The widest UTC offset allowed, in seconds (±18:00, as in ISO-8601 and Java).
pub const MAX_OFFSET_SECONDS: i32 = 18 * 3600;

/// A calendar date: days since 1970-01-01 (proleptic Gregorian).
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    bincode::Encode,
)]
pub struct Date {
    pub days: i64,
}

/// A time of day without zone: nanoseconds since midnight, `0..NANOS_PER_DAY`.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    bincode::Encode,
)]
pub struct LocalTime {
    pub nanos: i64,
}

/// A time of day at a UTC offset: local nanoseconds since midnight and seconds east of UTC.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    bincode::Encode,
)]
pub struct Time {
    pub nanos: i64,
    pub offset_seconds: i32,
}

/// A date and time without zone: the wall clock read as if it were UTC.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    bincode::Encode,
)]
pub struct LocalDateTime {
    pub seconds: i64,
    /// `0..1_000_000_000`.
    pub nanos: u32,
}

/// An instant with the UTC offset it was written in.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    bincode::Encode,
)]
pub struct DateTime {
    /// Seconds since 1970-01-01T00:00:00Z.
    pub seconds: i64,
    /// `0..1_000_000_000`.
    pub nanos: u32,
    /// Seconds east of UTC.
    pub offset_seconds: i32,
}

/// A duration in the four independent units of openCypher. `nanos` is kept in
/// `0..1_000_000_000` (seconds carry the sign), as in Java's `Duration`; the others are free.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    bincode::Encode,
)]
pub struct Duration {
    pub months: i64,
    pub days: i64,
    pub seconds: i64,
    pub nanos: i64,
}

/// One temporal value. Variant order is the bincode variant index: append only.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    bincode::Encode,
)]
pub enum Temporal {
    Date(Date),
    LocalTime(LocalTime),
    Time(Time),
    LocalDateTime(LocalDateTime),
    DateTime(DateTime),
    Duration(Duration),
}

impl Temporal {
    /// Whether every field is within its documented range. Decoders reject values that are not.
    pub fn is_valid(&self) -> bool {
        let offset_ok = |o: i32| (-MAX_OFFSET_SECONDS..=MAX_OFFSET_SECONDS).contains(&o);
        match *self {
            Temporal::Date(_) => true,
            Temporal::LocalTime(t) => (0..NANOS_PER_DAY).contains(&t.nanos),
            Temporal::Time(t) => {
                (0..NANOS_PER_DAY).contains(&t.nanos) && offset_ok(t.offset_seconds)
            }
            Temporal::LocalDateTime(t) => t.nanos < 1_000_000_000,
            Temporal::DateTime(t) => t.nanos < 1_000_000_000 && offset_ok(t.offset_seconds),
            Temporal::Duration(d) => (0..1_000_000_000).contains(&d.nanos),
        }
    }
}

impl<Context> bincode::Decode<Context> for Temporal {
    fn decode<D: bincode::de::Decoder<Context = Context>>(
        decoder: &mut D,
    ) -> Result<Self, bincode::error::DecodeError> {
        let variant = u32::decode(decoder)?;
        let value = match variant {
            0 => Temporal::Date(Date {
                days: i64::decode(decoder)?,
            }),
            1 => Temporal::LocalTime(LocalTime {
                nanos: i64::decode(decoder)?,
            }),
            2 => Temporal::Time(Time {
                nanos: i64::decode(decoder)?,
                offset_seconds: i32::decode(decoder)?,
            }),
            3 => Temporal::LocalDateTime(LocalDateTime {
                seconds: i64::decode(decoder)?,
                nanos: u32::decode(decoder)?,
            }),
            4 => Temporal::DateTime(DateTime {
                seconds: i64::decode(decoder)?,
                nanos: u32::decode(decoder)?,
                offset_seconds: i32::decode(decoder)?,
            }),
            5 => Temporal::Duration(Duration {
                months: i64::decode(decoder)?,
                days: i64::decode(decoder)?,
                seconds: i64::decode(decoder)?,
                nanos: i64::decode(decoder)?,
            }),
            found => {
                return Err(bincode::error::DecodeError::UnexpectedVariant {
                    type_name: "Temporal",
                    allowed: &bincode::error::AllowedEnumVariants::Range { min: 0, max: 5 },
                    found,
                })
            }
        };
        if !value.is_valid() {
            return Err(bincode::error::DecodeError::Other(
                "temporal value out of range",
            ));
        }
        Ok(value)
    }
}
bincode::impl_borrow_decode!(Temporal);
