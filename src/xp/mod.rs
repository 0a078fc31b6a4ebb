//! XP: levels, boosters and the XP read API (profile, public profile, weekly
//! activity, learning pulse).

pub mod rules;
pub mod store;

/// Converts a stored 64-bit count to the 32-bit field the wire uses, so that
/// JSON prints it as a number; saturates instead of wrapping.
pub fn clamp_i32(value: i64) -> i32 {
    i32::try_from(value).unwrap_or(if value < 0 { i32::MIN } else { i32::MAX })
}
