//! Calendar arithmetic for the RTC: civil date to Unix time.
#![forbid(unsafe_code)]

/// Days from 1970-01-01 to the given proleptic Gregorian date (Howard Hinnant's algorithm).
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let m = month as i64;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + day as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Seconds since the Unix epoch for a UTC date and time.
pub fn unix_time(year: i64, month: u32, day: u32, hour: u32, min: u32, sec: u32) -> i64 {
    days_from_civil(year, month, day) * 86_400 + hour as i64 * 3600 + min as i64 * 60 + sec as i64
}

/// Converts a BCD byte (as the RTC reports in its default mode) to binary.
pub fn bcd_to_bin(v: u8) -> u8 {
    (v & 0x0f) + (v >> 4) * 10
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_and_known_dates() {
        assert_eq!(unix_time(1970, 1, 1, 0, 0, 0), 0);
        assert_eq!(unix_time(2000, 3, 1, 0, 0, 0), 951_868_800);
        assert_eq!(unix_time(2026, 11, 26, 3, 4, 5), 1_795_662_245);
        assert_eq!(unix_time(2024, 2, 29, 23, 59, 59), 1_709_251_199);
    }

    #[test]
    fn bcd() {
        assert_eq!(bcd_to_bin(0x59), 59);
        assert_eq!(bcd_to_bin(0x00), 0);
        assert_eq!(bcd_to_bin(0x12), 12);
    }
}
