//! Formatting for people, as the Python library's cache tools do it: decimal sizes
//! (`_format_size`, with a unit on bytes too), relative times (`_format_timesince`) and plain
//! tables aligned by the width a terminal gives each character (`unicode-width`).

use std::time::{Duration, SystemTime};

use unicode_width::UnicodeWidthStr;

/// `42.2K`: 1000-based units, one decimal, as Python's `f"{n:3.1f}{unit}"`; below 1000, bytes
/// with their unit (`512B`), where Python prints a bare `512.0`.
pub(crate) fn size(bytes: u64) -> String {
    if bytes < 1000 {
        return format!("{bytes}B");
    }
    // Precision loss above 2^53 bytes is irrelevant for a one-decimal display.
    #[allow(clippy::cast_precision_loss)]
    let mut n = bytes as f64 / 1000.0;
    for unit in ["K", "M", "G", "T", "P", "E", "Z"] {
        if n < 1000.0 {
            return format!("{n:3.1}{unit}");
        }
        n /= 1000.0;
    }
    format!("{n:.1}Y")
}

/// `a few seconds ago`, `2 days ago`, … relative to `now`, as Python's `_format_timesince`.
pub(crate) fn time_since(time: Option<SystemTime>, now: SystemTime) -> String {
    let Some(time) = time else { return "unknown".to_owned() };
    let delta = now.duration_since(time).unwrap_or(Duration::ZERO).as_secs_f64();
    if delta < 20.0 {
        return "a few seconds ago".to_owned();
    }
    const CHUNKS: [(&str, f64, Option<f64>); 7] = [
        ("second", 1.0, Some(60.0)),
        ("minute", 60.0, Some(60.0)),
        ("hour", 3600.0, Some(24.0)),
        ("day", 86_400.0, Some(6.0)),
        ("week", 604_800.0, Some(6.0)),
        ("month", 2_592_000.0, Some(11.0)),
        ("year", 31_536_000.0, None),
    ];
    let mut value = 0.0;
    let mut label = "second";
    for (name, divider, max) in CHUNKS {
        value = (delta / divider).round_ties_even();
        label = name;
        if max.is_some_and(|m| value <= m) {
            break;
        }
    }
    format!("{value:.0} {label}{} ago", if value > 1.0 { "s" } else { "" })
}

/// A left-aligned table with a dashed rule under the headers; columns listed in `right`
/// (numbers) are right-aligned. Widths are display widths: `模型` takes four columns.
pub(crate) fn table(headers: &[&str], rows: &[Vec<String>], right: &[usize]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.width()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.width());
        }
    }
    let line = |cells: &mut dyn Iterator<Item = String>| {
        let mut out = String::new();
        for (i, (cell, w)) in cells.zip(&widths).enumerate() {
            let pad = " ".repeat(w.saturating_sub(cell.width()));
            if right.contains(&i) {
                out.push_str(&format!("{pad}{cell} "));
            } else {
                out.push_str(&format!("{cell}{pad} "));
            }
        }
        out.trim_end().to_owned()
    };
    let mut lines = vec![
        line(&mut headers.iter().map(|h| (*h).to_owned())),
        line(&mut widths.iter().map(|w| "-".repeat(*w))),
    ];
    lines.extend(rows.iter().map(|row| line(&mut row.iter().cloned())));
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_as_python() {
        assert_eq!(size(0), "0B");
        assert_eq!(size(999), "999B");
        assert_eq!(size(42_200), "42.2K");
        assert_eq!(size(1_000_000), "1.0M");
        assert_eq!(size(3_500_000_000), "3.5G");
    }

    #[test]
    fn times_as_python() {
        let now = SystemTime::now();
        let ago = |s: u64| time_since(Some(now - Duration::from_secs(s)), now);
        assert_eq!(ago(5), "a few seconds ago");
        assert_eq!(ago(45), "45 seconds ago");
        assert_eq!(ago(90), "2 minutes ago");
        assert_eq!(ago(3600), "60 minutes ago", "as Python: the bound is inclusive");
        assert_eq!(ago(7200), "2 hours ago");
        assert_eq!(ago(2 * 86_400), "2 days ago");
        assert_eq!(ago(400 * 86_400), "1 year ago");
        assert_eq!(time_since(None, now), "unknown");
    }

    #[test]
    fn tables_align() {
        let t = table(&["A", "NB"], &[vec!["long".into(), "3".into()]], &[1]);
        assert_eq!(t, "A    NB\n---- --\nlong  3");
        let t = table(
            &["NAME", "N"],
            &[vec!["模型".into(), "1".into()], vec!["ab".into(), "22".into()]],
            &[1],
        );
        assert_eq!(t, "NAME  N\n---- --\n模型  1\nab   22");
    }
}
