//! The child's output: stdout kept (bounded) or handed over line by line, stderr's tail kept for
//! error messages. Each is read to its end, so the child never blocks on a full pipe.

use std::collections::VecDeque;
use std::io;

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, BufReader};

/// Reads everything, but keeps at most `max` bytes; more is an error once the pipe is drained
/// (draining keeps the child from blocking on a full pipe).
pub(super) async fn collect(pipe: impl AsyncRead + Unpin, max: usize) -> io::Result<Vec<u8>> {
    let mut reader = BufReader::new(pipe);
    let mut kept = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    let mut overflow = false;
    loop {
        let n = reader.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        if kept.len() + n > max {
            overflow = true;
        } else {
            kept.extend_from_slice(&buf[..n]);
        }
    }
    if overflow {
        return Err(io::Error::other(format!("output larger than {max} bytes")));
    }
    Ok(kept)
}

/// Hands each complete line to `on_line`; overlong lines are cut (progress lines are short).
pub(super) async fn lines(pipe: impl AsyncRead + Unpin, on_line: &mut (dyn FnMut(&str) + Send)) -> io::Result<()> {
    let mut reader = BufReader::new(pipe);
    let mut line = Vec::new();
    loop {
        line.clear();
        let n = (&mut reader).take(4096).read_until(b'\n', &mut line).await?;
        if n == 0 {
            return Ok(());
        }
        if line.last() == Some(&b'\n') {
            let text = String::from_utf8_lossy(&line);
            on_line(text.trim_end());
        }
    }
}

/// Reads a pipe to its end keeping only the last `max` bytes, returned as text from a line start.
pub(super) async fn tail(pipe: impl AsyncRead + Unpin, max: usize) -> String {
    let mut reader = pipe;
    let mut ring: VecDeque<u8> = VecDeque::with_capacity(max);
    let mut buf = [0u8; 4096];
    loop {
        match reader.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                let chunk = &buf[..n];
                let chunk = if chunk.len() > max { &chunk[chunk.len() - max..] } else { chunk };
                let excess = (ring.len() + chunk.len()).saturating_sub(max);
                ring.drain(..excess);
                ring.extend(chunk);
            }
        }
    }
    let bytes: Vec<u8> = ring.into_iter().collect();
    let full = bytes.len() < max;
    let text = String::from_utf8_lossy(&bytes);
    let text = if full {
        &text[..]
    } else {
        // The ring cut the first line somewhere in the middle: drop that partial line.
        text.split_once('\n').map_or(&text[..], |(_, rest)| rest)
    };
    text.trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn tail_keeps_only_the_end_from_a_line_start() {
        let mut input = Vec::new();
        for i in 0..2000 {
            input.extend_from_slice(format!("line {i}\n").as_bytes());
        }
        let t = tail(&input[..], 64).await;
        assert!(t.ends_with("line 1999"), "{t}");
        assert!(t.starts_with("line "), "{t}");
        assert!(t.len() <= 64);
    }

    #[tokio::test]
    async fn collect_refuses_too_much() {
        let input = vec![b'x'; 100_000];
        assert!(collect(&input[..], 1000).await.is_err());
        assert_eq!(collect(&input[..], 200_000).await.unwrap().len(), 100_000);
    }
}
