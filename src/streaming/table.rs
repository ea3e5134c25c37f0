//! kubectl-like tables: upper-case headers, columns padded to their widest cell and separated by
//! three spaces, `<empty>` for empty cells, human ages.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;

/// A cell: `value`, or `<empty>` when it is empty.
pub fn cell(value: &str) -> String {
    if value.is_empty() {
        "<empty>".to_owned()
    } else {
        value.to_owned()
    }
}

/// The table of `rows` under `headers`, one line per row.
pub fn render(headers: &[&str], rows: &[Vec<String>]) -> String {
    let header: Vec<String> = headers.iter().map(|h| h.to_uppercase()).collect();
    let lines: Vec<&Vec<String>> = std::iter::once(&header).chain(rows).collect();
    let widths: Vec<usize> = (0..header.len())
        .map(|column| {
            lines
                .iter()
                .map(|line| line.get(column).map_or(0, |cell| cell.chars().count()))
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut table = String::new();
    for line in lines {
        let mut text = String::new();
        for (cell, width) in line.iter().zip(&widths) {
            text.push_str(&format!("{cell:<width$}   "));
        }
        table.push_str(text.trim_end());
        table.push('\n');
    }
    table
}

/// How long ago `created` was, as kubectl says it (`45s`, `3m20s`, `5h`, `2d`), `<unknown>`
/// when unset.
pub fn age(created: Option<&Time>, now: Timestamp) -> String {
    let Some(Time(created)) = created else {
        return "<unknown>".to_owned();
    };
    let seconds = now.duration_since(*created).as_secs();
    if seconds < 0 {
        return "0s".to_owned();
    }
    human_duration(seconds.unsigned_abs())
}

/// Kubernetes' `duration.HumanDuration`.
fn human_duration(seconds: u64) -> String {
    let (minutes, hours, days) = (seconds / 60, seconds / 3600, seconds / 86400);
    let pair = |big: u64, big_unit: &str, small: u64, small_unit: &str| {
        if small == 0 {
            format!("{big}{big_unit}")
        } else {
            format!("{big}{big_unit}{small}{small_unit}")
        }
    };
    match hours {
        _ if seconds < 120 => format!("{seconds}s"),
        _ if minutes < 10 => pair(minutes, "m", seconds % 60, "s"),
        _ if minutes < 180 => format!("{minutes}m"),
        0..8 => pair(hours, "h", minutes % 60, "m"),
        8..48 => format!("{hours}h"),
        48..192 => pair(days, "d", hours % 24, "h"),
        _ if days < 365 * 2 => format!("{days}d"),
        _ if days < 365 * 8 => pair(days / 365, "y", days % 365, "d"),
        _ => format!("{}y", days / 365),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_are_padded_like_kubectl() {
        let rows = vec![
            vec!["square".into(), cell(""), "Ready".into()],
            vec!["time-averager".into(), "f".into(), "<unknown>".into()],
        ];
        assert_eq!(
            render(&["Name", "Function", "Status"], &rows),
            "NAME            FUNCTION   STATUS\n\
             square          <empty>    Ready\n\
             time-averager   f          <unknown>\n"
        );
    }

    #[test]
    fn ages_read_like_kubectl() {
        let now: Timestamp = "2020-02-10T12:00:00Z".parse().unwrap();
        let ago = |seconds: i64| {
            let created = now.checked_sub(k8s_openapi::jiff::SignedDuration::from_secs(seconds));
            age(Some(&Time(created.unwrap())), now)
        };
        assert_eq!(ago(5), "5s");
        assert_eq!(ago(119), "119s");
        assert_eq!(ago(200), "3m20s");
        assert_eq!(ago(600), "10m");
        assert_eq!(ago(3 * 3600 + 60), "3h1m");
        assert_eq!(ago(10 * 3600), "10h");
        assert_eq!(ago(3 * 86400 + 3600), "3d1h");
        assert_eq!(ago(30 * 86400), "30d");
        assert_eq!(ago(3 * 365 * 86400), "3y");
        assert_eq!(ago(-10), "0s");
        assert_eq!(age(None, now), "<unknown>");
    }
}
